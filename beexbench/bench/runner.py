"""Measure each model the same way on one target and store the rows.

Per model: (train or reuse the checkpoint) -> ops per exit depth -> then per runtime
that applies to it (beexbench.bench.runtimes): the artifact it runs from and its sizes ->
predictions on the eval split for every exit -> per exit policy, accuracy, expected
ops, latency (batch 1, real exits), throughput (batch N), peak memory and energy.
Policy-independent rows carry the model's default policy; every row carries its
runtime. The first runtime a model runs under writes predictions/<model>.csv and
samples/<model>.csv; each further one writes them under predictions/<runtime>/ and
samples/<runtime>/, so a run of one runtime keeps the layout readers know. A runtime a
model is not timed under (a binary model's fake-quant form beside the packed engine)
writes no samples file.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
import uuid
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from beexbench.bench.config import BenchConfig
from beexbench.bench.predictions import EncodedSplit, encode_split, predict
from beexbench.bench.resume import (
    check_config,
    check_files,
    check_rows,
    runtime_labels,
    runtime_subdir,
    settle,
)
from beexbench.bench.rows import RowContext
from beexbench.bench.runtimes import (
    Runnable,
    applies,
    check_usable,
    deploy,
    full_precision,
    single_query,
    timed_here,
)
from beexbench.core import plugins
from beexbench.core.atomic import atomic_write_text
from beexbench.core.errors import UsageError
from beexbench.core.log import bar
from beexbench.data.base import TextDataset
from beexbench.data.registry import load_dataset
from beexbench.measure import catalog as M
from beexbench.measure.energy import measure_energy
from beexbench.measure.evaluate import ExitRecord, apply_policy, record_exits
from beexbench.measure.flops import FlopReport, count_ops, expected_counts
from beexbench.measure.latency import LatencyResult, LoopSettings, run_until
from beexbench.measure.memory import PeakRss, resident_bytes
from beexbench.measure.structural import op_figures, unsupported_listing
from beexbench.measure.uncertainty import bootstrap_ci
from beexbench.measure.validity import Verdict, coefficient_of_variation, judge
from beexbench.models.exits import FIXED_DEPTH, ExitPolicy, make_policy
from beexbench.models.registry import MODELS, ModelSpec, get_model_spec
from beexbench.results.artifact_manifest import write_manifest
from beexbench.results.layout import ARTIFACTS, RUN_FORMAT, RUN_FORMAT_KEY
from beexbench.results.schema import seed_dir
from beexbench.results.store import RunStore
from beexbench.runtimes.registry import RUNTIMES, get_runtime
from beexbench.targets.base import EnergyReading, EnergyUnavailable, Target
from beexbench.targets.contention import usable_cores
from beexbench.targets.environment import environment, git_sha, host
from beexbench.targets.registry import get_target
from beexbench.train.checkpoint import Checkpoint, check_cache_usable, checkpoint_root
from beexbench.train.loop import TrainRequest, train_model
from beexbench.train.pool import train_missing


def new_run_id(cfg: BenchConfig) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{cfg.target}-{cfg.preset}-{uuid.uuid4().hex[:6]}"


log = logging.getLogger(__name__)
# Batch-1 loops of one configuration at most: the first and two more while contended.
LATENCY_ATTEMPTS = 3


class Progress:
    """The run's progress lines (beexbench.core.log decides where they go); quiet drops them."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        if not self.quiet:
            log.info(message)


