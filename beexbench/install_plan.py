"""Which torch a nox session installs on a platform: the CPU pin, or the interpreter's own.

A pure decision, given the platform's facts, so it can be checked for platforms this
machine is not (aarch64 boards). The noxfile imports it; it imports neither torch nor
nox. The pin and the platforms it is valid on live in `constraints-cpu.txt`, as a
requirement with an environment marker: where the marker is false there is no
CPU-only torch of the pinned version to install, and a session that let pip pick a
torch would get a multi-GB CUDA build (on aarch64 the only torch 2.13.0 wheel on the
package index is one), so it reuses the interpreter's torch instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement

DEFAULT_CONSTRAINTS = "constraints-cpu.txt"
CONSTRAINTS_ENV = "BEEXBENCH_CONSTRAINTS"
REUSE_ENV = "BEEXBENCH_REUSE_TORCH"

# platform.system() -> sys.platform, for the `sys_platform` marker
SYS_PLATFORM = {"Linux": "linux", "Darwin": "darwin", "Windows": "win32"}


@dataclass(frozen=True)
class PlatformFacts:
    """What the decision needs to know about a platform."""

    machine: str  # platform.machine(): x86_64, aarch64, arm64, AMD64
    system: str  # platform.system(): Linux, Darwin, Windows
    cpu_torch: str | None  # the CPU-only torch pin valid here (e.g. "torch==2.13.0+cpu")

    def describe(self) -> str:
        return f"{self.machine} {self.system}"


@dataclass(frozen=True)
class InstallPlan:
    """How a session gets torch: constrained by a file, or reused from the interpreter."""

    reuse_torch: bool
    constraints: str | None
    reason: str

    def pip_args(self, target: str) -> list[str]:
        """`pip install` arguments for the project (`target` is e.g. `.[test]`)."""
        if self.reuse_torch:
            return ["-e", target]
        assert self.constraints is not None
        return ["-c", self.constraints, "-e", target]

    def summary(self) -> str:
        """The one line a session prints at start."""
        if self.reuse_torch:
            how = "torch from the interpreter (venv with system site packages)"
        else:
            how = f"torch constrained by {self.constraints}"
        return f"beexbench install plan: {how}, because {self.reason}"


def marker_environment(machine: str, system: str) -> dict[str, str]:
    """This interpreter's marker environment, with the platform fields of another one."""
    env = dict(default_environment())
    env["platform_machine"] = machine
    env["platform_system"] = system
    env["sys_platform"] = SYS_PLATFORM.get(system, system.lower())
    env["os_name"] = "nt" if system == "Windows" else "posix"
    return env


def torch_pins(constraints_text: str) -> list[Requirement]:
    """The torch requirements of a constraints file (options and comments skipped)."""
    pins = []
    for raw in constraints_text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue  # pip reports a malformed line itself; it is not a torch pin to us
        if req.name.lower() == "torch":
            pins.append(req)
    return pins


def cpu_torch_for(machine: str, system: str, constraints_text: str) -> str | None:
    """The torch pin in `constraints_text` whose marker holds on this platform, or None."""
    env = marker_environment(machine, system)
    for req in torch_pins(constraints_text):
        if req.marker is None or req.marker.evaluate(env):
            return f"{req.name}{req.specifier}"
    return None


def facts_for(machine: str, system: str,
              constraints: Path | str = DEFAULT_CONSTRAINTS) -> PlatformFacts:
    """The facts of a platform, with the CPU pin read from the project's constraints file."""
    text = Path(constraints).read_text(encoding="utf-8")
    return PlatformFacts(machine, system, cpu_torch_for(machine, system, text))


def resolve(facts: PlatformFacts, env: Mapping[str, str],
            always_reuse: str | None = None) -> InstallPlan:
    """The install plan for a platform.

    `env` supplies the overrides (BEEXBENCH_REUSE_TORCH=1, BEEXBENCH_CONSTRAINTS=<file>);
    `always_reuse` names why a session reuses the interpreter's torch whatever the
    platform (GPU machines and boards carry their own builds).
    """
    if always_reuse:
        return InstallPlan(True, None, always_reuse)
    if env.get(REUSE_ENV) == "1":
        return InstallPlan(True, None, f"{REUSE_ENV}=1")
    if env.get(CONSTRAINTS_ENV):
        file = env[CONSTRAINTS_ENV]
        return InstallPlan(False, file, f"{CONSTRAINTS_ENV}={file}")
    if facts.cpu_torch is not None:
        return InstallPlan(False, DEFAULT_CONSTRAINTS,
                           f"{DEFAULT_CONSTRAINTS} pins the CPU build {facts.cpu_torch} "
                           f"on {facts.describe()}")
    return InstallPlan(True, None,
                       f"{DEFAULT_CONSTRAINTS} has no CPU-only torch for {facts.describe()}, "
                       "so pip is not left to pick one (on aarch64 Linux it takes a CUDA build)")
