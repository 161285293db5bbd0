"""Kills and races: training workers die with bench, one run directory has one holder."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
import threading
import time

import psutil
import pytest
from conftest import BENCH_FAST, REPO

from beexbench.core.errors import UsageError
from beexbench.results.layout import RUN_LOCK
from beexbench.results.store import RunStore


def _gone(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_sigkill_of_bench_during_training_leaves_no_worker(tmp_path):
    env = {**os.environ, "BEEXBENCH_CHECKPOINTS": str(tmp_path / "checkpoints")}
    argv = [sys.executable, "-m", "beexbench", "bench", "--target", "cpu", "--models",
            "fp-transformer,binarybert", "--no-energy", "--out", str(tmp_path / "run"),
            *BENCH_FAST]
    proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    epoch = threading.Event()

    def watch() -> None:
        for line in proc.stderr:
            if "epoch 1/" in line:
                epoch.set()

    threading.Thread(target=watch, daemon=True).start()
    try:
        assert epoch.wait(120), "training never started"
        descendants = psutil.Process(proc.pid).children(recursive=True)
        workers = [p for p in descendants if "spawn_main" in " ".join(p.cmdline())]
    finally:
        proc.kill()
        proc.wait()
    assert len(workers) == 2, "the kill should land while the two workers train"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(_gone(p) for p in descendants):
        time.sleep(0.1)
    alive = [(p.pid, " ".join(p.cmdline())[:80]) for p in descendants if not _gone(p)]
    for p in descendants:  # whatever the verdict, leave nothing behind
        if not _gone(p):
            p.kill()
    assert not alive, alive


OPENER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from beexbench.core.errors import UsageError
    from beexbench.results.store import RunStore

    base, me, n, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

    def wait_for(pattern):
        deadline = time.monotonic() + 60
        while len(list(base.glob(pattern))) < n and time.monotonic() < deadline:
            time.sleep(0.001)

    for r in range(rounds):
        (base / f"ready-{r}-{me}").touch()
        wait_for(f"ready-{r}-*")
        try:
            store = RunStore.open(base / f"run-{r}", resume=r % 2 == 0)
            got = "1"
        except UsageError:
            store, got = None, "0"
        (base / f"held-{r}-{me}").write_text(got)
        wait_for(f"held-{r}-*")  # hold it until every opener has tried
        if store is not None:
            store.release()
""")


def test_racing_openers_of_a_fresh_run_directory_find_one_holder(tmp_path):
    n, rounds = 6, 8
    script = tmp_path / "opener.py"
    script.write_text(OPENER)
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path), str(i), str(n),
                               str(rounds)], cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
             for i in range(n)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    for r in range(rounds):
        holders = [p.read_text() for p in tmp_path.glob(f"held-{r}-*")].count("1")
        assert holders == 1, f"round {r}: {holders} holders"


def test_an_empty_lock_of_a_live_holder_is_not_stale(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    fd = os.open(run / RUN_LOCK, os.O_RDWR | os.O_CREAT)  # created, its pid not yet written
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(UsageError, match="in use by another process"):
            RunStore.open(run, resume=True)
        assert (run / RUN_LOCK).exists()
    finally:
        os.close(fd)
    store = RunStore.open(run, resume=True)  # its holder gone: taken
    assert (run / RUN_LOCK).read_text() == str(os.getpid())
    store.release()
    assert not (run / RUN_LOCK).exists()


def test_a_live_holder_is_named(tmp_path):
    run = tmp_path / "run"
    holder = RunStore.open(run, resume=False)
    try:
        child = subprocess.run(
            [sys.executable, "-c", "import sys; from pathlib import Path; "
             "from beexbench.results.store import RunStore; "
             "RunStore.open(Path(sys.argv[1]), resume=True)", str(run)],
            cwd=REPO, capture_output=True, text=True)
        assert f"in use by process {os.getpid()}" in child.stderr
    finally:
        holder.release()


def test_a_failed_lock_write_leaves_a_folder_a_new_run_may_take(tmp_path, monkeypatch):
    """A full disk while the lock is written: no lock file stays, and a folder holding only
    a stale lock is a fresh one to a plain bench (not "already exists")."""
    import errno

    run = tmp_path / "run"
    real_write = os.write

    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(UsageError, match="No space left"):
        RunStore.open(run, resume=False)
    monkeypatch.setattr(os, "write", real_write)
    assert list(run.iterdir()) == []
    (run / RUN_LOCK).write_text("12345")  # a lock some killed run left, held by no one
    store = RunStore.open(run, resume=False)
    store.release()


def test_force_replaces_a_run_and_holds_it_throughout(tmp_path):
    """--force empties a finished run for a new one, under one lock held from the
    emptying to the end of the new run."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    (run / "results.csv").write_text("old")
    (run / "predictions").mkdir()
    store = RunStore.open(run, resume=False, force=True)
    try:
        assert sorted(p.name for p in run.iterdir()) == [RUN_LOCK]
        assert (run / RUN_LOCK).read_text() == str(os.getpid())
        with pytest.raises(UsageError, match="in use"):
            RunStore.open(run, resume=True)
    finally:
        store.release()
    assert list(run.iterdir()) == []


def test_a_waiter_takes_the_lock_when_its_holder_dies(tmp_path):
    """A build killed while it holds the lock never blocks the next one: the kernel drops
    a dead holder's lock, and the waiter is told once that it waits."""
    from beexbench.core.lock import DirLock

    path = tmp_path / "build.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from beexbench.core.lock import DirLock; DirLock.take(Path(sys.argv[1]), 'x'); "
         "print('held', flush=True); time.sleep(60)", str(path)],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        heard = []
        threading.Timer(0.5, holder.kill).start()
        lock = DirLock.wait_for(path, "the build", 30.0, on_wait=heard.append)
        assert heard == [holder.pid]
        assert path.read_text() == str(os.getpid())
        lock.release()
    finally:
        holder.kill()
        holder.wait()


def test_a_waiter_gives_up_after_its_bound_with_one_line(tmp_path):
    from beexbench.core.lock import DirLock, LockBusy

    path = tmp_path / "build.lock"
    held = DirLock.take(path, "the build")
    try:
        with pytest.raises(LockBusy, match=r"gave up after 0.3 s waiting for process \d+"):
            DirLock.wait_for(path, "the build", 0.3)
    finally:
        held.release()


def test_a_build_folder_a_killed_build_left_is_cleared(tmp_path):
    """torch's own lock file in a build folder outlives a killed build; under our lock no
    live build is in there, so the folder is moved aside and removed."""
    from beexbench.runtimes.packed.kernels import clear_killed_build

    build = tmp_path / "0123abcd"
    build.mkdir()
    (build / "kernels.o").write_bytes(b"half")
    assert not clear_killed_build(build) and build.exists()  # no lock: a finished build
    (build / "lock").write_bytes(b"")
    assert clear_killed_build(build)
    assert not build.exists() and list(tmp_path.iterdir()) == []
