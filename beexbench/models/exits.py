"""Exit policies: when to stop computing, and which exit's prediction to use.

Every policy sees, after each exit, the history of that sample's normalized entropies
H_1..H_n (entropy of the exit's softmax divided by log C, in [0, 1]) and argmax
predictions, and answers (stop?, which exit to predict with). The same `decide` serves
real early-exit inference (block by block) and offline simulation over all exits
(calibration sweeps, recomputation from a predictions file), so both agree.

`rule()` gives the same decision for one sample on plain numbers (float32 scalars and
ints, as a deployment's loop holds them), with no tensor work per query: the lean path
of runtimes that decide exits between stages (ONNX Runtime). Built-in policies write
it out; a plugin policy that does not gets a wrapper around `decide`. The packed
runtime's native engine decides the built-in policies in C++ (ExitRule in
beexbench/runtimes/packed/model.cpp), tested equal to `decide`: change both together.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from beexbench.core.errors import UsageError
from beexbench.core.registry import Registry

# torch is imported where tensors are made, so that `beexbench list policies` and the
# CLI's help read the registry without loading it.
if TYPE_CHECKING:
    import torch


# One sample's exits so far (normalized entropies, argmax predictions) -> (stop, use).
Rule = Callable[[Sequence[float], Sequence[int]], tuple[bool, int]]


def _float32() -> type:
    """numpy's float32: a value as torch compares a float32 tensor with it. Bound once
    per rule, so the rules' per-query work does no import."""
    import numpy as np

    return np.float32


