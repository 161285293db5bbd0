"""`beexbench sweep`: train once, measure every (target, model, seed) cell, locally or on Ray.

The local executor is tested without Ray (its import is blocked); the Ray tests start a
local Ray instance of 2 CPUs that offers the cpu target and skip when the ray extra is
not installed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest
from conftest import one_line

from beexbench.cli.main import main
from beexbench.core.errors import UsageError
from beexbench.measure import catalog as M
from beexbench.sweep.cells import KILL_HOOK
from beexbench.sweep.tarball import pack_dir, unpack_dir

MODELS = ("fp-transformer", "beexformer")
SEEDS = (0, 1)
FAST = ["--models", ",".join(MODELS), "--seeds", ",".join(map(str, SEEDS)),
        "--dataset", "synthetic-2", "--preset", "tiny", "--warmup", "1", "--min-queries", "3",
        "--min-seconds", "0", "--batch-size", "16", "--threads", "1", "--no-energy"]
SWEEP_TIMEOUT_S = 900  # a sweep that does not end by then has hung


def rows_of(run: Path) -> list[dict[str, str]]:
    with (run / "results.csv").open() as fh:
        return list(csv.DictReader(fh))


def exact_rows(sweep: Path, target: str = "cpu") -> set[tuple]:
    """Structural and learned rows of every cell of `target`: what the same checkpoints
    must reproduce on any executor (latency, memory and energy are left out)."""
    out = set()
    for seed in SEEDS:
        for r in rows_of(sweep / target / f"seed-{seed}"):
            metric = M.lookup(r["metric"])
            if metric is not None and metric.gate in (M.STRUCTURAL, M.LEARNED):
                out.add((r["model"], r["seed"], r["policy"], r["runtime"], r["metric"],
                         r["stat"], r["value"]))
    return out


def status(sweep: Path) -> dict:
    return json.loads((sweep / "status.json").read_text())


def trained(sweep: Path) -> list[str]:
    return sorted(k for k, v in status(sweep)["trainings"].items() if v.get("trained"))


def assert_every_cell(sweep: Path, target: str = "cpu") -> None:
    for seed in SEEDS:
        run = sweep / target / f"seed-{seed}"
        done = json.loads((run / "progress.json").read_text())["done"]
        assert sorted(done) == sorted(f"{m}@seed-{seed}" for m in MODELS)
        rows = rows_of(run)
        for model in MODELS:
            mine = [r for r in rows if r["model"] == model]
            assert mine and all(r["seed"] == str(seed) and r["target"] == target
                                for r in mine)
            assert {M.ACC_POLICY.name, M.MODEL_BYTES.name, M.LATENCY_MS.name} <= {
                r["metric"] for r in mine}
            assert (run / "predictions" / f"{model}.csv").is_file()
        # one run id per run directory, the one its config.json names
        assert {r["run_id"] for r in rows} == {
            json.loads((run / "config.json").read_text())["run_id"]}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory):
    """A checkpoint cache of this module's own, so every training here is counted."""
    path = tmp_path_factory.mktemp("sweep-checkpoints")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BEEXBENCH_CHECKPOINTS", str(path))
        yield path


@pytest.fixture(scope="module")
def local_sweep(cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local") / "sweep"
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "ray", None)  # the local executor must not need ray
        assert main(["-q", "sweep", *FAST, "--out", str(out)]) == 0
    return out


# -- local executor ---------------------------------------------------------------------
def test_local_sweep_trains_each_checkpoint_once_and_fills_every_cell(local_sweep):
    assert trained(local_sweep) == sorted(f"{m}/seed-{s}" for m in MODELS for s in SEEDS)
    assert_every_cell(local_sweep)
    sweep = json.loads((local_sweep / "sweep.json").read_text())
    assert sweep["format"] == "beexbench-sweep/1"
    assert len(sweep["plan"]["cells"]) == len(MODELS) * len(SEEDS)