class Bench:
    """One benchmark run over a list of models on one target."""

    def __init__(self, cfg: BenchConfig, target: Target, store: RunStore, data: TextDataset,
                 run_id: str, progress: Progress) -> None:
        self.cfg, self.target, self.store, self.data = cfg, target, store, data
        self.run_id, self.progress = run_id, progress
        self.threads = target.set_threads(cfg.threads)
        self.device_name = str(target.describe().get("device") or target.name)
        # Latency samples of each samples file so far in this attempt, by policy: the
        # file is written whole from these, never merged with what an earlier attempt left.
        self.samples: dict[Path, dict[str, list[float]]] = {}
        # The idle baseline of every energy figure of this attempt: read once, at its
        # first energy loop (one per loop made the main job a minute longer).
        self.idle: EnergyReading | None = None

    # -- per model -------------------------------------------------------------------------

    def run_model(self, name: str, seed: int, runtimes: tuple[str, ...]) -> list[dict]:
        ckpt = train_model(train_request(self.cfg, name, seed), quiet=self.progress.quiet,
                           data=self.data)
        spec = get_model_spec(name)
        split = encode_split(ckpt, self.data, self.cfg.split)
        self.progress(f"[{name}] counting ops at length {self.cfg.seq_len()}")
        flops = count_ops(ckpt.model, self.cfg.seq_len())  # on the host, before prepare()
        rows: list[dict] = []
        for runtime in runtimes:
            ctx = RowContext(self.run_id, git_sha(), host(), self.target.name,
                             self.device_name, name, self.cfg.preset, self.cfg.dataset,
                             self.cfg.split, spec.default_policy, self.threads,
                             get_runtime(runtime).label(),
                             seed)
            # Files go under seed-<S>/ in a run of several seeds; the model's first runtime
            # keeps the names directly there, each further one gets a folder of its own.
            subdir = runtime_subdir(self.cfg.seeds, seed, ctx.runtime,
                                    first=runtime == runtimes[0])
            timed = timed_here(runtime, ckpt.model.cfg, runtimes)
            rows += self.runtime_rows(ctx, runtime, subdir, ckpt, spec, split, flops, timed)
        write_manifest(self.artifacts(seed), name)  # before the model counts as done
        return rows

    def artifacts(self, seed: int) -> Path:
        """The folder of the artifacts of one seed's models."""
        return self.store.root / ARTIFACTS / seed_dir(self.cfg.seeds, seed)

    def runtime_rows(self, ctx: RowContext, runtime: str, subdir: str, ckpt: Checkpoint,
                     spec: ModelSpec, split: EncodedSplit, flops: FlopReport,
                     timed: bool = True) -> list[dict]:
        if len(self.cfg.runtimes) > 1:
            self.progress(f"[{ctx.model}] runtime {ctx.runtime}"
                          + ("" if timed else " (accuracy only: timed where it is deployed)"))
        deployed = deploy(runtime, ckpt.model, ctx.model, self.artifacts(ctx.seed),
                          self.threads)
        # Rows say which engine ran them: policy-independent ones as the default policy's.
        engine = get_runtime(runtime)
        ctx = replace(ctx, runtime=engine.policy_label(deployed.model,
                                                       make_policy(spec.default_policy)))
        rows = [ctx.row(f.metric, f.value, source=f.source) for f in deployed.figures]
        rows += self.per_exit_rows(ctx, flops)
        model = self.target.prepare(deployed.model)
        record = record_exits(model, split.ids.to(self.target.device()),
                              split.lengths).to_cpu()
        for policy_name in spec.policies:
            policy = make_policy(policy_name, ckpt.policy_param(policy_name))
            # A policy the runtime's engine cannot decide runs another way: say which.
            pctx = replace(ctx.with_policy(policy.label),
                           runtime=engine.policy_label(deployed.model, policy))
            rows += self.policy_rows(pctx, subdir, ckpt, model, split, record, flops, policy,
                                     default=policy_name == spec.default_policy, timed=timed)
        # ELUE's static baseline: each policy beside the fixed-depth truncation of the same
        # expected cost (the report pairs a policy with the exit nearest its average exit
        # block). Every depth is measured, so the static curve is whole and a run's rows do
        # not depend on where calibration happened to land; on every deployment path, so
        # not on the fake-quantized (fp32) form of a binary model.
        deployable = engine.deploys_binary or full_precision(ckpt.model.cfg)
        for k in static_depths(ckpt.model.exit_blocks) if deployable and timed else []:
            policy = make_policy(FIXED_DEPTH, k)
            pctx = replace(ctx.with_policy(policy.label),
                           runtime=engine.policy_label(deployed.model, policy))
            rows += self.policy_rows(pctx, subdir, ckpt, model, split, record, flops, policy,
                                     default=False, static=True)
        return rows

    def file(self, kind: str, subdir: str, name: str) -> Path:
        """predictions/ or samples/ file of one model under one runtime (see the docstring)."""
        folder = self.store.root / kind
        return (folder / subdir if subdir else folder) / f"{name}.csv"

    def per_exit_rows(self, ctx: RowContext, flops: FlopReport) -> list[dict]:
        if flops.unsupported:
            atomic_write_text(self.store.root / "flops" / seed_dir(self.cfg.seeds, ctx.seed)
                              / f"{ctx.model}-unsupported.txt",
                              unsupported_listing(flops), what="op-count listing")
        return [ctx.row(f.metric, f.value, source=f.source) for f in op_figures(flops)]

    def policy_rows(self, ctx: RowContext, subdir: str, ckpt: Checkpoint, model: Runnable,
                    split: EncodedSplit, record: ExitRecord, flops: FlopReport,
                    policy: ExitPolicy, default: bool, static: bool = False,
                    timed: bool = True) -> list[dict]:
        """Accuracy, exits, expected ops and timing under one policy. A static baseline
        (`static`) is timed at batch 1 only: no throughput or energy loop; `timed` False:
        no timing at all."""
        say = self.progress
        table = predict(ckpt, split, policy, record)
        suffix = "" if default else f"__{policy.label}"
        table.write(self.file("predictions", subdir, f"{ctx.model}{suffix}"))
        metrics = table.metrics()
        rows = [ctx.row(m, v, source="predictions") for m, v in metrics.items()]
        rows += [ctx.row(m, v, stat=stat, source="predictions+bootstrap")
                 for m, stat, v in table.evidence()]
        shares = table.exit_distribution()
        expected = expected_counts(flops.per_exit, shares)
        last = flops.per_exit[max(flops.per_exit)]
        rows += [ctx.row(m, v, source="fvcore+predictions") for m, v in expected.items()]
        rows.append(ctx.row(M.FLOP_REDUCTION.name,
                            100.0 * (1.0 - expected[M.OPS_EXPECTED.name] / last.ops),
                            source="fvcore+predictions"))
        # Each sample saves the share of the last exit's ops it did not run.
        saved = [1.0 - flops.per_exit[k].ops / last.ops for k in table.exit_layer]
        for stat, value in zip(("ci95_low", "ci95_high"), bootstrap_ci(saved, 100.0),
                               strict=True):
            rows.append(ctx.row(M.FLOP_REDUCTION.name, value, stat=stat,
                                source="fvcore+predictions+bootstrap"))
        rows += self.sweep_rows(ctx, record, split, flops, policy)
        rows += self.calibration_rows(ctx, shares, flops, policy, static)
        if timed:
            rows += self.timing_rows(ctx, subdir, model, split, policy, full=not static,
                                     energy=default)
        say(f"[{ctx.model}] {policy.describe()}: acc {metrics[M.ACC_POLICY.name]:.2f}% "
            f"avg exit {metrics[M.AVG_EXIT_LAYER.name]:.2f}")
        return rows

    def sweep_rows(self, ctx: RowContext, record: ExitRecord, split: EncodedSplit,
                   flops: FlopReport, policy: ExitPolicy) -> list[dict]:
        if not policy.param_name:
            return []
        rows = []
        for value in type(policy).grid:
            outcome = apply_policy(record, make_policy(policy.name, value))
            acc = 100.0 * float((outcome.pred_policy == split.labels).float().mean())
            dist = {k: float((outcome.exit_layer == k).float().mean()) for k in flops.per_exit}
            ops = expected_counts(flops.per_exit, dist)[M.OPS_EXPECTED.name]
            stat = f"{policy.param_name}={value:g}"
            rows.append(ctx.row(M.SWEEP_ACC_POLICY.name, acc, stat=stat, source="predictions"))
            rows.append(ctx.row(M.SWEEP_OPS_EXPECTED.name, ops, stat=stat,
                                source="fvcore+predictions"))
        return rows

    def calibration_rows(self, ctx: RowContext, shares: dict[int, float], flops: FlopReport,
                         policy: ExitPolicy, static: bool) -> list[dict]:
        """Where the policy's samples stop (`shares`: the predictions' exit distribution,
        as a % per exit), and its calibrated constant beside its grid's ends: what shows a
        policy that acts as a fixed depth."""
        rows = [ctx.row(M.EXIT_SHARE.at(k), 100.0 * shares.get(k, 0.0), source="predictions")
                for k in sorted(flops.per_exit)]
        grid = type(policy).grid
        if policy.param_name and grid and not static:
            rows += [ctx.row(M.POLICY_PARAM.name, value, stat=stat, source="calibration")
                     for stat, value in (("calibrated", policy.param), ("grid_min", min(grid)),
                                         ("grid_max", max(grid)))]
        return rows

    # -- timing, memory, energy ------------------------------------------------------------
    def timing_rows(self, ctx: RowContext, subdir: str, model: Runnable, split: EncodedSplit,
                    policy: ExitPolicy, full: bool = True, energy: bool = True) -> list[dict]:
        device = self.target.device()
        loop = self.cfg.loop_settings()
        if not full:  # a static baseline: half the minimum duration (its queries stay)
            loop = replace(loop, min_seconds=loop.min_seconds / 2)
        # Each query's input is made ready before the loop (a deployment holds it ready
        # too): the timed span is the deployed object's own per-query work.
        prepare, query = single_query(model, policy)
        singles = [prepare(split.ids[i:i + 1, :int(split.lengths[i])].to(device))
                   for i in range(len(split.sample_ids))]
        batches = []
        for s in range(0, len(singles), loop.batch_size):
            width = int(split.lengths[s:s + loop.batch_size].max())
            batches.append(split.ids[s:s + loop.batch_size, :width].to(device))

        def one(i: int) -> object:
            return query(singles[i])

        def many(i: int) -> object:
            return model.infer(batches[i], policy)

        timing_source = str(self.target.describe().get("timing_source", ""))
        self.target.reset_peak_memory()
        with PeakRss() as peak:
            single, verdict, attempts = self.latency_loop(ctx, one, loop, len(singles))
            if full:
                self.progress(f"[{ctx.model}] {policy.label}: throughput, "
                              f"batch {loop.batch_size}")
                offline = _looped(many, self.target.timer(), _offline(loop), len(batches),
                                  f"{ctx.model} throughput")
        rows = [ctx.row(M.LATENCY_MS.name, v, stat=k, source=timing_source, batch_size=1)
                for k, v in single.stats().items()]
        rows += [ctx.row(M.CPU_TIME_MS.name, v, stat=k, source="time.process_time",
                         batch_size=1) for k, v in single.cpu_stats().items()]
        rows += self.validity_rows(ctx, single, verdict, attempts)
        self.write_samples(ctx, subdir, single.samples_ms)
        if not full:
            return rows
        n_queries = len(offline.samples_ms)
        served = sum(int(batches[i % len(batches)].shape[0]) for i in range(n_queries))
        rows.append(ctx.row(M.THROUGHPUT_SPS.name, served / (sum(offline.samples_ms) / 1e3),
                            source=timing_source, batch_size=loop.batch_size))
        rows.append(ctx.row(M.PEAK_RSS_MB.name, peak.peak_mb, source=peak.source))
        resident, resident_source = resident_bytes(model)
        rows.append(ctx.row(M.PARAM_BYTES_RESIDENT.name, resident, source=resident_source))
        device_mb = self.target.peak_device_memory_mb()
        if device_mb is not None:
            rows.append(ctx.row(M.CUDA_MAX_ALLOC_MB.name, device_mb, source="torch.cuda"))
        # Energy once per model and runtime, under the default policy: its loops are the
        # longest of a run, and another policy moves it only through the exit depth.
        if self.cfg.energy and energy:
            rows += self.energy_rows(ctx, one, len(singles), loop)
        return rows

    def latency_loop(self, ctx: RowContext, query, loop: LoopSettings,
                     n_inputs: int) -> tuple[LatencyResult, Verdict, int]:
        """The batch-1 loop, run again (up to LATENCY_ATTEMPTS loops in all) while the
        machine was contended during it, as pyperf and asv rerun a disturbed benchmark:
        the last loop's figures and verdict are kept, with the number of loops run."""
        for attempt in range(1, LATENCY_ATTEMPTS + 1):
            self.progress(f"[{ctx.model}] {ctx.policy}: latency, batch 1"
                          + ("" if attempt == 1 else f" (loop {attempt}/{LATENCY_ATTEMPTS})"))
            result = _looped(query, self.target.timer(), loop, n_inputs,
                             f"{ctx.model} latency", self.target.contention)
            verdict = judge(result.before, result.after, len(result.samples_ms),
                            result.wall_seconds, loop.min_queries, loop.min_seconds,
                            usable_cores(), self.threads)
            if not verdict.valid:
                self.progress(f"[{ctx.model}] {ctx.policy}: timing NOT valid: "
                              f"{verdict.note()}")
            if verdict.valid or not verdict.contended:  # another loop would change nothing
                break
        return result, verdict, attempt

    def validity_rows(self, ctx: RowContext, result: LatencyResult, verdict: Verdict,
                      attempts: int) -> list[dict]:
        """The batch-1 loop's evidence (queries, duration, spread, contention readings,
        loops run) and its verdict; an invalid timing says why in its note."""
        queries = len(result.samples_ms)
        fig = verdict.figures
        rows = [ctx.row(M.LATENCY_QUERIES.name, queries, source="loop", batch_size=1),
                ctx.row(M.LATENCY_ATTEMPTS.name, attempts, source="loop", batch_size=1),
                ctx.row(M.LATENCY_DURATION.name, result.wall_seconds, source="loop",
                        batch_size=1),
                ctx.row(M.LATENCY_CV.name, coefficient_of_variation(result.samples_ms),
                        source="samples", batch_size=1),
                ctx.row(M.TIMING_VALID.name, 1.0 if verdict.valid else 0.0,
                        source="contention", batch_size=1, note=verdict.note())]
        readings = ((M.LOAD_AVG.name, "max", fig["load"], "/proc/loadavg"),
                    (M.RUNNABLE_THREADS.name, "max", fig["runnable"], "/proc/loadavg"),
                    (M.OTHER_CPU_PCT.name, "value",
                     None if fig["other_cpu"] is None else 100.0 * fig["other_cpu"],
                     "/proc/stat+getrusage"),
                    (M.CPU_STEAL_PCT.name, "value", fig["steal"], "/proc/stat"),
                    (M.INVOLUNTARY_SWITCHES.name, "per_s", fig["switches_per_s"], "getrusage"),
                    (M.INVOLUNTARY_SWITCHES.name, "per_query", fig["switches_per_query"],
                     "getrusage"))
        for metric, stat, value, source in readings:
            # always written, so a run's rows are the same set on every machine
            rows.append(ctx.row(metric, value, stat=stat, source=source, batch_size=1,
                                note="" if value is not None else "not readable here"))
        return rows

    def energy_rows(self, ctx: RowContext, query, n_inputs: int, loop: LoopSettings) -> list:
        idle = "" if self.idle else " + the run's idle baseline"
        self.progress(f"[{ctx.model}] {ctx.policy}: energy over {loop.min_seconds:g} s{idle}")
        try:
            with bar(total=round((1 if self.idle else 2) * loop.min_seconds, 1),
                     desc=f"{ctx.model} energy", unit="s") as shown:
                result = measure_energy(self.target.energy_meter(), query, n_inputs,
                                        loop.min_seconds, on_progress=shown.update,
                                        idle=self.idle)
                self.idle = result.idle
        except EnergyUnavailable as exc:
            self.progress(f"[{ctx.model}] energy not measured: {exc}")
            return []
        src, est = result.gross.source, result.estimated
        return [
            ctx.row(M.ENERGY_J_PER_SAMPLE.name, result.net_j_per_sample, stat="net",
                    source=src, estimated=est, batch_size=1, note=result.net_reason),
            ctx.row(M.ENERGY_J_PER_SAMPLE.name, result.gross_j_per_sample, stat="gross",
                    source=src, estimated=est, batch_size=1),
            ctx.row(M.IDLE_POWER_W.name, result.idle_power_w, stat="mean",
                    source=result.idle.source, estimated=result.idle.estimated,
                    note="read once per attempt of the run, at its first energy loop"),
        ]

    def write_samples(self, ctx: RowContext, subdir: str, samples_ms: list[float]) -> None:
        path = self.file("samples", subdir, ctx.model)
        by_policy = self.samples.setdefault(path, {})
        by_policy[ctx.policy] = samples_ms
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["policy", "metric", "batch_size", "value"])
        for policy, values in by_policy.items():
            writer.writerows([policy, M.LATENCY_MS.name, 1, f"{v:.6f}"] for v in values)
        atomic_write_text(path, buf.getvalue(), what="latency samples")