def normalized_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of softmax(logits) over the last dim, divided by log(C).

    The native engine's ExitHead::predict (beexbench/runtimes/packed/block.cpp) computes the same,
    operation for operation: change both together."""
    import torch

    logp = torch.log_softmax(logits.float(), dim=-1)
    h = -(logp.exp() * logp).sum(-1)
    return h / math.log(logits.shape[-1])


class ExitPolicy(ABC):
    param_name: str = ""
    grid: tuple[float, ...] = ()
    # Thresholds beyond the range of what they compare with (normalized entropy in
    # [0, 1], its relative drop up to 1) are odd but mean something: always or never
    # stop. So a threshold need only be finite; a count has bounds.
    param_range: tuple[float, float] = (-math.inf, math.inf)
    integer_param: bool = False

    def __init__(self, param: float | None = None, origin: str | None = None) -> None:
        self.param = self.default if param is None else self.checked(param, origin)

    @classmethod
    def checked(cls, param: float, origin: str | None = None) -> float:
        """The parameter as a float, or UsageError naming `origin` (where it came from)."""
        lo, hi = cls.param_range
        try:
            value = float(param)
        except (OverflowError, TypeError, ValueError):
            value = math.nan
        bad = not math.isfinite(value) or not lo <= value <= hi
        if cls.integer_param and not bad:
            bad = value != int(value)
        if bad:
            kind = "an integer" if cls.integer_param else "a finite number"
            if math.isfinite(lo) or math.isfinite(hi):
                kind += f" between {lo:g} and {hi:g}"
            place = origin or f"policy {cls.registered_name}"  # type: ignore[attr-defined]
            raise UsageError(f"{place}: {cls.param_name or 'parameter'} must be {kind}, "
                             f"got {param}")
        return value

    @property
    def default(self) -> float:
        return self.grid[len(self.grid) // 2] if self.grid else 0.0

    @abstractmethod
    def decide(
        self, entropy: torch.Tensor, preds: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """entropy, preds: [n_seen, B]. Returns stop [B] (bool), use [B] (0-based exit)."""

    def rule(self) -> Rule:
        """This policy's decision for one sample on plain numbers: (entropies, preds) of the
        exits seen so far -> (stop, 0-based exit to predict with). Equal to `decide`."""
        import torch

        def decide_one(entropy: Sequence[float], preds: Sequence[int]) -> tuple[bool, int]:
            stop, use = self.decide(torch.tensor(entropy, dtype=torch.float32)[:, None],
                                    torch.tensor(preds, dtype=torch.long)[:, None])
            return bool(stop[0]), int(use[0])

        return decide_one

    def describe(self) -> str:
        return f"{self.name}({self.param_name}={self.param:g})" if self.param_name else self.name

    @property
    def name(self) -> str:
        return getattr(type(self), "registered_name", type(self).__name__)

    @property
    def label(self) -> str:
        """The `policy` column of its rows and the suffix of its files."""
        return self.name


def _name_policy(name: str, cls: type[ExitPolicy]) -> None:
    # `policy.name` reads this, so a class registered through the public
    # `POLICIES.register` (a plugin's) is named as well as a built-in one.
    cls.registered_name = name  # type: ignore[attr-defined]


POLICIES: Registry[type[ExitPolicy]] = Registry("policy", entry_points="beexbench.policies",
                                                on_register=_name_policy)
_register = POLICIES.register


def _continue(entropy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    n, b = entropy.shape
    return torch.zeros(b, dtype=torch.bool), torch.full((b,), n - 1, dtype=torch.long)


@_register("final")
class FinalExit(ExitPolicy):
    """Never exit early: the last exit predicts."""

    def decide(self, entropy, preds):
        return _continue(entropy)

    def rule(self) -> Rule:
        return lambda entropy, preds: (False, len(entropy) - 1)


@_register("beex-entropy-drop")
class EntropyDrop(ExitPolicy):
    """From the 2nd exit on, stop at the first i with (H_{i-1} - H_i) / H_{i-1} < delta.

    The entropy has stopped falling by at least the fraction delta (or is rising):
    predict with exit i-1 when H_i > H_{i-1}, else with exit i.
    """

    param_name = "delta"
    # Both ends mean something: delta 1 stops every sample at the 2nd exit (any fall is
    # less than the whole entropy), and a negative delta waits for a rise of that
    # fraction, running samples deeper. A calibration at either end is reported as such.
    grid = (-0.5, -0.2, -0.1, -0.05, 0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5,
            0.7, 1.0)

    def decide(self, entropy, preds):
        stop, use = _continue(entropy)
        n = entropy.shape[0]
        if n < 2:
            return stop, use
        prev, cur = entropy[n - 2], entropy[n - 1]
        drop = (prev - cur) / prev.clamp_min(1e-12)
        stop = drop < self.param
        use = (n - 1) - (cur > prev).long()  # exit i-1 where the entropy rose
        return stop, use

    def rule(self) -> Rule:
        # float32 throughout, as decide computes on float32 tensors.
        f32 = _float32()
        delta, tiny = f32(self.param), f32(1e-12)

        def decide_one(entropy, preds):
            n = len(entropy)
            if n < 2:
                return False, n - 1
            prev, cur = f32(entropy[n - 2]), f32(entropy[n - 1])
            drop = (prev - cur) / max(prev, tiny)
            return bool(drop < delta), n - 2 if cur > prev else n - 1

        return decide_one


@_register("deebert-entropy")
class EntropyThreshold(ExitPolicy):
    """DeeBERT: stop at the first exit whose normalized entropy is below tau."""

    param_name = "tau"
    # From "never before the last exit" (0) to "always at the first" (1, the largest
    # normalized entropy).
    grid = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)

    def decide(self, entropy, preds):
        _, use = _continue(entropy)
        return entropy[-1] < self.param, use

    def rule(self) -> Rule:
        f32 = _float32()
        tau = f32(self.param)
        return lambda entropy, preds: (bool(f32(entropy[-1]) < tau), len(entropy) - 1)


@_register("pabee-patience")
class Patience(ExitPolicy):
    """PABEE: stop when the argmax has stayed the same for t consecutive exits."""

    param_name = "t"
    grid = (1.0, 2.0, 3.0, 4.0, 5.0)
    param_range = (1.0, 1024.0)
    integer_param = True

    def decide(self, entropy, preds):
        never, use = _continue(entropy)
        t = int(self.param)
        if preds.shape[0] < t + 1:
            return never, use
        recent = preds[-(t + 1):]
        return (recent == recent[-1]).all(dim=0), use

    def rule(self) -> Rule:
        t = int(self.param)

        def decide_one(entropy, preds):
            n = len(preds)
            if n < t + 1:
                return False, n - 1
            last = preds[-1]
            return all(p == last for p in preds[-(t + 1):]), n - 1

        return decide_one


@_register("fixed-depth")
class FixedDepth(ExitPolicy):
    """The static baseline: always stop at the k-th exit (ELUE's fixed-depth truncation).

    Never calibrated: the bench measures it at the depths the calibrated policies reach
    on average, so each policy is set beside the truncation of the same expected cost."""

    param_name = "k"
    param_range = (1.0, 1024.0)
    integer_param = True

    @property
    def default(self) -> float:
        return 1.0

    @property
    def label(self) -> str:
        return f"{self.name}-{int(self.param)}"

    def decide(self, entropy, preds):
        import torch

        n, b = entropy.shape
        use = torch.full((b,), n - 1, dtype=torch.long)
        return torch.full((b,), n >= int(self.param), dtype=torch.bool), use

    def rule(self) -> Rule:
        k = int(self.param)
        return lambda entropy, preds: (len(entropy) >= k, len(entropy) - 1)


FIXED_DEPTH = "fixed-depth"


def make_policy(name: str, param: float | None = None, origin: str | None = None) -> ExitPolicy:
    """The named policy; a parameter outside its range is a UsageError naming `origin`."""
    return POLICIES.get(name)(param, origin)


@dataclass(frozen=True)
class PolicyOutcome:
    """Per sample: the exit where computation stopped and the exit that predicted (0-based)."""

    stop_index: torch.Tensor
    use_index: torch.Tensor


def simulate(policy: ExitPolicy, entropy: torch.Tensor, preds: torch.Tensor) -> PolicyOutcome:
    """Run the policy over precomputed exits [n_exits, B], as inference would."""
    import torch

    n, b = entropy.shape
    stop_index = torch.full((b,), n - 1, dtype=torch.long)
    use_index = torch.full((b,), n - 1, dtype=torch.long)
    done = torch.zeros(b, dtype=torch.bool)
    for i in range(n):
        stop, use = policy.decide(entropy[: i + 1], preds[: i + 1])
        if i == n - 1:  # the last exit stops everyone still running, with the rule's choice
            stop = torch.ones_like(stop)
        newly = stop & ~done
        stop_index[newly] = i
        use_index[newly] = use[newly]
        done |= stop
    return PolicyOutcome(stop_index, use_index)
