"""beexbench core: config, registries, runner, metrics, results store, report, CLI."""
