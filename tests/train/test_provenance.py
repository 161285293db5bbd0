"""Where checkpoints are cached and which revision rows name: beexbench's own, not the
working directory's."""

from __future__ import annotations

import logging
import subprocess

from beexbench.core import version
from beexbench.train import checkpoint


def test_checkpoint_cache_defaults_to_the_xdg_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(checkpoint.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    assert checkpoint.checkpoint_root() == tmp_path / "xdg" / "beexbench" / "checkpoints"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert checkpoint.checkpoint_root() == tmp_path / "home" / ".cache" / "beexbench" / \
        "checkpoints"
    monkeypatch.setenv(checkpoint.CACHE_ENV, str(tmp_path / "mine"))
    assert checkpoint.checkpoint_root() == tmp_path / "mine"


def test_the_old_working_directory_cache_is_read_with_one_notice(tmp_path, monkeypatch,
                                                                  caplog):
    monkeypatch.delenv(checkpoint.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(checkpoint, "_told", set())
    old = tmp_path / "results" / "checkpoints"
    (old / "a").mkdir(parents=True)
    (old / "b").mkdir()
    # beexbench's logger does not propagate (core.log): listen on it directly
    monkeypatch.setattr(logging.getLogger("beexbench"), "handlers",
                        [*logging.getLogger("beexbench").handlers, caplog.handler])
    monkeypatch.setattr(logging.getLogger("beexbench"), "propagate", False)
    with caplog.at_level(logging.WARNING, logger="beexbench"):
        assert checkpoint.checkpoint_path("a").resolve() == (old / "a").resolve()
        assert checkpoint.checkpoint_path("b").resolve() == (old / "b").resolve()
        # what only the new cache has, or nobody has, goes to the new cache
        assert checkpoint.checkpoint_path("c") == checkpoint.checkpoint_root() / "c"
    # one record (it may reach the capture through two loggers: count it once)
    notices = list({id(r): r for r in caplog.records if "old cache" in r.getMessage()}.values())
    assert len(notices) == 1 and str(checkpoint.checkpoint_root()) in notices[0].getMessage()


def test_git_sha_is_beexbench_own_revision_from_any_directory(tmp_path, monkeypatch):
    here = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=version.SOURCE_ROOT,
                          capture_output=True, text=True, check=False)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)  # another repository, with no commit
    version.revision.cache_clear()
    try:
        if here.returncode == 0:
            assert version.revision() == here.stdout.strip()
        else:
            assert version.revision() == f"v{version.version()}"
        # Installed from a wheel: no checkout around the package.
        monkeypatch.setattr(version, "SOURCE_ROOT", tmp_path / "site-packages")
        version.revision.cache_clear()
        assert version.revision() == f"v{version.version()}"
    finally:
        version.revision.cache_clear()


def test_environment_names_the_machine_its_packages_and_memory(tmp_path, checkpoint_cache):
    import json

    from beexbench.cli.main import main

    out = tmp_path / "run"
    assert main(["-q", "bench", "--models", "fp-transformer", "--dataset", "synthetic-2",
                 "--preset", "tiny", "--warmup", "1", "--min-queries", "3", "--min-seconds",
                 "0", "--no-energy", "--machine", "pi-07", "--out", str(out)]) == 0
    env = json.loads((out / "environment.json").read_text())
    assert env["machine"] == "pi-07" and env["host"]
    assert env["ram_bytes"] > 0 and env["cpu_count"] >= 1
    assert env["packages"]["torch"] and env["packages"]["numpy"]
    assert env["beexbench"]
    config = json.loads((out / "config.json").read_text())
    assert config["run_format"] == 2  # the format every reader checks (one line if newer)