def test_report_reads_a_sweep_targets_side_by_side_seeds_aggregated(local_sweep, tmp_path):
    sweep = tmp_path / "sweep"
    shutil.copytree(local_sweep, sweep)
    # The same cells again as if a second target had measured them.
    for seed in SEEDS:
        arm = sweep / "arm" / f"seed-{seed}"
        shutil.copytree(sweep / "cpu" / f"seed-{seed}", arm)
        rows = rows_of(arm)
        for r in rows:
            r["target"] = "arm"
        with (arm / "results.csv").open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    out = tmp_path / "report"
    assert main(["-q", "report", str(sweep), "--out", str(out)]) == 0
    tidy = list(csv.DictReader(io.StringIO((out / "tidy.csv").read_text())))
    assert len(tidy) == sum(len(rows_of(sweep / t / f"seed-{s}"))
                            for t in ("cpu", "arm") for s in SEEDS)
    assert {(r["target"], r["seed"]) for r in tidy} == {
        (t, str(s)) for t in ("cpu", "arm") for s in SEEDS}
    text = (out / "report.md").read_text()
    seeds = text[text.index("## Across seeds"):]
    assert "| beexformer | beex-entropy-drop | cpu | fake-quant | 0, 1 |" in seeds
    section = text[text.index("## Across targets"):]
    section = section[:section.index("\n## ", 1)]
    assert " on arm" in section and " on cpu" in section
    lines = [line for line in section.splitlines()
             if line.startswith("| beexformer | beex-entropy-drop")]
    assert len(lines) == 1 and "(2 seeds)" in lines[0]


