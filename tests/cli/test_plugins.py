"""Plugins: modules named by BEEXBENCH_PLUGINS / --include, and entry points of installed
packages, add models, datasets, policies, targets and runtimes without a change to
beexbench."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import README, error_line, one_line

from beexbench.cli.main import main
from beexbench.core import plugins

FAST = ["--preset", "tiny", "--warmup", "1", "--min-queries", "3", "--min-seconds", "0",
        "--batch-size", "16", "--threads", "1", "--no-energy"]


@pytest.fixture
def registries(monkeypatch):
    """Every registry as it is now, restored after the test (plugins register globally)."""
    from beexbench.config import PRESETS
    from beexbench.data.registry import DATASETS, dataset_names
    from beexbench.models.exits import POLICIES
    from beexbench.models.registry import MODELS, model_names
    from beexbench.runtimes.registry import RUNTIMES
    from beexbench.targets.registry import TARGETS

    model_names(), dataset_names()  # the built-ins first, as a command would see them
    for registry in (MODELS, DATASETS, POLICIES, TARGETS, PRESETS, RUNTIMES):
        registry.names()
        monkeypatch.setattr(registry, "_items", dict(registry._items))
    monkeypatch.setattr(plugins, "_loaded", [])
    before = set(sys.modules)
    yield {"models": MODELS, "datasets": DATASETS, "policies": POLICIES, "targets": TARGETS,
           "runtimes": RUNTIMES}
    for name in set(sys.modules) - before:
        if "plugin" in name:
            del sys.modules[name]


def listed(capsys) -> dict[str, str]:
    """`beexbench list KIND` output as name -> description."""
    return dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())


def readme_plugin(tmp_path: Path) -> Path:
    """The README's examples, as the one plugin module a user would write from them."""
    text = README.read_text()
    section = text.split("## Add your own model / dataset / policy / target", 1)[1]
    section = section.split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 5
    imports = [line for block in blocks for line in block.splitlines()
               if line.startswith(("import ", "from "))]
    bodies = ["\n".join(line for line in block.splitlines()
                        if not line.startswith(("import ", "from "))) for block in blocks]
    path = tmp_path / "readme_plugin.py"
    path.write_text("\n".join(dict.fromkeys(imports)) + "\n\n" + "\n\n".join(bodies))
    return path


def test_readme_examples_as_a_plugin_list_and_bench(tmp_path, monkeypatch, capsys,
                                                    registries, checkpoint_cache):
    path = readme_plugin(tmp_path)
    # The README's model, with the README's policy as its default.
    path.write_text(path.read_text().replace('policies=("deebert-entropy", "final")',
                                             'policies=("max-prob", "deebert-entropy")'))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(plugins.ENV, "readme_plugin")
    for kind, name in (("models", "fp-transformer-wide"), ("datasets", "yes-no"),
                       ("policies", "max-prob"), ("targets", "cpu-1thread"),
                       ("runtimes", "eager-fp32")):
        assert main(["list", kind]) == 0
        assert listed(capsys)[name].strip(), kind
    assert registries["policies"].get("max-prob")().name == "max-prob"

    # The README's runtime: full-precision models only, its rows under its own name.
    mixed = tmp_path / "mixed"
    assert main(["bench", "-q", "--target", "cpu", "--models", "fp-transformer,beexformer",
                 "--dataset", "yes-no", "--runtimes", "eager-fp32", "--out", str(mixed),
                 *FAST]) == 0
    rows = list(csv.DictReader((mixed / "results.csv").open()))
    assert {(r["model"], r["runtime"]) for r in rows} == {("fp-transformer", "eager-fp32")}
    assert "latency_ms" in {r["metric"] for r in rows}

    out = tmp_path / "run"
    assert main(["bench", "-q", "--target", "cpu-1thread", "--models", "fp-transformer-wide",
                 "--dataset", "yes-no", "--runtimes", "fake-quant,packed", "--out", str(out),
                 *FAST]) == 0
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert {r["target"] for r in rows} == {"cpu-1thread"}
    assert {r["threads"] for r in rows} == {"1"}
    by_policy = {(r["policy"], r["runtime"]) for r in rows if r["metric"] == "acc_policy"}
    from beexbench.runtimes.packed.kernels import get_backend

    packed = get_backend().name
    python_loop = f"{packed}+python-exits" if packed == "packed-native" else packed
    static = {(p, r) for p, r in by_policy if p.startswith("fixed-depth-")}
    assert by_policy - static == {("max-prob", "fake-quant"), ("deebert-entropy", "fake-quant"),
                                  ("max-prob", python_loop), ("deebert-entropy", packed)}
    # the fixed-depth baselines beside them, on both runtimes
    assert {r for _, r in static} == {"fake-quant", packed}

    # A resume with another config names what differs.
    assert main(["bench", "--target", "cpu-1thread", "--models", "fp-transformer-wide",
                 "--dataset", "yes-no", "--runtimes", "fake-quant,packed", "--out", str(out),
                 "--resume", *FAST[:5], "5", *FAST[6:]]) == 2
    err = capsys.readouterr().err.strip()
    assert one_line(err)
    assert "loop.min_queries (run: 3, now: 5)" in err and "min_seconds" not in err


