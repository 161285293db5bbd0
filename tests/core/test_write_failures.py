"""A full disk, a read-only folder or a kill mid-write: one line naming what was being
written and where, exit 2, the previous complete file kept, no temporary left behind.

Tests may run as root, whom chmod does not stop, so the failures are injected where the
writer meets the OS (os.fsync, os.replace, os.rename, os.open), as the kernel would
raise them.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import BENCH_FAST, REPO, SYNTHETIC_RUN, error_line

from beexbench.cli.main import main
from beexbench.core.atomic import atomic_write_text, replace_dir, sweep_temps
from beexbench.core.errors import UsageError

synthetic_run = SYNTHETIC_RUN


def _enospc(path: object = None) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), None if path is None else str(path))


@pytest.fixture
def fail_into(monkeypatch):
    """fail_into(predicate): the first os.replace or os.rename onto a destination the
    predicate accepts fails as on a full disk; every other call goes through (a writer
    putting the old file back is let through)."""
    real_replace, real_rename = os.replace, os.rename

    def arm(accept) -> None:
        armed = [True]

        def fails(dst) -> bool:
            if armed[0] and accept(Path(dst)):
                armed[0] = False
                return True
            return False

        def replace(src, dst, *args, **kwargs):
            if fails(dst):
                raise _enospc(dst)
            return real_replace(src, dst, *args, **kwargs)

        def rename(src, dst, *args, **kwargs):
            if fails(dst):
                raise _enospc(dst)
            return real_rename(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, "replace", replace)
        monkeypatch.setattr(os, "rename", rename)

    return arm


def _temps(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_full_disk_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "results.csv"
    path.write_text("old, complete\n")

    def fsync(fd):
        raise _enospc()

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(UsageError) as err:
        atomic_write_text(path, "new", what="results.csv")
    assert str(err.value) == f"cannot write results.csv {path}: No space left on device"
    assert path.read_text() == "old, complete\n"
    assert _temps(tmp_path) == []


def test_read_only_folder_is_one_line(tmp_path, monkeypatch):
    real_open = os.open
    folder = tmp_path / "ro"
    folder.mkdir()

    def read_only(path, flags, *args, **kwargs):
        if Path(path).parent == folder and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(UsageError) as err:
        atomic_write_text(folder / "summary.csv", "x", what="report table")
    assert str(err.value) == (f"cannot write report table {folder / 'summary.csv'}: "
                              "Read-only file system")


def test_next_write_removes_what_a_dead_writer_left_and_spares_a_live_one(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    live_pid = os.getppid()
    leftover = tmp_path / f".results.csv.{dead_pid}-abc.tmp"
    in_flight = tmp_path / f".results.csv.{live_pid}-xyz.tmp"
    leftover_dir = tmp_path / f".model.{dead_pid}-qq.tmp"
    leftover.write_text("half")
    in_flight.write_text("being written")
    leftover_dir.mkdir()
    (leftover_dir / "model.safetensors").write_text("half")
    atomic_write_text(tmp_path / "results.csv", "whole\n")
    assert not leftover.exists() and in_flight.exists() and leftover_dir.exists()
    assert sweep_temps(tmp_path) == [leftover_dir]
    assert in_flight.exists()


def test_replace_dir_keeps_the_old_folder_when_the_new_cannot_go_in(tmp_path, fail_into):
    old, new = tmp_path / "ckpt", tmp_path / ".ckpt.1-a.tmp"
    old.mkdir()
    (old / "weights").write_text("old")
    new.mkdir()
    (new / "weights").write_text("new")
    fail_into(lambda dst: dst == old)
    with pytest.raises(UsageError, match=f"cannot write checkpoint {old}: No space left"):
        replace_dir(new, old, what="checkpoint")
    assert (old / "weights").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_bench_on_a_full_disk_is_one_line_and_resumes(tmp_path, capsys, fail_into,
                                                     checkpoint_cache):
    run = tmp_path / "run"
    argv = ["-q", "bench", "--target", "cpu", "--models", "fp-transformer,beexformer",
            "--no-energy", "--out", str(run), *BENCH_FAST]
    fail_into(lambda dst: dst.name == "beexformer.safetensors")
    assert main(argv) == 2
    line = error_line(capsys)
    assert line == (f"beexbench: error: cannot write packed artifact "
                    f"{run / 'artifacts' / 'beexformer.safetensors'}: No space left on device")
    assert _temps(run) == [] and not (run / "run.lock").exists()
    kept = (run / "results.csv").read_text()
    assert ",fp-transformer," in kept and ",beexformer," not in kept
    fail_into(lambda dst: False)
    assert main([*argv, "--resume"]) == 0
    assert (run / "results.csv").read_text().startswith(kept)


def test_eval_on_a_full_disk_is_one_line(tiny_checkpoint, tmp_path, capsys, fail_into):
    fail_into(lambda dst: dst.name == "predictions.csv")
    out = tmp_path / "eval"
    assert main(["eval", "--checkpoint", str(tiny_checkpoint.path), "--out", str(out)]) == 2
    assert f"cannot write predictions {out / 'predictions.csv'}: No space" in error_line(capsys)
    assert _temps(tmp_path) == []


def test_regress_update_on_a_full_disk_keeps_the_baseline(tmp_path, capsys, fail_into):
    run = synthetic_run.write_run(tmp_path, models=["fp-transformer", "beexformer"])
    baseline = tmp_path / "baseline.json"
    assert main(["regress", "--baseline", str(baseline), str(run), "--update"]) == 0
    before = baseline.read_bytes()
    capsys.readouterr()
    fail_into(lambda dst: dst == baseline)
    assert main(["regress", "--baseline", str(baseline), str(run), "--update"]) == 2
    assert f"cannot write baseline {baseline}: No space" in error_line(capsys)
    assert baseline.read_bytes() == before and _temps(tmp_path) == []


def test_train_force_replaces_the_checkpoint_by_rename(tmp_path, monkeypatch, fail_into):
    from beexbench.core import atomic
    from beexbench.train.loop import TrainRequest, train_model

    monkeypatch.setenv("BEEXBENCH_CHECKPOINTS", str(tmp_path / "cache"))
    request = TrainRequest("fp-transformer", "synthetic-2", "tiny")
    path = train_model(request, quiet=True).path
    before = _snapshot(path)
    # A full disk when the new one would go in: the old one stays, whole.
    fail_into(lambda dst: dst == path)
    with pytest.raises(UsageError, match=f"cannot write checkpoint {path}: No space"):
        train_model(request, force=True, quiet=True)
    assert _snapshot(path) == before and _temps(path.parent) == []
    # Otherwise the new one is renamed in before the old one is removed, never after.
    fail_into(lambda dst: False)
    removed: list[Path] = []
    real_rmtree = shutil.rmtree

    def rmtree(target, *args, **kwargs):
        removed.append(Path(target))
        assert path.is_dir() and (path / "model.safetensors").is_file()
        return real_rmtree(target, *args, **kwargs)

    monkeypatch.setattr(atomic.shutil, "rmtree", rmtree)
    train_model(request, force=True, quiet=True)
    assert removed and path not in removed
    assert _snapshot(path).keys() == before.keys() and _temps(path.parent) == []


def test_report_on_a_full_disk_keeps_the_old_report(tmp_path, capsys, fail_into):
    run = synthetic_run.write_run(tmp_path, models=["fp-transformer", "beexformer"])
    out = tmp_path / "report"
    assert main(["report", str(run), "--out", str(out)]) == 0
    before = _snapshot(out)
    capsys.readouterr()
    fail_into(lambda dst: dst == out)
    assert main(["report", str(run), "--out", str(out), "--force"]) == 2
    assert f"cannot write report {out}: No space" in error_line(capsys)
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([run.name, "report"])


KILLED_REPORT = textwrap.dedent("""
    import os, signal, sys
    from beexbench.report import build, markdown

    def render(blocks):  # the plots of the new report are written by now
        os.kill(os.getpid(), signal.SIGKILL)

    markdown.render = render
    build.build_report([sys.argv[1]], sys.argv[2])
