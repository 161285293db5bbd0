from beexbench.cli.main import main

raise SystemExit(main())
