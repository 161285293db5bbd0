"""Run an exported model on ONNX Runtime with real early exits.

`OrtRuntime` offers what the harness calls on a torch model: `model(ids)` gives every
exit's logits ([n_exits, B, C], analysis mode) and `infer(ids, policy)` runs
early-exit inference, one stage graph at a time, asking the exit policy between
stages exactly as EncoderClassifier.infer does (same entropy function, same `decide`),
so with fp32 graphs the exits are those of the eager model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from beexbench.models.exits import ExitPolicy, normalized_entropy
from beexbench.models.transformer import InferenceOutput
from beexbench.runtimes.onnx.export import Manifest


def session_options(threads: int) -> ort.SessionOptions:
    """All graph optimizations, `threads` intra-op threads, one graph at a time."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3  # errors only: ORT warns about its own fused-node choices
    return opts


def initializer_bytes(path: Path) -> int:
    """Bytes of a graph's weights (its initializers) as held in memory."""
    total = 0
    for init in onnx.load(str(path), load_external_data=False).graph.initializer:
        itemsize = onnx.helper.tensor_dtype_to_np_dtype(init.data_type).itemsize
        total += int(np.prod(init.dims, dtype=np.int64)) * itemsize
    return total


class OrtRuntime:
    """The stage graphs of one export directory, on ONNX Runtime's CPU provider."""

    def __init__(self, directory: Path, threads: int) -> None:
        self.manifest = Manifest.read(directory)
        self.paths = self.manifest.paths(directory)
        self.exit_blocks = self.manifest.exit_blocks
        self.n_classes = self.manifest.n_classes
        opts = session_options(threads)
        self.sessions = [ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"])
                         for p in self.paths]
        self.input_names = [[i.name for i in s.get_inputs()] for s in self.sessions]
        self.exit_ids = torch.tensor(self.exit_blocks)

    # -- what the harness treats every runnable model as having ------------------------
    def eval(self) -> OrtRuntime:
        return self

    def to(self, device: torch.device | str) -> OrtRuntime:
        if torch.device(device).type != "cpu":
            raise ValueError(f"ONNX Runtime (CPU package) cannot run on {device}")
        return self

    def file_bytes(self) -> int:
        """Size on disk of the graphs it runs."""
        return sum(p.stat().st_size for p in self.paths)

    def parameter_bytes(self) -> int:
        return sum(initializer_bytes(p) for p in self.paths)

    # -- inference ---------------------------------------------------------------------
    def _stage(self, index: int, state: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        feeds = dict(zip(self.input_names[index], state, strict=True))
        return tuple(self.sessions[index].run(None, feeds))

    def __call__(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits of every exit for every row: [n_exits, B, C]."""
        outs = []
        state: tuple[np.ndarray, ...] = (ids.cpu().numpy(),)
        for index in range(len(self.sessions)):
            result = self._stage(index, state)
            outs.append(torch.from_numpy(result[-1]))
            state = self._carry(index, state, result)
        return torch.stack(outs)

    @staticmethod
    def _carry(index: int, state: tuple[np.ndarray, ...],
               result: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """The next stage's (x, pool, mask): the first stage made all three."""
        if index == 0:
            return result[:3]
        return (result[0], state[1], state[2])

    def infer(self, ids: torch.Tensor, policy: ExitPolicy) -> InferenceOutput:
        """Early-exit inference: a row leaves the batch at its exit, later stages skip it.

        Kept lean: at batch 1 the Python between two graphs is part of every query's
        latency, so histories are lists of the stages' outputs, not preallocated tensors.
        """
        b, n = ids.shape[0], len(self.sessions)
        logits_out = torch.empty(b, self.n_classes)
        exit_layer = torch.empty(b, dtype=torch.long)
        used_exit = torch.empty(b, dtype=torch.long)
        active = torch.arange(b)
        logits_h: list[torch.Tensor] = []
        entropy_h: list[torch.Tensor] = []
        preds_h: list[torch.Tensor] = []
        state: tuple[np.ndarray, ...] = (ids.cpu().numpy(),)
        for index in range(n):
            result = self._stage(index, state)
            logits = torch.from_numpy(result[-1])
            logits_h.append(logits)
            entropy_h.append(normalized_entropy(logits))
            preds_h.append(logits.argmax(-1))
            stop, use = policy.decide(torch.stack(entropy_h), torch.stack(preds_h))
            if index == n - 1:
                stop = torch.ones_like(stop)
            if not bool(stop.any()):
                state = self._carry(index, state, result)
                continue
            block = self.exit_blocks[index]
            if len(active) == 1:  # batch 1 (or the last row): no gathers
                k = int(use[0])
                logits_out[active] = logits_h[k]
                exit_layer[active], used_exit[active] = block, self.exit_blocks[k]
                break
            rows = stop.nonzero().squeeze(1)
            out = active[rows]
            logits_out[out] = torch.stack(logits_h)[use[rows], rows]
            exit_layer[out] = block
            used_exit[out] = self.exit_ids[use[rows]]
            if bool(stop.all()):
                break
            go = (~stop).nonzero().squeeze(1)
            keep = go.numpy()
            active = active[go]
            logits_h = [t[go] for t in logits_h]
            entropy_h = [t[go] for t in entropy_h]
            preds_h = [t[go] for t in preds_h]
            state = self._carry(index, tuple(a[keep] for a in state),
                                tuple(a[keep] for a in result))
        return InferenceOutput(logits_out, exit_layer, used_exit)
