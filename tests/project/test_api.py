"""The Python API: the README's block runs as written; runs of another format are refused
with one line naming it; `import beexbench` loads no torch and is not shadowed by a
`models/` folder of the working directory."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import README, one_line

from beexbench.cli.main import main
from beexbench.core.errors import UsageError
from beexbench.results.layout import CONFIG, RUN_FORMAT_KEY
from beexbench.results.rundir import load_run


def _api_block() -> str:
    section = README.read_text().split("## Python API", 1)[1]
    return section.split("```python", 1)[1].split("```", 1)[0]


def test_the_readme_python_api_block_runs(checkpoint_cache, capsys):
    namespace: dict[str, object] = {}
    exec(compile(_api_block(), "README.md (Python API)", "exec"), namespace)  # noqa: S102
    summary = namespace["summary"]
    assert set(summary["model"]) == {"fp-transformer", "beexformer"}
    assert namespace["files"].markdown.is_file()
    assert "acc_policy" in capsys.readouterr().out


def test_a_run_of_another_format_is_refused_with_one_line(synthetic_run, tmp_path, capsys):
    run = synthetic_run.write_run(tmp_path)
    assert load_run(run).config.get(RUN_FORMAT_KEY, 1) == 1  # written before the key: 1
    config = json.loads((run / CONFIG).read_text())
    (run / CONFIG).write_text(json.dumps({**config, RUN_FORMAT_KEY: 99}))
    with pytest.raises(UsageError, match="run format 99; this beexbench reads run formats"):
        load_run(run)
    assert main(["report", str(run), "--out", str(tmp_path / "report")]) == 2
    err = capsys.readouterr().err.strip()
    assert one_line(err) and "run format 99" in err
    assert not (tmp_path / "report").exists()


def test_import_is_light_and_not_shadowed(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("raise ImportError('the wrong models')\n")
    code = ("import sys, beexbench; light = 'torch' not in sys.modules; "
            "import beexbench.models.registry as r; "
            "print(light, callable(beexbench.bench), r.__name__)")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.split() == ["True", "True", "beexbench.models.registry"]
