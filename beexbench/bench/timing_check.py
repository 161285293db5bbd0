"""Check the latency loop against torch.utils.benchmark.Timer, in one run.

    python -m beexbench.bench.timing_check [--preset small] [--model fp-transformer]

Prints our batch-1 median for one model call next to torch.utils.benchmark.Timer's
median for the same call (target: within 5 %), and the timing loop's own overhead,
measured by timing an empty call through the same loop (target: under 1 % of the
median). The two are measured alternately, several rounds each, so the machine's
noise hits both alike.
"""

from __future__ import annotations

import argparse
import statistics

import torch
import torch.utils.benchmark as tb

from beexbench.config import PRESETS
from beexbench.measure.latency import LoopSettings, run_until
from beexbench.models.exits import make_policy
from beexbench.models.registry import get_model_spec
from beexbench.models.transformer import ModelConfig
from beexbench.targets.timing import PerfCounterTimer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--model", default="fp-transformer")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="per round and method")
    args = parser.parse_args(argv)

    preset = PRESETS.get(args.preset)
    cfg = ModelConfig(vocab_size=preset.vocab_size, n_classes=2, d_model=preset.d_model,
                      heads=preset.heads, blocks=preset.blocks, max_len=preset.max_len)
    torch.manual_seed(0)
    spec = get_model_spec(args.model)
    model = spec.build(cfg).eval()
    policy = make_policy(spec.default_policy)
    ids = torch.randint(1, preset.vocab_size, (1, preset.max_len // 2))
    torch.set_num_threads(args.threads)

    def call(_: int = 0) -> object:
        return model.infer(ids, policy)

    def empty(_: int = 0) -> None:
        return None

    loop = LoopSettings(warmup=10, min_queries=50, min_seconds=args.seconds)
    ours, theirs, overhead = [], [], []
    with torch.inference_mode():
        for _ in range(args.rounds):
            ours.append(statistics.median(run_until(call, PerfCounterTimer(), loop, 1).samples_ms))
            timer = tb.Timer(stmt="call()", globals={"call": call}, num_threads=args.threads)
            theirs.append(timer.blocked_autorange(min_run_time=args.seconds).median * 1e3)
            torch.set_num_threads(args.threads)  # Timer can leave the process at 1 thread
            overhead.append(statistics.median(
                run_until(empty, PerfCounterTimer(), loop, 1).samples_ms))
    m_ours, m_theirs, m_over = (statistics.median(x) for x in (ours, theirs, overhead))
    diff = 100.0 * (m_ours - m_theirs) / m_theirs
    share = 100.0 * m_over / m_ours
    print(f"model {args.model}, preset {args.preset}, batch 1, length {ids.shape[1]}, "
          f"threads {args.threads}, {args.rounds} alternating rounds")
    print(f"  beexbench loop median          {m_ours:9.4f} ms")
    print(f"  torch.utils.benchmark median   {m_theirs:9.4f} ms")
    print(f"  difference                     {diff:+9.2f} %   (target: within 5 %) "
          f"{'ok' if abs(diff) <= 5 else 'MISSED'}")
    print(f"  loop overhead per query        {m_over * 1e3:9.3f} us = {share:.3f} % of the "
          f"median   (target: under 1 %) {'ok' if share < 1 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
