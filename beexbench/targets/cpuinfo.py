"""Parse /proc/cpuinfo on x86 and ARM (flags, Features, CPU part, Hardware, Model)."""

from __future__ import annotations

from dataclasses import dataclass

from beexbench.targets.probe import Probe
from beexbench.targets.sysroot import read_text

# SIMD flags that matter for binary (popcount / xnor) and int8 kernels.
FLAGS_OF_INTEREST: tuple[str, ...] = (
    "sse4_2", "popcnt", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl",
    "avx512_vnni", "avx512_bitalg", "avx512_vpopcntdq", "avx_vnni", "amx_int8",
    "neon", "asimd", "asimddp", "asimdhp", "i8mm", "bf16", "sve", "sve2",
)

# (implementer, part) -> core name, for the cores found on common boards and servers.
ARM_PARTS: dict[tuple[str, str], str] = {
    ("0x41", "0xd03"): "Cortex-A53",
    ("0x41", "0xd04"): "Cortex-A35",
    ("0x41", "0xd05"): "Cortex-A55",
    ("0x41", "0xd07"): "Cortex-A57",
    ("0x41", "0xd08"): "Cortex-A72",
    ("0x41", "0xd09"): "Cortex-A73",
    ("0x41", "0xd0a"): "Cortex-A75",
    ("0x41", "0xd0b"): "Cortex-A76",
    ("0x41", "0xd0c"): "Neoverse-N1",
    ("0x41", "0xd0d"): "Cortex-A77",
    ("0x41", "0xd40"): "Neoverse-V1",
    ("0x41", "0xd41"): "Cortex-A78",
    ("0x41", "0xd42"): "Cortex-A78AE",
    ("0x41", "0xd46"): "Cortex-A510",
    ("0x41", "0xd47"): "Cortex-A710",
    ("0x41", "0xd49"): "Neoverse-N2",
    ("0x41", "0xd4f"): "Neoverse-V2",
    ("0x4e", "0x004"): "NVIDIA Carmel",
}


@dataclass(frozen=True)
class CpuInfo:
    model_name: str | None  # x86 "model name" (ARM kernels rarely print one)
    flags: frozenset[str]  # x86 "flags" / ARM "Features", common to every core
    hardware: str | None  # ARM "Hardware" line (SoC family)
    board_model: str | None  # "Model" line that Raspberry Pi kernels add
    cores: tuple[str, ...]  # distinct ARM core names (or raw "impl/part")
    architecture: str | None  # ARM "CPU architecture" (8 for AArch64)
    processors: int

    @property
    def is_arm(self) -> bool:
        """The text describes an ARM CPU (only ARM kernels print these lines)."""
        return self.architecture is not None or bool(self.cores) or bool(
            self.flags & {"asimd", "neon"}
        )


def _blocks(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition(":")
        if sep:
            current[key.strip().lower()] = value.strip()
    if current:
        blocks.append(current)
    return blocks


def parse_cpuinfo(text: str) -> CpuInfo:
    blocks = _blocks(text)
    per_cpu = [b for b in blocks if "processor" in b and b["processor"].isdigit()]
    merged: dict[str, str] = {}
    for block in blocks:
        for key, value in block.items():
            merged.setdefault(key, value)

    flag_sets = [
        frozenset((b.get("flags") or b.get("features") or "").split()) for b in per_cpu
    ] or [frozenset((merged.get("flags") or merged.get("features") or "").split())]
    flags = frozenset.intersection(*flag_sets)

    cores: list[str] = []
    for block in per_cpu:
        part = block.get("cpu part")
        if part is None:
            continue
        impl = block.get("cpu implementer", "?").lower()
        name = ARM_PARTS.get((impl, part.lower()), f"{impl}/{part.lower()}")
        if name not in cores:
            cores.append(name)

    return CpuInfo(
        model_name=merged.get("model name") or None,
        flags=flags,
        hardware=merged.get("hardware") or None,
        board_model=merged.get("model") if not merged.get("model", "").isdigit() else None,
        cores=tuple(cores),
        architecture=merged.get("cpu architecture") or None,
        processors=len(per_cpu),
    )


def read_cpuinfo() -> Probe:
    """The sysroot's /proc/cpuinfo as a CpuInfo, or the reason it is unreadable."""
    probe = read_text("/proc/cpuinfo")
    if not probe.ok:
        return probe
    info = parse_cpuinfo(probe.value)
    if info.processors == 0 and not info.flags:
        return Probe.missing("/proc/cpuinfo has no processor entries")
    return Probe(info)


def flags_of_interest(info: CpuInfo) -> list[str]:
    return [flag for flag in FLAGS_OF_INTEREST if flag in info.flags]