def static_depths(exit_blocks: list[int] | tuple[int, ...]) -> list[int]:
    """The k (1-based exit count) of each fixed-depth baseline: every exit of a model with
    more than one (a single-exit model has no depth to choose)."""
    return list(range(1, len(exit_blocks) + 1)) if len(exit_blocks) > 1 else []


def _looped(query, timer, loop: LoopSettings, n_inputs: int, desc: str, contention=None):
    """run_until with a bar of its queries (updated every 100, outside the timed span)."""
    with bar(total=loop.min_queries, desc=desc, unit="q") as shown:
        done = [0]

        def advance(i: int) -> None:
            shown.update(i - done[0])
            done[0] = i

        return run_until(query, timer, loop, n_inputs, on_progress=advance,
                         contention=contention)


def _offline(loop: LoopSettings) -> LoopSettings:
    """Offline queries are whole batches: fewer of them, over half the duration, make a
    throughput figure (a mean over whole batches) as steady as the latency percentiles."""
    return LoopSettings(warmup=max(1, loop.warmup // 4), min_queries=max(5, loop.min_queries // 10),
                        min_seconds=loop.min_seconds / 2, batch_size=loop.batch_size)


def train_request(cfg: BenchConfig, name: str, seed: int) -> TrainRequest:
    """The training request of one model and seed of a run."""
    return TrainRequest(name, cfg.dataset, cfg.preset, seed, cfg.data_path())


def _measured(bench: Bench, name: str, seed: int, runtimes: tuple[str, ...]) -> list[dict]:
    """bench.run_model; a model or runtime of a plugin that fails is one line naming the
    plugin (ours keep their traceback: an error there is a bug). Nothing of the model is
    committed, so `--resume` measures it again once the plugin is fixed."""
    with plugins.failures_named(f"model {name!r}",
                                [MODELS.origin(name), *map(RUNTIMES.origin, runtimes)],
                                " failed while measured",
                                "; fix it and run again with --resume"):
        return bench.run_model(name, seed, runtimes)


def run_bench(cfg: BenchConfig, out: Path | None, resume: bool, quiet: bool,
              run_id: str | None = None, force: bool = False, repair: bool = False,
              machine: str | None = None) -> Path:
    """Validate everything cheap first, then open the run directory and measure.

    `run_id` names a new run (default: a fresh id); a resumed run keeps its own. `force`
    replaces an existing run directory (beexbench.results.store.RunStore.open); `repair`
    (with resume) measures again the models whose files are damaged; `machine` names the
    machine in environment.json (beexbench.targets.environment.machine_label).
    """
    progress = Progress(quiet)
    target = get_target(cfg.target)
    check_usable(cfg.runtimes, target.device())
    plan = {}
    for name in cfg.models:
        spec = get_model_spec(name)
        plan[name] = tuple(r for r in cfg.runtimes if applies(r, spec))
        for runtime in cfg.runtimes:
            if runtime not in plan[name]:
                progress(f"[{name}] runtime {runtime} skipped: "
                         f"{get_runtime(runtime).why_not()}")
    if not any(plan.values()):
        raise UsageError(f"no model of --models runs under --runtimes {','.join(cfg.runtimes)}")
    data = load_dataset(cfg.dataset, cfg.data_path())
    # A model no runtime applies to is neither trained nor measured.
    units = [(name, seed) for seed in cfg.seeds for name in cfg.models if plan[name]]
    # Where a checkpoint is to be trained, its cache must be usable: said before the run
    # directory is made, not after minutes of training (a cache only read is not checked).
    if any(not train_request(cfg, n, s).checkpoint_dir().exists() for n, s in units):
        check_cache_usable(checkpoint_root(), "the checkpoint cache")
    run_id = run_id or new_run_id(cfg)
    root = out or Path("results") / run_id
    store = RunStore.open(root, resume, force)
    try:
        # Compare as JSON sees it (tuples become lists).
        config = json.loads(json.dumps({"run_id": run_id, RUN_FORMAT_KEY: RUN_FORMAT,
                                        **cfg.to_dict()}))
        run_id = check_config(store, config, repair)
        check_rows(store, cfg, run_id)
        check_files(store, cfg, runtime_labels(store))
        settle(store, repair, progress)
        bench = Bench(cfg, target, store, data, run_id, progress)
        store.write_json("environment.json", environment(target, bench.threads, machine))
        started = time.perf_counter()
        pending = [(name, seed) for name, seed in units if not store.is_done(name, seed)]
        train_missing([train_request(cfg, name, seed) for name, seed in pending], data,
                      bench.threads, quiet)
        for name, seed in units:
            who = name if len(cfg.seeds) == 1 else f"{name} seed {seed}"
            if store.is_done(name, seed):
                progress(f"[{who}] done in an earlier attempt; skipped")
                continue
            rows = _measured(bench, name, seed, plan[name])
            store.commit_model(name, seed, rows)
        store.flush()
        progress(f"benchmark finished in {time.perf_counter() - started:.0f} s: {root}")
    finally:
        store.release()
    return root
