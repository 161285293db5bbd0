"""Damaged checkpoints, splits, tokenizers and artifacts: each is one line naming the file
and exit 2 (issue examples kept as regression tests)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import REPO, one_line
from safetensors.torch import load_file, save_file

from beexbench.cli.main import main
from beexbench.core.errors import UsageError
from beexbench.models.artifact import export_packed, load_packed, read_artifact
from beexbench.train.checkpoint import load_checkpoint


@pytest.fixture
def copy(tiny_checkpoint, tmp_path: Path) -> Path:
    dst = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint.path, dst)
    return dst


def _edit_json(path: Path, edit) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def _eval_fails(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert one_line(err), err
    assert "Traceback" not in err
    return err


def _fails(ckpt: Path, capsys, *, extra: tuple[str, ...] = ()) -> str:
    return _eval_fails(["eval", "--checkpoint", str(ckpt), "--out", str(ckpt.parent / "out"),
                        *extra], capsys)


D_MODEL_WHY = "field 'model_config.d_model' must be an integer"


def _set(path: tuple, value):
    def edit(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return edit


def _drop(path: tuple):
    def edit(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return edit


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (_set(("model_config", "d_model"), "64"), D_MODEL_WHY),
        (_set(("model_config", "d_model"), 32.0), D_MODEL_WHY),
        (_set(("model_config", "d_model"), 10**9), D_MODEL_WHY),
        (_set(("model_config", "dropout"), -1), "field 'model_config.dropout'"),
        (_set(("model_config", "sublayer"), "mlp"), "field 'model_config.sublayer' must be one of"),
        (_set(("model_config", "extra"), 1), "field 'model_config.extra' is not a ModelConfig"),
        (_set(("policies",), ["beex-entropy-drop"]), "field 'policies' must be an object"),
        (_drop(("policies", "beex-entropy-drop", "param")),
         "field 'policies.beex-entropy-drop.param' is missing"),
        (_set(("policies", "beex-entropy-drop", "param"), "0.1"),
         "field 'policies.beex-entropy-drop.param' must be a finite number"),
        (_set(("policies", "pabee-patience"), {"param": 0}),
         "field 'policies.pabee-patience.param': t must be an integer between 1 and 1024"),
        (_set(("policies", "beex-entropy-drop", "param"), 1e999),
         "not valid JSON (Infinity is not a number JSON allows)"),
        (_set(("policies", "no-such-policy"), {"param": 1}), "names no known exit policy"),
        (_drop(("dataset",)), "field 'dataset' is missing"),
        (_set(("model",), 7), "field 'model' must be a string"),
        (_set(("model",), "gpt-9"), "names no known model"),
        (_set(("seed",), 2**64), "field 'seed' must be an integer between 0"),
        (_set(("split_hash",), None), "field 'split_hash' must be a string"),
        (_set(("history",), {}), "field 'history' must be a list"),
    ],
)
def test_wrong_typed_checkpoint_json_is_one_line(copy: Path, capsys, edit, why) -> None:
    _edit_json(copy / "checkpoint.json", edit)
    err = _fails(copy, capsys)
    assert f"checkpoint.json {copy / 'checkpoint.json'}: " in err
    assert why in err


@pytest.mark.parametrize(
    ("data", "why"),
    [(b"\xff\xfe\x00garbage", "not UTF-8"), (b'{"format": NaN}', "NaN"), (b"[]", "unknown format")],
)
def test_garbage_checkpoint_json_is_one_line(copy: Path, capsys, data: bytes, why: str) -> None:
    (copy / "checkpoint.json").write_bytes(data)
    assert why in _fails(copy, capsys)


def _rewrite_splits(ckpt: Path, splits: dict, *, rehash: bool) -> None:
    (ckpt / "splits.json").write_text(json.dumps(splits))
    if rehash:  # a careful editor also fixes the hash: the content checks must still hold
        digest = hashlib.sha256(json.dumps(splits).encode()).hexdigest()[:16]
        _edit_json(ckpt / "checkpoint.json", _set(("split_hash",), digest))


def _splits(ckpt: Path) -> dict:
    return json.loads((ckpt / "splits.json").read_text())


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda s: {**s, "test": [str(i) for i in s["test"]]}, "must be a sample index"),
        (lambda s: {**s, "test": [float(i) for i in s["test"]]}, "must be a sample index"),
        (lambda s: {**s, "test": [-1, -2, *s["test"]]}, "field 'test[0]' must be a sample index"),
        (lambda s: {**s, "test": []}, "field 'test' is empty"),
        (lambda s: {**s, "test": list(s["train"])}, "field 'test' shares"),
        (lambda s: {**s, "val": [s["test"][0], *s["val"]]}, "field 'test' shares"),
        (lambda s: {**s, "test": [s["test"][0], s["test"][0]]}, "lists a sample twice"),
        (lambda s: {**s, "test": {"a": 1}}, "field 'test' must be a list"),
        (lambda s: {"train": s["train"], "test": s["test"]}, "field 'val' is missing"),
    ],
)
@pytest.mark.parametrize("rehash", [False, True])
def test_bad_splits_json_is_one_line(copy: Path, capsys, change, why: str, rehash: bool) -> None:
    _rewrite_splits(copy, change(_splits(copy)), rehash=rehash)
    err = _fails(copy, capsys)
    assert f"splits.json {copy / 'splits.json'}: " in err
    assert why in err


def test_edited_splits_fail_the_split_hash(copy: Path, capsys) -> None:
    splits = _splits(copy)
    splits["test"], splits["train"] = splits["test"][1:], [splits["test"][0], *splits["train"]]
    _rewrite_splits(copy, splits, rehash=False)
    assert "does not match the checkpoint's split_hash" in _fails(copy, capsys)


def test_out_of_range_split_index_is_one_line(copy: Path, capsys) -> None:
    splits = _splits(copy)
    splits["test"] = [*splits["test"], 10**9]
    _rewrite_splits(copy, splits, rehash=True)
    assert "its splits do not fit dataset synthetic-2" in _fails(copy, capsys)


def _rewrite_weights(ckpt: Path, change) -> None:
    state = load_file(str(ckpt / "model.safetensors"))
    change(state)
    save_file(state, str(ckpt / "model.safetensors"))


def _first_float(state: dict) -> str:
    return next(k for k, v in state.items() if v.is_floating_point())


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda st, k: st.__setitem__(k, st[k].to(torch.int64)), "is torch.int64, expected"),
        (lambda st, k: st.__setitem__(k, st[k].to(torch.float16)), "is torch.float16, expected"),
        (lambda st, k: st.__setitem__(k, st[k] > 0), "is torch.bool, expected"),
        (lambda st, k: st[k].view(-1).__setitem__(0, float("nan")), "NaN or infinite"),
        (lambda st, k: st[k].view(-1).__setitem__(0, float("inf")), "NaN or infinite"),
        (lambda st, k: st.__setitem__(k, st[k].reshape(1, -1)), "has shape"),
        (lambda st, k: st.__delitem__(k), "tensors missing"),
        (lambda st, k: st.__setitem__("stray", torch.zeros(1)), "tensors the model does not have"),
    ],
)
def test_weights_of_wrong_dtype_shape_or_values_are_refused(copy: Path, capsys, change,
                                                            why: str) -> None:
    _rewrite_weights(copy, lambda st: change(st, _first_float(st)))
    err = _fails(copy, capsys)
    assert err.startswith(f"beexbench: error: checkpoint {copy}: weights do not fit the model")
    assert why in err


def _rehash_tokenizer(ckpt: Path) -> None:
    """What a careful editor does after editing tokenizer.json: fix the checkpoint's hash,
    so that the content checks below the hash must still hold."""
    digest = hashlib.sha256((ckpt / "tokenizer.json").read_bytes()).hexdigest()[:16]
    _edit_json(ckpt / "checkpoint.json", _set(("tokenizer_hash",), digest))


def _edit_tokenizer(ckpt: Path, edit, *, rehash: bool = True) -> None:
    _edit_json(ckpt / "tokenizer.json", lambda tok: edit(tok["model"]["vocab"]))
    if rehash:
        _rehash_tokenizer(ckpt)


def test_tokenizer_with_rotated_ids_is_refused_not_scored(copy: Path, capsys) -> None:
    """Valid JSON, every id in range, the special tokens in place: only the hash tells that
    the ordinary words now map to other ids (and accuracy would silently drop)."""
    def rotate(vocab: dict) -> None:
        words = sorted((i, w) for w, i in vocab.items() if not w.startswith("["))
        ids = [i for i, _ in words]
        for (_, word), new in zip(words, ids[1:] + ids[:1], strict=True):
            vocab[word] = new
    _edit_tokenizer(copy, rotate, rehash=False)
    assert "does not match the checkpoint's tokenizer_hash" in _fails(copy, capsys)


def test_a_checkpoint_without_a_tokenizer_hash_is_one_line(copy: Path, capsys) -> None:
    _edit_json(copy / "checkpoint.json", lambda meta: meta.pop("tokenizer_hash"))
    assert "tokenizer_hash" in _fails(copy, capsys)


def test_tokenizer_without_pad_token_is_one_line(copy: Path, capsys) -> None:
    def edit(tok: dict) -> None:
        tok["model"]["vocab"].pop("[PAD]")
        tok["added_tokens"] = [t for t in tok.get("added_tokens", []) if t["content"] != "[PAD]"]
    _edit_json(copy / "tokenizer.json", edit)
    _rehash_tokenizer(copy)
    assert "has no [PAD] token" in _fails(copy, capsys)


def test_tokenizer_ids_beyond_the_embedding_table_are_one_line(copy: Path, capsys) -> None:
    _edit_tokenizer(copy, lambda vocab: vocab.__setitem__("zzzzzz", 10**6))
    assert "beyond the model's embedding table" in _fails(copy, capsys)


def test_tokenizer_that_is_not_json_is_one_line(copy: Path, capsys) -> None:
    (copy / "tokenizer.json").write_bytes(b"\xff\x00")
    _rehash_tokenizer(copy)
    assert "tokenizer.json" in _fails(copy, capsys)


@pytest.mark.parametrize("param", ["nan", "inf", "-inf", "1e400"])
def test_eval_param_not_finite_is_one_line(tiny_checkpoint, tmp_path: Path, capsys,
                                           param: str) -> None:
    err = _eval_fails(["eval", "--checkpoint", str(tiny_checkpoint.path), f"--param={param}",
                       "--out", str(tmp_path)], capsys)
    assert err.startswith("beexbench: error: --param: delta must be a finite number, got")
    assert not any(tmp_path.iterdir())


def _avg_exit_layer(out: str) -> float:
    return float(next(line for line in out.splitlines() if "avg_exit_layer" in line).split()[1])


def test_eval_threshold_beyond_its_range_is_odd_but_valid(tiny_checkpoint, tmp_path: Path,
                                                          capsys) -> None:
    """A relative entropy drop is at most 1, so delta 1.5 stops every sample at the first
    exit that can decide (the 2nd block); a negative delta stops only on a rise. Both are
    correct figures, not errors."""
    base = ["eval", "--checkpoint", str(tiny_checkpoint.path)]
    assert main([*base, "--param", "1.5", "--out", str(tmp_path / "a")]) == 0
    assert _avg_exit_layer(capsys.readouterr().out) == 2.0
    assert main([*base, "--param", "-1", "--out", str(tmp_path / "b")]) == 0
    assert 2.0 <= _avg_exit_layer(capsys.readouterr().out) <= tiny_checkpoint.model.cfg.blocks


def test_patience_param_must_be_a_whole_number(tiny_checkpoint, tmp_path: Path, capsys) -> None:
    for param in ("2.5", "0", "-3", "1e6"):
        err = _eval_fails(["eval", "--checkpoint", str(tiny_checkpoint.path), "--policy",
                           "pabee-patience", f"--param={param}", "--out", str(tmp_path)],
                          capsys)
        assert "--param: t must be an integer between 1 and 1024" in err


def test_a_valid_checkpoint_still_loads(copy: Path) -> None:
    assert load_checkpoint(copy).model_name == "beexformer"


@pytest.fixture
def artifact(tiny_checkpoint, tmp_path: Path) -> Path:
    path = tmp_path / "model.packed.safetensors"
    export_packed(tiny_checkpoint.model, tiny_checkpoint.model_name, path)
    return path


def _rewrite_artifact(path: Path, change_tensors=None, change_meta=None) -> None:
    meta, tensors = read_artifact(path)
    if change_tensors:
        change_tensors(tensors)
    if change_meta:
        change_meta(meta)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=meta)


def test_packed_artifact_round_trips(artifact: Path, tiny_checkpoint) -> None:
    name, model = load_packed(artifact)
    assert name == tiny_checkpoint.model_name


def _bits_key(tensors: dict) -> str:
    return next(k for k in tensors if k.endswith(".weight_bits"))


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda t: t.__setitem__(_first_float(t), t[_first_float(t)].half()), "float16"),
        (lambda t: t[_first_float(t)].view(-1).__setitem__(0, float("nan")), "NaN"),
        (lambda t: t.__setitem__(_bits_key(t), t[_bits_key(t)].int()), "torch.int32"),
        (lambda t: t.__setitem__(_bits_key(t), t[_bits_key(t)][..., :0]), "has shape"),
        (lambda t: t.pop(_bits_key(t)), "tensors missing"),
    ],
)
def test_damaged_packed_tensors_are_refused(artifact: Path, change, why: str) -> None:
    _rewrite_artifact(artifact, change_tensors=change)
    with pytest.raises(UsageError) as err:
        load_packed(artifact)
    assert str(err.value).startswith(f"artifact {artifact}: tensors do not fit the model")
    assert why in str(err.value)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda m: m.__setitem__("model_config", "{"), "not valid JSON"),
        (lambda m: m.__setitem__("model_config", '{"d_model": "x"}'),
         "model_config: field 'vocab_size' is missing"),
        (lambda m: m.__setitem__("model", "nope"), "names no known model"),
        (lambda m: m.pop("model_config"), "has no model_config"),
    ],
)
def test_damaged_packed_header_is_refused(artifact: Path, change, why: str) -> None:
    _rewrite_artifact(artifact, change_meta=change)
    with pytest.raises(UsageError, match=why):
        load_packed(artifact)


def test_eval_in_a_fresh_process_knows_the_built_in_models(copy: Path, tmp_path: Path) -> None:
    """`eval` is the first to ask about models there: checkpoint.json's model is checked
    against the registry with the built-in models loaded, not an empty one."""
    repo = REPO
    done = subprocess.run(
        [sys.executable, "-m", "beexbench", "-q", "eval", "--checkpoint", str(copy),
         "--out", str(tmp_path / "out")],
        cwd=repo, env={**os.environ, "BEEXBENCH_CHECKPOINTS": str(tmp_path / "cache")},
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "predictions.csv").is_file()
