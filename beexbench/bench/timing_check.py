"""Check the latency loop against bare loops over the same deployed objects, in one run.

    python -m beexbench.bench.timing_check [--preset small] [--model fp-transformer-ee]
        [--policy beex-entropy-drop] [--runtimes fake-quant,packed,ort,ort-int8]
        [--threads 1] [--rounds 5] [--seconds 1]

For each runtime that applies to the model: the trained checkpoint (the cache's, trained
if missing) is deployed as `bench` deploys it, then, alternately over several rounds so
the machine's noise hits both alike, on the eval split's own samples at batch 1:

- the harness: bench's latency loop (`run_until` with the runtime's lean query, the
  target's timer and the contention readings), as a run measures;
- a bare loop over the same deployed object, as a practitioner would write it: for
  ONNX Runtime the stage sessions called directly, with the exit rule in plain Python;
  for the other runtimes, the query alone between two perf_counter calls.

It prints both medians, their difference (target: within 10 %), and the harness loop's
own cost per query (an empty query timed through it). Exit status 1 when a runtime
misses the target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from beexbench.bench.predictions import encode_split
from beexbench.bench.runtimes import RUNTIMES, applies, deploy, parse_runtimes, single_query
from beexbench.config import PRESETS
from beexbench.data.registry import load_dataset
from beexbench.measure.latency import LoopSettings, run_until
from beexbench.models.exits import ExitPolicy, make_policy
from beexbench.models.registry import get_model_spec
from beexbench.runtimes.onnx.deploy import OnnxRuntime
from beexbench.runtimes.registry import get_runtime
from beexbench.targets.registry import get_target
from beexbench.train.loop import TrainRequest, train_model

TARGET_PCT = 10.0


def _indexed(query: Callable[[object], object], inputs: list[object]
             ) -> Callable[[int], object]:
    """query(i) on input i, as the bench runner's latency loop calls it."""
    def one(i: int) -> object:
        return query(inputs[i])

    return one


def bare_loop(query: Callable[[object], object], inputs: list[object],
              seconds: float) -> list[float]:
    """Per-query milliseconds of a plain loop: perf_counter, query, perf_counter."""
    out: list[float] = []
    clock = time.perf_counter
    end = clock() + seconds
    i, n = 0, len(inputs)
    while clock() < end or len(out) < 50:
        x = inputs[i % n]
        t0 = clock()
        query(x)
        out.append((clock() - t0) * 1e3)
        i += 1
    return out


def bare_onnx_query(directory: Path, threads: int, policy: ExitPolicy
                    ) -> Callable[[object], object]:
    """A practitioner's loop over the exported stage graphs, written against
    onnxruntime alone: run a stage, read its entropy and argmax, decide, go on."""
    import onnxruntime as ort

    from beexbench.runtimes.onnx.export import Manifest
    from beexbench.runtimes.onnx.runtime import session_options

    manifest = Manifest.read(directory)
    sessions = [ort.InferenceSession(str(p), session_options(threads),
                                     providers=["CPUExecutionProvider"])
                for p in manifest.paths(directory)]
    names = [[i.name for i in s.get_inputs()] for s in sessions]
    decide = policy.rule()
    last = len(sessions) - 1

    def query(ids: object) -> object:
        out = sessions[0].run(None, {names[0][0]: ids})
        if not last:
            return out[0]
        x, pool, mask = out[0], out[1], out[2]
        entropy, preds, logits = [out[-2][0]], [int(out[-1][0])], [out[-3]]
        stage = 0
        while True:
            stop, use = decide(entropy, preds)
            if stop or stage == last:
                return logits[use]
            stage += 1
            x_in, pool_in, mask_in = names[stage]
            out = sessions[stage].run(None, {x_in: x, pool_in: pool, mask_in: mask})
            x = out[0]
            entropy.append(out[-2][0])
            preds.append(int(out[-1][0]))
            logits.append(out[-3])

    return query


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--dataset", default="rt-polarity")
    parser.add_argument("--model", default="fp-transformer-ee")
    parser.add_argument("--policy", default=None, help="default: the model's own")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runtimes", default=",".join(RUNTIMES.names()))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="per round and loop")
    args = parser.parse_args(argv)

    PRESETS.get(args.preset)
    spec = get_model_spec(args.model)
    target = get_target("cpu")
    threads = target.set_threads(args.threads)
    data = load_dataset(args.dataset)
    ckpt = train_model(TrainRequest(args.model, args.dataset, args.preset, args.seed),
                       quiet=True, data=data)
    name = args.policy or spec.default_policy
    policy = make_policy(name, ckpt.policy_param(name))
    split = encode_split(ckpt, data, "test")
    raw = [split.ids[i:i + 1, :int(split.lengths[i])] for i in range(len(split.sample_ids))]
    loop = LoopSettings(warmup=20, min_queries=100, min_seconds=args.seconds)
    print(f"model {args.model}, policy {policy.describe()}, preset {args.preset}, batch 1, "
          f"{len(raw)} test samples at their own lengths, threads {threads}, "
          f"{args.rounds} alternating rounds of {args.seconds:g} s")
    missed = False
    with tempfile.TemporaryDirectory() as tmp:
        for runtime in parse_runtimes(args.runtimes):
            if not applies(runtime, spec):
                print(f"  {runtime:<10} skipped: does not apply to {args.model}")
                continue
            deployed = deploy(runtime, ckpt.model, args.model, Path(tmp), threads).model
            model = target.prepare(deployed)
            prepare, query = single_query(model, policy)
            inputs = [prepare(x) for x in raw]
            bare = query
            if isinstance(get_runtime(runtime), OnnxRuntime):
                bare = bare_onnx_query(Path(tmp) / f"{args.model}.{runtime}", threads, policy)
            ours, theirs, empty = [], [], []
            with torch.inference_mode():
                for _ in range(args.rounds):
                    ours.append(statistics.median(run_until(
                        _indexed(query, inputs), target.timer(), loop, len(inputs),
                        contention=target.contention).samples_ms))
                    theirs.append(statistics.median(bare_loop(bare, inputs, args.seconds)))
                    empty.append(statistics.median(run_until(
                        lambda i: None, target.timer(), loop, len(inputs),
                        contention=target.contention).samples_ms))
            m_ours, m_bare, m_empty = (statistics.median(x) for x in (ours, theirs, empty))
            diff = 100.0 * (m_ours - m_bare) / m_bare
            ok = abs(diff) <= TARGET_PCT
            missed |= not ok
            print(f"  {runtime:<10} harness p50 {m_ours:8.4f} ms   bare loop p50 {m_bare:8.4f} ms"
                  f"   difference {diff:+6.2f} % ({'ok' if ok else 'MISSED'}: within "
                  f"{TARGET_PCT:g} %)   loop cost {m_empty * 1e3:6.2f} us/query")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
