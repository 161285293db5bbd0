"""What a runtime is: how a trained model is deployed and run, and which models it runs.

A runtime is a `Runtime` subclass registered with `@RUNTIMES.register(name)`
(beexbench.runtimes.catalog); an installed package adds one through the
`beexbench.runtimes` entry-point group, a local plugin module by registering it when
imported (beexbench.core.plugins). Its `deploy` writes what the runtime runs from under
a run's artifacts folder and loads it back from there, so the object measured is the one
a deployment would load. Whatever the runtime, that object answers `model(ids)` (every
exit's logits) and `infer(ids, policy)`; one with a lean per-query loop of its own offers
`lean(policy)` too.

Runtime modules import nothing heavy at import time (`--help` lists the names without
torch); what they deploy with is imported inside `deploy`.
"""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    import torch

    from beexbench.models.exits import ExitPolicy
    from beexbench.models.transformer import EncoderClassifier, InferenceOutput, ModelConfig


class Runnable(Protocol):
    """What the benchmark calls on a deployed model."""

    exit_blocks: tuple[int, ...]

    def __call__(self, ids: torch.Tensor) -> torch.Tensor: ...

    def infer(self, ids: torch.Tensor, policy: ExitPolicy) -> InferenceOutput: ...

    def eval(self) -> Any: ...


@dataclass
class Deployment:
    """A deployed model and the bytes of the files it runs from."""

    model: Runnable
    artifact_bytes: int
    source: str  # how those bytes were taken: "artifact" (packed file), "onnx" (graphs)


def full_precision(cfg: ModelConfig) -> bool:
    """No binary weights, attention or embeddings: what fp32 graph runtimes run as it is."""
    return (cfg.weight_bits == 32 and cfg.attn_bits == 32 and not cfg.binary_embeddings
            and not cfg.binary_word_embedding)


class Runtime(ABC):
    """A deployment path. Subclasses set the class attributes and implement `deploy`."""

    name: ClassVar[str] = ""  # set by the registry
    description: ClassVar[str] = ""
    # Binary models run here as a deployment runs them (bit-packed), not as fp32 emulation:
    # only such a runtime's timings of a binary model say what binarization buys.
    deploys_binary: ClassVar[bool] = False
    full_precision_only: ClassVar[bool] = False
    cpu_only: ClassVar[bool] = False
    packages: ClassVar[tuple[str, ...]] = ()  # import names it needs
    extra: ClassVar[str] = ""  # the beexbench extra that installs them

    def applies(self, cfg: ModelConfig) -> bool:
        """Whether models of this config run here (only precision fields decide)."""
        return not self.full_precision_only or full_precision(cfg)

    def why_not(self) -> str:
        """Why a model it does not apply to is skipped."""
        return f"{self.name} runs full-precision models only"

    def unusable(self, device: str) -> str | None:
        """Why this runtime cannot run on a `device` type (cpu, cuda) here; None if it can."""
        if self.cpu_only and device != "cpu":
            return f"runtime {self.name} runs on the CPU; this target is a {device} device"
        missing = [p for p in self.packages if importlib.util.find_spec(p) is None]
        if missing:
            hint = f": pip install 'beexbench[{self.extra}]'" if self.extra else ""
            return (f"runtime {self.name} needs {' and '.join(missing)}, not installed"
                    + hint)
        return None

    def label(self) -> str:
        """The `runtime` column of its rows."""
        return self.name

    def policy_label(self, model: Runnable, policy: ExitPolicy) -> str:
        """The `runtime` column of one policy's rows (a runtime that runs some policies
        another way says so here)."""
        return self.label()

    @abstractmethod
    def deploy(self, model: EncoderClassifier, name: str, artifacts: Path,
               threads: int) -> Deployment:
        """Write what this runtime runs `model` from under `artifacts`; load it from there."""
