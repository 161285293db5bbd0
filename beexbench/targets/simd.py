"""ARM SIMD features that the packed kernels can use, from cpuinfo Features."""

from __future__ import annotations

from beexbench.targets.cpuinfo import CpuInfo

# feature name -> the cpuinfo flags that announce it (aarch64 spelling, then 32-bit)
ARM_FEATURES: dict[str, tuple[str, ...]] = {
    "neon": ("asimd", "neon"),
    "dotprod": ("asimddp",),
    "fp16": ("asimdhp", "fphp"),
    "i8mm": ("i8mm",),
    "bf16": ("bf16",),
    "sve": ("sve",),
    "sve2": ("sve2",),
}


def arm_simd(info: CpuInfo) -> dict[str, bool]:
    return {name: any(f in info.flags for f in flags) for name, flags in ARM_FEATURES.items()}
