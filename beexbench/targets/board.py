"""Which ARM machine this is: Raspberry Pi 4/5, Jetson Orin/Xavier/Nano, or generic.

Rule for "is this ARM": the sysroot's /proc/cpuinfo describes an ARM CPU (only ARM
kernels print "CPU architecture", "CPU part" or asimd/neon Features); when reads go
to the real root, platform.machine() being aarch64/arm* also counts. A fake tree
therefore decides alone, whatever machine the tests run on.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import Any

from beexbench.targets.cpuinfo import CpuInfo, read_cpuinfo
from beexbench.targets.probe import Probe
from beexbench.targets.sysroot import is_real_root, read_text

ARM_MACHINES = ("aarch64", "arm64", "armv8l", "armv7l", "armv6l")


@dataclass(frozen=True)
class Board:
    kind: str  # raspberry-pi-5, raspberry-pi-4, jetson-orin, ..., generic-aarch64
    model: str | None  # the vendor's model string (device tree, or cpuinfo "Model")
    soc: str | None  # SoC from the device-tree compatible list, or cpuinfo "Hardware"

    @property
    def is_jetson(self) -> bool:
        return self.kind.startswith("jetson")

    @property
    def is_raspberry_pi(self) -> bool:
        return self.kind.startswith("raspberry-pi")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "model": self.model, "soc": self.soc}


def arm_detection() -> Probe:
    """What says this is ARM (value), or why it is not (reason)."""
    info = read_cpuinfo()
    if info.ok and info.value.is_arm:
        return Probe("/proc/cpuinfo describes an ARM CPU")
    machine = platform.machine().lower()
    if is_real_root() and machine.startswith(ARM_MACHINES):
        return Probe(f"platform.machine() is {machine}")
    if info.ok:
        return Probe.missing(f"not an ARM machine ({platform.machine() or 'unknown'}; "
                             "/proc/cpuinfo has no ARM CPU lines)")
    return Probe.missing(f"not an ARM machine ({info.reason})")


def compatible() -> list[str]:
    """The device-tree compatible list, most specific first (empty when absent)."""
    probe = read_text("/proc/device-tree/compatible")
    return [c for c in probe.value.split("\x00") if c] if probe.ok else []


def classify(model: str | None, compat: list[str], info: CpuInfo | None) -> Board:
    text = (model or (info.board_model if info else None) or "").strip()
    lower = text.lower()
    soc = next((c for c in reversed(compat) if "tegra" in c or "bcm" in c), None)
    soc = soc or (compat[-1] if compat else None) or (info.hardware if info else None)
    tegra = " ".join(c for c in compat if "tegra" in c)

    if "raspberry pi 5" in lower:
        kind = "raspberry-pi-5"
    elif "raspberry pi 4" in lower or "compute module 4" in lower:
        kind = "raspberry-pi-4"  # also the Pi 400 and CM4 (BCM2711)
    elif "raspberry pi" in lower:
        kind = "raspberry-pi"
    elif "jetson" in lower or tegra:
        # "Jetson Orin Nano" is an Orin: look for the generation before "nano"
        if "orin" in lower or "tegra234" in tegra:
            kind = "jetson-orin"
        elif "xavier" in lower or "tegra194" in tegra:
            kind = "jetson-xavier"
        elif "nano" in lower or "tegra210" in tegra:
            kind = "jetson-nano"
        else:
            kind = "jetson"
    elif info is not None and (info.architecture == "8" or "asimd" in info.flags):
        kind = "generic-aarch64"
    elif is_real_root() and platform.machine().lower() in ("aarch64", "arm64"):
        kind = "generic-aarch64"
    else:
        kind = "generic-arm"
    return Board(kind=kind, model=text or None, soc=soc)


def detect_board() -> Board:
    """The board behind the sysroot (device-tree model first, then /proc/cpuinfo)."""
    model = read_text("/proc/device-tree/model")
    info = read_cpuinfo()
    return classify(model.value if model.ok else None, compatible(),
                    info.value if info.ok else None)