def test_include_names_a_plugin_file_after_the_command(tmp_path, capsys, registries):
    path = tmp_path / "extra_models.py"
    path.write_text("from beexbench.models.registry import ModelSpec, register_model\n"
                    "register_model(ModelSpec('beexformer-wide', {'ffn_mult': 8},\n"
                    "    policies=('beex-entropy-drop',), description='a wider one'))\n")
    assert main(["list", "models", "--include", str(path)]) == 0
    assert listed(capsys)["beexformer-wide"] == "a wider one"


def test_a_plugin_that_cannot_be_imported_is_one_line(capsys, registries):
    assert main(["--include", "no_such_plugin_module", "list", "models"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("beexbench: error: plugin no_such_plugin_module (BEEXBENCH_PLUGINS/"
                   "--include no_such_plugin_module): module 'no_such_plugin_module' not found")


def test_entry_points_of_an_installed_distribution(tmp_path, monkeypatch, capsys, registries):
    """A distribution on sys.path (its dist-info, as pip installs it) with entry points in
    two groups: one names a module (that registers a model), one an object (a dataset)."""
    (tmp_path / "ep_plugin.py").write_text(
        "from beexbench.data.synthetic import make_synthetic\n"
        "from beexbench.models.registry import ModelSpec, register_model\n"
        "register_model(ModelSpec('ep-model', {'exits': 'all'}, description='from an entry "
        "point'))\n"
        "def load_ep_data(data_dir=None):\n"
        "    '''Generated by an entry-point plugin.'''\n"
        "    return make_synthetic(200, 2)\n")
    info = tmp_path / "beexbench_ep_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: beexbench-ep-plugin\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text("[beexbench.models]\nep = ep_plugin\n\n"
                                           "[beexbench.datasets]\nep-data = "
                                           "ep_plugin:load_ep_data\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for registry in registries.values():
        monkeypatch.setattr(registry, "_plugins_loaded", False)
    assert main(["list", "models"]) == 0
    assert listed(capsys)["ep-model"] == "from an entry point"
    assert main(["list", "datasets"]) == 0
    assert listed(capsys)["ep-data"] == "Generated by an entry-point plugin."


def test_public_register_names_a_policy(registries):
    from beexbench.models.exits import POLICIES, ExitPolicy, make_policy

    @POLICIES.register("never-mind")
    class Never(ExitPolicy):
        def decide(self, entropy, preds):
            raise AssertionError

    assert make_policy("never-mind").name == "never-mind"
    assert make_policy("never-mind").describe() == "never-mind"


def test_eval_refuses_a_policy_it_cannot_calibrate(tiny_checkpoint, tmp_path, capsys,
                                                   registries):
    from beexbench.models.exits import POLICIES, ExitPolicy

    @POLICIES.register("gridless")
    class Gridless(ExitPolicy):
        param_name = "x"

        def decide(self, entropy, preds):
            raise AssertionError

    assert main(["eval", "--checkpoint", str(tiny_checkpoint.path), "--policy", "gridless",
                 "--out", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err.strip()
    assert one_line(err) and "no calibrated x" in err and "--param" in err
    assert not (tmp_path / "e").exists()


def _plugin(tmp_path: Path, text: str) -> str:
    path = tmp_path / "hostile_plugin.py"
    path.write_text(text)
    return str(path)


def test_a_plugin_that_takes_a_built_in_name_is_one_line_naming_it(tmp_path, capsys,
                                                                     registries):
    plugin = _plugin(tmp_path, "from beexbench.data.registry import DATASETS\n"
                               "DATASETS.register('rt-polarity')(lambda data_dir=None: None)\n")
    assert main(["list", "datasets", "--include", plugin]) == 2
    err = error_line(capsys)
    assert "dataset 'rt-polarity' is registered twice" in err and "hostile_plugin" in err


def test_a_plugin_loader_that_raises_is_one_line_naming_the_plugin(tmp_path, capsys,
                                                                    registries):
    plugin = _plugin(tmp_path, "from beexbench.data.registry import DATASETS\n"
                               "@DATASETS.register('broken')\n"
                               "def broken(data_dir=None):\n"
                               "    raise RuntimeError('no such table')\n")
    assert main(["bench", "--include", plugin, "--dataset", "broken", "--models",
                 "fp-transformer", "--out", str(tmp_path / "run"), *FAST]) == 2
    err = error_line(capsys)
    assert "dataset 'broken' (plugin" in err and "RuntimeError: no such table" in err


def test_a_plugin_model_that_fails_when_measured_is_one_line_and_resumable(tmp_path, capsys,
                                                                            registries,
                                                                            checkpoint_cache):
    plugin = _plugin(tmp_path, "from beexbench.models.registry import ModelSpec, register_model\n"
                               "from beexbench.models.transformer import EncoderClassifier\n"
                               "class Boom(EncoderClassifier):\n"
                               "    def forward(self, ids, **kw):\n"
                               "        if not self.training:\n"
                               "            raise RuntimeError('boom')\n"
                               "        return super().forward(ids, **kw)\n"
                               "class BoomSpec(ModelSpec):\n"
                               "    def build(self, base):\n"
                               "        return Boom(self.config(base))\n"
                               "register_model(BoomSpec('boom', {}))\n")
    run = tmp_path / "run"
    assert main(["-q", "bench", "--include", plugin, "--models", "boom", "--dataset", "synthetic-2",
                 "--out", str(run), *FAST]) == 2
    err = error_line(capsys)
    assert "model 'boom' (plugin" in err and "RuntimeError: boom" in err and "--resume" in err
    assert (run / "config.json").exists()  # the run directory is kept for --resume


def test_built_ins_a_plugin_touches_while_it_loads_stay_beexbench_s(tmp_path):
    """A plugin that looks up a built-in model at import time (to derive its own) makes the
    built-ins register then: they must not count as the plugin's, in a fresh process."""
    plugin = _plugin(tmp_path, "from beexbench.models.registry import ModelSpec, "
                               "get_model_spec, register_model\n"
                               "base = get_model_spec('beexformer')\n"
                               "register_model(ModelSpec('beexformer-copy', base.overrides, "
                               "base.policies))\n")
    code = ("import sys; from beexbench.cli.main import main; "
            "from beexbench.models.registry import MODELS; "
            "main(['-q', 'list', 'models', '--include', sys.argv[1]]); "
            "print(MODELS.origin('beexformer'), MODELS.origin('beexformer-copy') is not None)")
    done = subprocess.run([sys.executable, "-c", code, plugin], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "None True"