""")


def test_a_kill_while_report_rewrites_leaves_the_old_one_whole(tmp_path):
    run = synthetic_run.write_run(tmp_path, models=["fp-transformer", "beexformer"])
    out = tmp_path / "report"
    assert main(["report", str(run), "--out", str(out)]) == 0
    before = _snapshot(out)
    killed = subprocess.run([sys.executable, "-c", KILLED_REPORT, str(run), str(out)],
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert killed.returncode == -signal.SIGKILL
    assert _snapshot(out) == before
    assert len(_temps(tmp_path)) >= 1  # the killed writer's staging folder
    # The next report removes it.
    assert main(["report", str(run), "--out", str(out), "--force"]) == 0
    assert _temps(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([run.name, "report"])


def test_report_out_inside_a_run_directory_is_refused(tmp_path, capsys):
    run = synthetic_run.write_run(tmp_path, models=["fp-transformer"])
    before = _snapshot(run)
    for out in (run, run / "predictions", run / "new" / "deeper"):
        assert main(["report", str(run), "--out", str(out)]) == 2
        assert f"--out {out}: inside the run directory" in error_line(capsys)
    assert _snapshot(run) == before


def test_report_out_holding_other_files_is_refused(tmp_path, capsys):
    run = synthetic_run.write_run(tmp_path / "runs", models=["fp-transformer"])
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    assert main(["report", str(run), "--out", str(out)]) == 2
    assert "holds notes.txt" in error_line(capsys)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
