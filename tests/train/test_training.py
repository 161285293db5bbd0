import json
import shutil

import pytest
import torch
from conftest import error_line

from beexbench.cli.main import main
from beexbench.core.errors import UsageError
from beexbench.data.splits import stratified_split
from beexbench.data.synthetic import make_synthetic
from beexbench.train.checkpoint import load_checkpoint
from beexbench.train.loop import TrainRequest, exit_weights, train_model


def test_exit_weights_favour_deeper_exits_and_sum_to_one():
    w = exit_weights(4)
    assert torch.allclose(w, torch.tensor([1, 2, 3, 4]) / 10)


def test_loss_falls_when_training_tiny_on_synthetic(tiny_checkpoint):
    history = tiny_checkpoint.meta["history"]
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["val_acc"] > 70.0


def test_training_is_cached_by_config_hash(tiny_checkpoint, capsys):
    again = train_model(TrainRequest("beexformer", "synthetic-2", "tiny"))
    assert again.path == tiny_checkpoint.path
    assert "reusing checkpoint" in capsys.readouterr().err


def test_checkpoint_round_trip_gives_identical_logits(tiny_checkpoint):
    ids = torch.randint(1, 50, (6, 20))
    again = load_checkpoint(tiny_checkpoint.path)
    assert torch.equal(tiny_checkpoint.model(ids), again.model(ids))
    assert again.meta["policies"]["beex-entropy-drop"]["param"] is not None


def test_splits_are_stratified_disjoint_and_deterministic():
    data = make_synthetic(300, 3)
    a, b = stratified_split(data, 7), stratified_split(data, 7)
    assert a == b
    assert not set(a.train) & set(a.test) and not set(a.val) & set(a.test)
    assert sorted(a.train + a.val + a.test) == list(range(300))
    assert [sum(data.labels[i] == c for i in a.test) for c in range(3)] == [10, 10, 10]


@pytest.fixture
def broken_copy(tiny_checkpoint, tmp_path):
    dst = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint.path, dst)
    return dst


def _one_line_exit_2(argv, capsys):
    assert main(argv) == 2
    return error_line(capsys)


def test_corrupt_weights_exit_2(broken_copy, capsys):
    (broken_copy / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    err = _one_line_exit_2(["eval", "--checkpoint", str(broken_copy)], capsys)
    assert "corrupt weights" in err


def test_foreign_checkpoint_exit_2(broken_copy, capsys):
    meta = json.loads((broken_copy / "checkpoint.json").read_text())
    meta["format"] = "something-else/3"
    (broken_copy / "checkpoint.json").write_text(json.dumps(meta))
    assert "unknown format" in _one_line_exit_2(["eval", "--checkpoint", str(broken_copy)], capsys)


def test_weights_of_another_shape_exit_2(broken_copy, capsys):
    meta = json.loads((broken_copy / "checkpoint.json").read_text())
    meta["model_config"]["d_model"] = 64
    (broken_copy / "checkpoint.json").write_text(json.dumps(meta))
    assert "do not fit" in _one_line_exit_2(["eval", "--checkpoint", str(broken_copy)], capsys)


def test_not_a_checkpoint_exit_2(tmp_path, capsys):
    assert "not a beexbench checkpoint" in _one_line_exit_2(
        ["eval", "--checkpoint", str(tmp_path)], capsys)


def test_eval_writes_predictions_in_the_design_format(tiny_checkpoint, tmp_path, capsys):
    assert main(["eval", "--checkpoint", str(tiny_checkpoint.path), "--out", str(tmp_path)]) == 0
    header = (tmp_path / "predictions.csv").read_text().splitlines()[0].split(",")
    assert header == ["id", "label", "exit_layer", "pred_policy", "pred_1", "entropy_1",
                      "pred_2", "entropy_2", "pred_3", "entropy_3"]
    out = capsys.readouterr().out
    for name in ("acc_exit_1", "acc_final", "acc_policy", "acc_oracle",
                 "overthinking_destructive_pct", "overthinking_wasteful_pct", "avg_exit_layer"):
        assert name in out
    # An existing predictions file is not overwritten.
    assert main(["eval", "--checkpoint", str(tiny_checkpoint.path), "--out", str(tmp_path)]) == 2


def test_unknown_model_in_request_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown model 'nope'; valid: .*beexformer"):
        TrainRequest("nope", "synthetic-2", "tiny").key()



def test_sortish_batches_cover_every_sample_once_with_less_padding():
    from beexbench.train.loop import sortish_batches

    gen = torch.Generator().manual_seed(0)
    lengths = torch.randint(3, 64, (1000,), generator=gen)
    indices = torch.arange(0, 2000, 2)  # any subset of a dataset's rows
    full = torch.zeros(2000, dtype=torch.long)
    full[indices] = lengths
    batches = sortish_batches(indices, full, 16, torch.Generator().manual_seed(1))
    assert sorted(torch.cat(batches).tolist()) == indices.tolist()
    assert all(len(b) <= 16 for b in batches) and len(batches) == 63
    again = sortish_batches(indices, full, 16, torch.Generator().manual_seed(1))
    assert all(torch.equal(a, b) for a, b in zip(batches, again, strict=True))
    width = sum(int(full[b].max()) for b in batches) / len(batches)
    assert width < 0.8 * 61  # random batches of 16 pad to about 60


def test_recipe_per_family_and_its_record(checkpoint_cache):
    from beexbench.config import PRESETS
    from beexbench.train.recipes import preset_recipe, recipe_for

    small, tiny = PRESETS.get("small"), PRESETS.get("tiny")
    for family in ("fp", "binarybert", "beexformer"):
        assert "validation" in recipe_for(family, small)[1]
        assert recipe_for(family, tiny)[0] == preset_recipe(tiny)  # tests keep the preset's
    assert recipe_for("fp", small)[0] != preset_recipe(small)
    ckpt = train_model(TrainRequest("fp-transformer", "synthetic-2", "tiny"), quiet=True)
    assert ckpt.meta["recipe"]["epochs"] == len(ckpt.meta["history"])
    assert ckpt.meta["recipe_source"]


def test_tune_keeps_the_best_validation_trial_and_records_all(checkpoint_cache):
    from beexbench.train.loop import tune
    from beexbench.train.recipes import tune_candidates

    request = TrainRequest("fp-transformer", "synthetic-2", "tiny", seed=3)
    ckpt, trials = tune(request, quiet=True)
    assert len(trials) == len(tune_candidates("fp", request.preset_config())) >= 2
    best = max(t["best_val_acc"] for t in trials)
    assert max(h["val_acc"] for h in ckpt.meta["history"]) == best
    assert ckpt.meta["tuning"] == trials
    assert {json.dumps(t["recipe"], sort_keys=True) for t in trials} == {
        json.dumps(r.to_dict(), sort_keys=True) for r in tune_candidates(
            "fp", request.preset_config())}
