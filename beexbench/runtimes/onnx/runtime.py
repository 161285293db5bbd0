"""Run an exported model on ONNX Runtime with real early exits.

`OrtRuntime` offers what the harness calls on a torch model: `model(ids)` gives every
exit's logits ([n_exits, B, C], analysis mode) and `infer(ids, policy)` runs
early-exit inference, one stage graph at a time. Each stage graph also returns its
exit's normalized entropy and argmax, and the policy decides between stages on those
plain numbers (`ExitPolicy.rule`, equal to `decide`), so the loop does no tensor work
of its own: it costs what a deployment's loop over the same graphs costs, and no torch
thread pool runs beside ORT's. `lean(policy)` is that loop for one query at batch 1,
the form the latency loop times.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from beexbench.models.exits import ExitPolicy
from beexbench.models.transformer import InferenceOutput
from beexbench.runtimes.onnx.export import Manifest

# One query's answer on the lean path: the predicting exit's logits [1, C], the block
# where computation stopped, and the block whose exit predicted.
LeanOutput = tuple[np.ndarray, int, int]


def session_options(threads: int) -> ort.SessionOptions:
    """All graph optimizations, `threads` intra-op threads that sleep when idle, one graph
    at a time."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3  # errors only: ORT warns about its own fused-node choices
    # Idle pool threads sleep instead of spinning: between two stage graphs the exit is
    # decided on the calling thread, and spinning workers would take the cores it needs
    # (at 2 threads on 2 cores they preempted it some 600 times a second).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
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
    def _stage(self, index: int, state: tuple[np.ndarray, ...]) -> list[np.ndarray]:
        return self.sessions[index].run(None, dict(zip(self.input_names[index], state,
                                                       strict=True)))

    def __call__(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits of every exit for every row: [n_exits, B, C]."""
        outs = []
        state: tuple[np.ndarray, ...] = (ids.cpu().numpy(),)
        for index in range(len(self.sessions)):
            result = self._stage(index, state)
            outs.append(torch.from_numpy(result[-3]))
            state = self._carry(index, state, result)
        return torch.stack(outs)

    @staticmethod
    def _carry(index: int, state: tuple[np.ndarray, ...],
               result: list[np.ndarray]) -> tuple[np.ndarray, ...]:
        """The next stage's (x, pool, mask): the first stage made all three."""
        if index == 0:
            return tuple(result[:3])
        return (result[0], state[1], state[2])

    def lean(self, policy: ExitPolicy) -> tuple[Callable[[torch.Tensor], np.ndarray],
                                                Callable[[np.ndarray], LeanOutput]]:
        """(prepare, query) for batch 1: `prepare` turns a [1, T] id tensor into the
        array the graphs take (outside any timed span); `query` runs the stages until
        the policy stops and returns (logits of the predicting exit, exit block, block
        that predicted)."""
        decide = policy.rule()
        runs = [(session.run, names) for session, names in zip(self.sessions,
                                                                self.input_names, strict=True)]
        blocks, last = self.exit_blocks, len(self.sessions) - 1

        def query(ids: np.ndarray) -> LeanOutput:
            entropy: list[np.float32] = []
            preds: list[int] = []
            logits: list[np.ndarray] = []
            result = runs[0][0](None, {runs[0][1][0]: ids})
            x, pool, mask = result[0], result[1], result[2]
            for index in range(last + 1):
                if index:
                    run, (x_in, pool_in, mask_in) = runs[index]
                    result = run(None, {x_in: x, pool_in: pool, mask_in: mask})
                    x = result[0]
                logits.append(result[-3])
                entropy.append(result[-2][0])
                preds.append(int(result[-1][0]))
                stop, use = decide(entropy, preds)
                if stop or index == last:
                    return logits[use], blocks[index], blocks[use]
            raise AssertionError("unreachable: the last stage always stops")

        def query_single_stage(ids: np.ndarray) -> LeanOutput:
            return runs[0][0](None, {runs[0][1][0]: ids})[0], blocks[0], blocks[0]

        return (lambda ids: ids.cpu().numpy()), (query if last else query_single_stage)

    def infer(self, ids: torch.Tensor, policy: ExitPolicy) -> InferenceOutput:
        """Early-exit inference: a row leaves the batch at its exit, later stages skip it."""
        decide = policy.rule()
        b, n = ids.shape[0], len(self.sessions)
        logits_out = np.empty((b, self.n_classes), dtype=np.float32)
        exit_layer = np.empty(b, dtype=np.int64)
        used_exit = np.empty(b, dtype=np.int64)
        active = np.arange(b)
        # Per row still running: the entropies, classes and logits of its exits so far.
        entropy_h: list[list[np.float32]] = [[] for _ in range(b)]
        preds_h: list[list[int]] = [[] for _ in range(b)]
        logits_h: list[np.ndarray] = []  # per stage: [rows active then, C]
        rows_h: list[np.ndarray] = []  # per stage: original row -> its row there
        state: tuple[np.ndarray, ...] = (ids.cpu().numpy(),)
        for index in range(n):
            result = self._stage(index, state)
            logits, entropy, preds = result[-3], result[-2], result[-1]
            where = np.full(b, -1)
            where[active] = np.arange(len(active))
            logits_h.append(logits)
            rows_h.append(where)
            keep = []
            for row, sample in enumerate(active):
                entropy_h[sample].append(entropy[row])
                preds_h[sample].append(int(preds[row]))
                stop, use = decide(entropy_h[sample], preds_h[sample])
                if stop or index == n - 1:
                    logits_out[sample] = logits_h[use][rows_h[use][sample]]
                    exit_layer[sample] = self.exit_blocks[index]
                    used_exit[sample] = self.exit_blocks[use]
                else:
                    keep.append(row)
            if len(keep) == 0:
                break
            if len(keep) < len(active):
                kept = np.asarray(keep)
                active = active[kept]
                state, result = (tuple(a[kept] for a in state),
                                 [a[kept] for a in result])
            state = self._carry(index, state, result)
        return InferenceOutput(torch.from_numpy(logits_out), torch.from_numpy(exit_layer),
                               torch.from_numpy(used_exit))
