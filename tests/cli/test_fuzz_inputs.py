"""Property tests over every reader of user-editable input and the numeric CLI options:
whatever the bytes, the outcome is success or one UsageError line (exit 2), never a
traceback, a hang, or a file written outside the output."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FIXTURES, one_line
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from beexbench.cli.main import main
from beexbench.core.errors import UsageError
from beexbench.core.typed_json import Fields, load_json, parse_json
from beexbench.data.glue import TASKS, read_glue_tsv
from beexbench.data.splits import splits_from_fields
from beexbench.regress.baseline import build_baseline, validate
from beexbench.results.rundir import load_run
from beexbench.train.checkpoint import load_checkpoint

# Small budgets: the whole module runs in seconds, in CI with the rest of the suite
# (BEEXBENCH_FUZZ_EXAMPLES raises it for a deeper local search). No example database: a
# test run writes nothing into the checkout.
EXAMPLES = int(os.environ.get("BEEXBENCH_FUZZ_EXAMPLES", "40"))
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="hypothesis-"))  # its caches, not the checkout
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

json_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=5),
                           max_leaves=20)
# Number-like text, as a user types it at a prompt or into a file.
number_text = (st.sampled_from(["nan", "NaN", "inf", "-inf", "1e999", "-0", "0", "1", "-1",
                                "2.5", "1e-300", str(2**63), str(2**64), "", " ", "0x10",
                                "1_000"])
               | st.integers(min_value=-(2**70), max_value=2**70).map(str)
               | st.floats().map(repr))


def _usage_or_ok(call) -> object:
    """The call's value, or None after checking its UsageError is one line."""
    try:
        return call()
    except UsageError as exc:
        assert one_line(str(exc)), exc
        return None