def test_killed_local_sweep_resumes_without_rerunning_finished_cells(local_sweep, cache,
                                                                    tmp_path):
    out = tmp_path / "sweep"
    marker = tmp_path / "killed"
    env = {**os.environ, "BEEXBENCH_CHECKPOINTS": str(cache),
           KILL_HOOK: f"cpu/beexformer/seed-0={marker}"}
    argv = [sys.executable, "-m", "beexbench", "-q", "sweep", *FAST, "--out", str(out)]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True,
                          timeout=SWEEP_TIMEOUT_S)
    assert proc.returncode != 0 and marker.exists()
    before = json.loads((out / "cpu" / "seed-0" / "progress.json").read_text())["done"]
    assert before == ["fp-transformer@seed-0"]  # the killed cell left no rows behind
    assert {r["model"] for r in rows_of(out / "cpu" / "seed-0")} == {"fp-transformer"}
    first = (out / "cpu" / "seed-0" / "results.csv").read_text()
    proc = subprocess.run([*argv, "--resume"], env=env, capture_output=True, text=True,
                          timeout=SWEEP_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    cells = status(out)["cells"]
    assert cells["cpu/beexformer/seed-0"]["attempts"] == 2
    assert cells["cpu/fp-transformer/seed-0"]["attempts"] == 1  # never rerun
    assert (out / "cpu" / "seed-0" / "results.csv").read_text().startswith(first)
    assert trained(out) == []  # the module's cache already held every checkpoint
    assert_every_cell(out)
    assert exact_rows(out) == exact_rows(local_sweep)


def test_unavailable_target_is_reported_not_fatal(local_sweep, tmp_path, capsys):
    out = tmp_path / "sweep"
    # No CUDA device in this torch build: every cuda cell is missing, named, exit 1.
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    code = main(["-q", "sweep", *FAST, "--targets", "cpu,cuda", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("cuda/") == len(MODELS) * len(SEEDS) and "target cuda" in err
    assert_every_cell(out)
    assert {v["state"] for k, v in status(out)["cells"].items() if k.startswith("cuda/")} \
        == {"unschedulable"}


def test_existing_sweep_needs_resume_and_the_same_config(local_sweep, capsys):
    before = (local_sweep / "sweep.json").read_text()
    assert main(["-q", "sweep", *FAST, "--out", str(local_sweep)]) == 2
    assert "--resume" in capsys.readouterr().err
    other = ["--models", "beexformer", *FAST[2:]]
    assert main(["-q", "sweep", *other, "--out", str(local_sweep), "--resume"]) == 2
    assert "another config" in capsys.readouterr().err
    assert (local_sweep / "sweep.json").read_text() == before
    # Resumed with the same arguments: nothing left to do, nothing trained.
    assert main(["-q", "sweep", *FAST, "--out", str(local_sweep), "--resume"]) == 0
    assert_every_cell(local_sweep)


@pytest.mark.parametrize("name, damage", [
    ("sweep.json", b"{not json"),
    ("status.json", b"\xff\xfe"),
    ("cpu/seed-0/progress.json", b'{"done": 3}'),
])
def test_a_damaged_sweep_file_is_one_line_and_left_as_it_is(local_sweep, tmp_path, capsys,
                                                            name, damage):
    sweep = tmp_path / "sweep"
    shutil.copytree(local_sweep, sweep)
    (sweep / name).write_bytes(damage)
    assert main(["-q", "sweep", *FAST, "--out", str(sweep), "--resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and Path(name).name in err[0] and "Traceback" not in err[0]
    assert (sweep / name).read_bytes() == damage


@pytest.mark.parametrize("argv, needle", [
    (["--targets", "cpu,nope"], "nope"),
    (["--targets", ","], "--targets"),
    (["--address", "127.0.0.1:1"], "--executor ray"),
    (["--retries", "-1"], "--retries"),
])
def test_bad_sweep_input_is_one_line_exit_2(tmp_path, capsys, argv, needle):
    out = tmp_path / "sweep"
    assert main(["-q", "sweep", *FAST, *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and needle in err
    assert not out.exists()


def test_missing_ray_extra_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    out = tmp_path / "sweep"
    assert main(["-q", "sweep", *FAST, "--executor", "ray", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "beexbench[ray]" in err
    assert not out.exists()


def test_checkpoint_shipped_as_bytes_loads_the_same(local_sweep, cache, tmp_path):
    from beexbench.train.checkpoint import load_checkpoint

    original = load_checkpoint(next(p for p in sorted(cache.iterdir()) if p.is_dir()))
    copy = load_checkpoint(unpack_dir(pack_dir(original.path), tmp_path / original.path.name))
    assert copy.meta == original.meta
    for name, tensor in original.model.state_dict().items():
        assert copy.model.state_dict()[name].equal(tensor)


def test_a_shipped_directory_cannot_write_outside_its_destination(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("../escaped")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(UsageError, match="escaped"):
        unpack_dir(buf.getvalue(), tmp_path / "dest")
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "dest").exists()


# -- Ray executor -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A local Ray instance with 2 CPUs offering the cpu target, whose workers keep a
    checkpoint cache apart from the driver's and kill the first attempt of one cell."""
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    if ray.is_initialized():
        pytest.skip("a Ray instance is already running in this process")
    base = tmp_path_factory.mktemp("ray")
    marker = base / "killed"
    ray.init(num_cpus=2, include_dashboard=False,
             resources={"beexbench/cpu": 1, "beexbench/measure": 1},
             log_to_driver=False, runtime_env={"env_vars": {
                 "BEEXBENCH_CHECKPOINTS": str(base / "worker-checkpoints"),
                 KILL_HOOK: f"cpu/beexformer/seed-1={marker}"}})
    try:
        yield base, marker
    finally:
        ray.shutdown()


def _run_in_thread(argv: list[str], timeout_s: float = SWEEP_TIMEOUT_S) -> int:
    """main(argv) with a deadline: a sweep that hangs fails the test instead."""
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(main(argv)), daemon=True)
    thread.start()
    thread.join(timeout_s)
    assert not thread.is_alive(), f"sweep did not finish in {timeout_s} s"
    return result[0]


@pytest.fixture(scope="module")
def ray_sweep(ray_cluster, tmp_path_factory: pytest.TempPathFactory):
    """2 models x 2 seeds on targets cpu (offered) and arm (offered by no node)."""
    base, marker = ray_cluster
    driver_cache = base / "driver-checkpoints"
    out = base / "sweep"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BEEXBENCH_CHECKPOINTS", str(driver_cache))
        capture = io.StringIO()
        mp.setattr(sys, "stderr", capture)
        code = _run_in_thread(["-q", "sweep", *FAST, "--targets", "cpu,arm",
                               "--executor", "ray", "--out", str(out)])
    return out, code, capture.getvalue(), marker, driver_cache


def test_ray_sweep_trains_each_checkpoint_once_and_fills_every_cell(ray_sweep):
    out, code, _, _, _ = ray_sweep
    assert code == 1  # the arm cells are missing
    assert trained(out) == sorted(f"{m}/seed-{s}" for m in MODELS for s in SEEDS)
    assert_every_cell(out)


def test_ray_retries_a_killed_cell(ray_sweep):
    out, _, _, marker, _ = ray_sweep
    assert marker.exists(), "the first attempt of the cell should have been killed"
    assert status(out)["cells"]["cpu/beexformer/seed-1"]["state"] == "done"
    assert (out / "cpu" / "seed-1" / "cells" / "beexformer.json").is_file()


def test_ray_unschedulable_target_is_named_without_hanging(ray_sweep):
    out, _, err, _, _ = ray_sweep
    arm = {k: v for k, v in status(out)["cells"].items() if k.startswith("arm/")}
    assert len(arm) == len(MODELS) * len(SEEDS)
    assert all(v["state"] == "unschedulable" and "beexbench/arm" in v["reason"]
               for v in arm.values())
    assert err.count("arm/") == len(arm) and "target arm" in err
    assert not (out / "arm").exists()


def test_ray_sweep_of_only_unoffered_targets_ends_at_once(ray_cluster, tmp_path, capsys):
    out = tmp_path / "sweep"
    code = _run_in_thread(["-q", "sweep", *FAST, "--targets", "arm", "--executor", "ray",
                           "--out", str(out)], timeout_s=120)
    err = capsys.readouterr().err
    assert code == 1 and err.count("target arm") == len(MODELS) * len(SEEDS)
    assert status(out)["trainings"] == {}  # nothing trained for cells that cannot run


def test_ray_results_equal_local_on_the_same_checkpoints(ray_sweep, tmp_path):
    out, _, _, _, driver_cache = ray_sweep
    local = tmp_path / "local"
    with pytest.MonkeyPatch.context() as mp:
        # The driver's cache holds only the checkpoints shipped back from the workers.
        mp.setenv("BEEXBENCH_CHECKPOINTS", str(driver_cache))
        assert main(["-q", "sweep", *FAST, "--out", str(local)]) == 0
    assert trained(local) == []  # nothing trained again: the shipped copies are complete
    assert exact_rows(local) == exact_rows(out)
    for seed in SEEDS:
        for model in MODELS:
            rel = Path("cpu") / f"seed-{seed}" / "predictions" / f"{model}.csv"
            assert (local / rel).read_text() == (out / rel).read_text()


def test_unreachable_address_is_one_line_exit_2(ray_cluster, tmp_path, capsys):
    out = tmp_path / "sweep"
    code = _run_in_thread(["-q", "sweep", *FAST, "--executor", "ray",
                           "--address", "127.0.0.1:1", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and one_line(err) and "127.0.0.1:1" in err
    assert not out.exists()


PLUGIN = '''
from beexbench.models.registry import ModelSpec, register_model

register_model(ModelSpec("plugin-fp", overrides={}, policies=("final",),
                         description="a plugin's fp32 model", family="fp"))
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """PLUGIN as a file, with the registries and the loaded plugins restored afterwards."""
    from beexbench.core import plugins
    from beexbench.models.registry import MODELS, model_names

    model_names()  # the built-ins in, then a copy the plugin may add to
    monkeypatch.setattr(MODELS, "_items", dict(MODELS._items))
    monkeypatch.setattr(plugins, "_loaded", [])
    # A fresh import, so that it registers into the copies above.
    monkeypatch.delitem(sys.modules, "beexbench_plugin_my_plugin", raising=False)
    path = tmp_path / "my_plugin.py"
    path.write_text(PLUGIN)
    return path


def test_ray_workers_import_the_drivers_plugins(ray_cluster, plugin, tmp_path, monkeypatch):
    """A model registered by --include trains and is measured in Ray's worker processes,
    which start without the driver's imports."""
    base, _ = ray_cluster
    monkeypatch.setenv("BEEXBENCH_CHECKPOINTS", str(base / "plugin-driver-checkpoints"))
    out = tmp_path / "sweep"
    fast = list(FAST)
    fast[fast.index("--models") + 1] = "plugin-fp"
    fast[fast.index("--seeds") + 1] = "0"
    assert _run_in_thread(["-q", "--include", str(plugin), "sweep", *fast,
                           "--executor", "ray", "--out", str(out)]) == 0
    assert status(out)["cells"]["cpu/plugin-fp/seed-0"]["state"] == "done"
    assert {r["model"] for r in rows_of(out / "cpu" / "seed-0")} == {"plugin-fp"}


def test_ray_cell_waits_for_its_nodes_measuring_slot(ray_sweep, tmp_path,
                                                      monkeypatch):
    """While something else holds the node's beexbench/measure slot (another target's cell
    on the same node), a measuring cell does not start, though CPUs are free."""
    import ray

    marker = tmp_path / "holding"

    @ray.remote(num_cpus=0, resources={"beexbench/measure": 1})
    def hold(path: str, seconds: float) -> float:
        import time
        from pathlib import Path

        Path(path).write_text("")
        time.sleep(seconds)
        return time.time()

    held = hold.remote(str(marker), 8.0)
    while not marker.exists():
        threading.Event().wait(0.1)
    # The checkpoint is in the driver's cache from ray_sweep: nothing trains first.
    monkeypatch.setenv("BEEXBENCH_CHECKPOINTS", str(ray_sweep[4]))
    fast = list(FAST)
    fast[fast.index("--models") + 1] = "fp-transformer"
    fast[fast.index("--seeds") + 1] = "0"
    out = tmp_path / "sweep"
    assert _run_in_thread(["-q", "sweep", *fast, "--executor", "ray", "--out", str(out)]) == 0
    released = ray.get(held)
    cell = json.loads((out / "cpu" / "seed-0" / "cells" / "fp-transformer.json").read_text())
    assert cell["began"] >= released


def _copy_sweep(local_sweep: Path, tmp_path: Path) -> Path:
    sweep = tmp_path / "sweep"
    shutil.copytree(local_sweep, sweep)
    return sweep


def test_resume_measures_again_a_cell_whose_rows_were_lost(local_sweep, tmp_path, capsys):
    """A finished cell's results.csv cut to its header: progress.json still says done, but
    the resume checks what bench's resume checks, and measures that cell again."""
    sweep = _copy_sweep(local_sweep, tmp_path)
    results = sweep / "cpu" / "seed-1" / "results.csv"
    results.write_text(results.read_text().splitlines()[0] + "\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "ray", None)
        assert main(["sweep", *FAST, "--out", str(sweep), "--resume"]) == 0
    assert "measuring again" in capsys.readouterr().err
    assert_every_cell(sweep)
    cells = status(sweep)["cells"]
    assert {cells[f"cpu/{m}/seed-1"]["attempts"] for m in MODELS} == {2}
    assert {cells[f"cpu/{m}/seed-0"]["attempts"] for m in MODELS} == {1}
    assert all(c["state"] == "done" for c in cells.values())


def test_an_unknown_cell_state_is_one_line(local_sweep, tmp_path, capsys):
    sweep = _copy_sweep(local_sweep, tmp_path)
    data = status(sweep)
    data["cells"]["cpu/beexformer/seed-0"]["state"] = "exploded"
    (sweep / "status.json").write_text(json.dumps(data))
    assert main(["-q", "sweep", *FAST, "--out", str(sweep), "--resume"]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "exploded" in err and "status.json" in err


def test_status_follows_the_run_directories_and_is_written_again(local_sweep, tmp_path):
    """Cells set back to scheduled, then status.json deleted: the resume finds every cell
    done in its run directory, says so in status.json, and writes status.json again."""
    sweep = _copy_sweep(local_sweep, tmp_path)
    data = status(sweep)
    for cell in data["cells"].values():
        cell["state"] = "scheduled"
    (sweep / "status.json").write_text(json.dumps(data))
    assert main(["-q", "sweep", *FAST, "--out", str(sweep), "--resume"]) == 0
    assert {c["state"] for c in status(sweep)["cells"].values()} == {"done"}
    (sweep / "status.json").unlink()
    assert main(["-q", "sweep", *FAST, "--out", str(sweep), "--resume"]) == 0
    assert {c["state"] for c in status(sweep)["cells"].values()} == {"done"}
    assert len(status(sweep)["cells"]) == len(MODELS) * len(SEEDS)


def test_a_killed_cell_leaves_no_folder_the_next_cell_keeps(tmp_path, monkeypatch):
    """A cell's private run folder is named by its process; the next cell removes the one
    a dead process left."""
    import tempfile

    from beexbench.sweep.cells import _cell_folder

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    root = tmp_path / f"beexbench-cells-{os.getuid()}"
    root.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    orphan = root / f".cell.{dead}-abc.tmp"
    (orphan / "run").mkdir(parents=True)
    with _cell_folder() as folder:
        assert folder.parent == root and not orphan.exists()
    assert list(root.iterdir()) == []
