import subprocess
import sys

from conftest import REPO

from beexbench.data.registry import load_dataset
from beexbench.train.checkpoint import load_checkpoint
from beexbench.train.loop import TrainRequest, train_model
from beexbench.train.pool import train_missing


def test_side_by_side_training_writes_the_same_checkpoints(tmp_path, monkeypatch, capsys):
    from beexbench.core import log

    log.configure(log.NORMAL, bars=False)  # as every command does before it works
    monkeypatch.setenv("BEEXBENCH_CHECKPOINTS", str(tmp_path / "pool"))
    data = load_dataset("synthetic-2")
    requests = [TrainRequest(m, "synthetic-2", "tiny") for m in ("fp-transformer", "binarybert")]
    train_missing(requests, data, cpus=2, quiet=False)
    assert "training 2 models in 2 processes of 1 thread" in capsys.readouterr().err
    pooled = {r.model: load_checkpoint(r.checkpoint_dir()) for r in requests}
    assert all(c.meta["train_threads"] == 1 for c in pooled.values())

    # The same request trained here on one thread gives bit-identical weights.
    monkeypatch.setenv("BEEXBENCH_CHECKPOINTS", str(tmp_path / "inline"))
    inline = train_model(requests[1], quiet=True, data=data)
    for name, tensor in inline.model.state_dict().items():
        assert tensor.equal(pooled["binarybert"].model.state_dict()[name]), name


def test_one_model_on_one_core_is_left_to_the_caller(tmp_path, monkeypatch):
    monkeypatch.setenv("BEEXBENCH_CHECKPOINTS", str(tmp_path))
    data = load_dataset("synthetic-2")
    requests = [TrainRequest(m, "synthetic-2", "tiny") for m in ("fp-transformer", "beexformer")]
    train_missing(requests[:1], data, cpus=1, quiet=True)
    assert not any(r.checkpoint_dir().exists() for r in requests)


def test_training_threads_follow_the_preset_not_the_caller():
    import torch

    from beexbench.config import PRESETS
    from beexbench.train.loop import training_threads

    before = torch.get_num_threads()
    with training_threads(PRESETS.get("small")) as threads:
        assert threads == torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_a_worker_is_tied_to_its_parent_before_torch_loads():
    """A spawned worker imports this module to run its initializer (die_with_parent):
    without torch, so a parent killed while its workers start leaves none running for the
    seconds torch takes to import."""
    code = ("import sys, beexbench.train.pool; "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr or "beexbench.train.pool imports torch at its top"


def test_the_longest_trainings_start_first_and_equals_keep_their_order():
    from dataclasses import replace

    from beexbench.train.pool import longest_first

    base = TrainRequest("fp-transformer", "synthetic-2", "tiny")
    recipe = base.recipe()[0]
    short, long_, other_short = (replace(base, model=m, recipe_override=replace(recipe, epochs=e))
                                 for m, e in (("beexformer", 2), ("binarybert", 5),
                                              ("fp-transformer-ee", 2)))
    assert [r.model for r in longest_first([short, long_, other_short])] == [
        "binarybert", "beexformer", "fp-transformer-ee"]