def _cli(argv: list[str]) -> tuple[int, str]:
    """(exit status, stderr) of beexbench in-process, argparse exits included."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, err.getvalue()


@contextlib.contextmanager
def _scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as name:
        yield Path(name)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


# -- typed_json ---------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_fuzz_typed_json_parse(data: bytes) -> None:
    with _scratch() as root:
        path = root / "f.json"
        path.write_bytes(data)
        _usage_or_ok(lambda: load_json(path, what="config.json"))
        _usage_or_ok(lambda: parse_json(data, where="x"))


@FUZZ
@given(json_values, st.text(max_size=6), st.sampled_from(
    ["int", "float", "str", "bool", "list", "obj", "objs", "raw"]))
def test_fuzz_typed_json_fields(value: object, key: str, kind: str) -> None:
    def access() -> object:
        fields = Fields(value, where="f.json")
        getattr(fields, kind)(key) if kind != "int" else fields.int(key, min=0, max=10)
        for name in fields.keys():
            getattr(fields, kind)(name)
        return True
    _usage_or_ok(access)


# -- checkpoint.json and splits.json --------------------------------------------------------

META_PATHS = [("model",), ("dataset",), ("seed",), ("split_hash",), ("policies",),
              ("history",), ("model_config",), ("model_config", "d_model"),
              ("model_config", "vocab_size"), ("model_config", "heads"),
              ("model_config", "dropout"), ("model_config", "exits"),
              ("policies", "beex-entropy-drop"), ("policies", "beex-entropy-drop", "param")]


@FUZZ
@given(st.sampled_from(META_PATHS), json_values | st.just("__delete__"))
def test_fuzz_checkpoint_json(tiny_checkpoint, path: tuple, value: object) -> None:
    with _scratch() as root:
        ckpt = root / "ckpt"
        shutil.copytree(tiny_checkpoint.path, ckpt)
        meta = json.loads((ckpt / "checkpoint.json").read_text())
        node = meta
        for key in path[:-1]:
            node = node[key]
        if value == "__delete__":
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
        (ckpt / "checkpoint.json").write_text(json.dumps(meta))
        before = _tree(ckpt)
        loaded = _usage_or_ok(lambda: load_checkpoint(ckpt))
        if loaded is not None:  # accepted: then it is usable as loaded
            assert loaded.model.cfg.d_model >= 1
        assert _tree(ckpt) == before


@FUZZ
@given(st.dictionaries(st.sampled_from(["train", "val", "test", "other"]),
                       st.lists(st.integers(-5, 700) | st.floats(allow_nan=False)
                                | st.text(max_size=3) | st.booleans(), max_size=30)
                       | json_values, max_size=4))
def test_fuzz_splits_json(splits: dict) -> None:
    result = _usage_or_ok(lambda: splits_from_fields(Fields(splits, where="splits.json s")))
    if result is not None:
        parts = [set(result.train), set(result.val), set(result.test)]
        assert result.train and result.test
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        assert all(isinstance(i, int) and i >= 0 for p in parts for i in p)


# -- baseline.json --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline_base(tmp_path_factory) -> dict:
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "synthetic_run", FIXTURES / "runs" / "synthetic_run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = module.write_run(tmp_path_factory.mktemp("fuzzrun"), models=["fp-transformer"])
    return json.loads(json.dumps(build_baseline(load_run(run))))


@FUZZ
@given(st.sampled_from(["format", "version", "source", "defaults", "entries", "samples",
                        "entry", "entry.value", "entry.unit", "entry.gate", "entry.factor",
                        "entry.batch_size", "defaults.acc_abs_tol"]), json_values)
def test_fuzz_baseline(baseline_base: dict, where: str, value: object) -> None:
    data = json.loads(json.dumps(baseline_base))
    first = next(iter(data["entries"]))
    if where.startswith("entry."):
        data["entries"][first][where.split(".", 1)[1]] = value
    elif where == "entry":
        data["entries"][first] = value
    elif where.startswith("defaults."):
        data["defaults"][where.split(".", 1)[1]] = value
    else:
        data[where] = value
    checked = _usage_or_ok(lambda: validate(data, "baseline.json"))
    if checked is not None:
        for entry in checked["entries"].values():
            assert isinstance(entry["value"], float)


# -- GLUE TSV -------------------------------------------------------------------------------

tsv_text = st.lists(st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"]),
                                     max_size=12), max_size=5).map("\t".join),
                    max_size=8).map("\n".join)


@FUZZ
@given(st.sampled_from(sorted(TASKS)), tsv_text.map(str.encode) | st.binary(max_size=200))
def test_fuzz_glue_tsv(task: str, data: bytes) -> None:
    with _scratch() as root:
        path = root / "train.tsv"
        path.write_bytes(data)
        got = _usage_or_ok(lambda: read_glue_tsv(path, TASKS[task]))
        if got is not None:
            texts, labels = got
            assert len(texts) == len(labels)
            assert all(0 <= y < len(TASKS[task].label_names) for y in labels)


# -- numeric CLI options ----------------------------------------------------------------------


class _Stop(Exception):
    """Raised where the command would start real work: the options were accepted."""


def _stop(*args, **kwargs):
    raise _Stop


@FUZZ
@given(st.sampled_from(["--min-seconds", "--warmup", "--min-queries", "--batch-size",
                        "--threads", "--seed", "--seeds"]), number_text)
def test_fuzz_bench_numbers(monkeypatch_module, option: str, text: str) -> None:
    with _scratch() as root:
        out = root / "run"
        argv = ["bench", "--target", "cpu", "--models", "fp-transformer", "--dataset",
                "synthetic-2", "--preset", "tiny", "--no-energy", "--out", str(out),
                f"{option}={text}"]
        try:
            code, err = _cli(argv)
        except _Stop:
            code, err = 0, ""
        assert code in (0, 2)
        if code == 2:
            assert one_line(err), err
        assert not out.exists() and list(root.iterdir()) == []


@FUZZ
@given(number_text)
def test_fuzz_train_seed(monkeypatch_module, text: str) -> None:
    try:
        code, err = _cli(["train", "--model", "fp-transformer", "--dataset", "synthetic-2",
                          "--preset", "tiny", f"--seed={text}"])
    except _Stop:
        code, err = 0, ""
    assert code in (0, 2)
    if code == 2:
        assert one_line(err), err


@FUZZ
@given(st.sampled_from(["beex-entropy-drop", "deebert-entropy", "pabee-patience", "final"]),
       number_text)
def test_fuzz_eval_param(monkeypatch_module, tiny_checkpoint, policy: str, text: str) -> None:
    with _scratch() as root:
        try:
            code, err = _cli(["eval", "--checkpoint", str(tiny_checkpoint.path), "--policy",
                              policy, f"--param={text}", "--out", str(root / "out")])
        except _Stop:
            code, err = 0, ""
        assert code in (0, 2)
        if code == 2:
            assert one_line(err), err
        assert list(root.iterdir()) == []


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    """Where each command would start its work, it stops: only parsing is fuzzed."""
    with pytest.MonkeyPatch.context() as mp:
        # At their sources: the commands import them when they run (lazy imports).
        mp.setattr("beexbench.bench.runner.run_bench", _stop)
        mp.setattr("beexbench.train.loop.train_model", _stop)
        mp.setattr("beexbench.data.registry.load_dataset", _stop)
        mp.setenv("BEEXBENCH_CHECKPOINTS", os.environ.get("BEEXBENCH_CHECKPOINTS", "")
                  or tempfile.mkdtemp(prefix="fuzz-ck-"))
        yield mp
