"""The report as a list of blocks, rendered by `markdown.render` and `html.render`.

Building the content once keeps report.md and report.html saying the same thing.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from beexbench.measure import catalog as M
from beexbench.report.blocks import Block, Bullets, Figure, Heading, Paragraph, Table
from beexbench.report.claims import headline_claims, paper_claims
from beexbench.report.differences import COLUMNS as DIFF_COLUMNS
from beexbench.report.differences import accuracy_vs_fp
from beexbench.report.fmt import format_value
from beexbench.report.lead import lead_section
from beexbench.report.plots import Plot
from beexbench.report.published import COLUMNS, published_paragraphs, published_rows
from beexbench.report.seeds import across_seeds
from beexbench.report.targets import across_targets
from beexbench.report.versus import (
    BINARY_MODELS,
    EARLY_EXIT_MODEL,
    VERSUS_COLUMNS,
    binarization_vs_early_exit,
)
from beexbench.results.rundir import Run
from beexbench.results.summary import (
    BEST_FP_RUNTIME,
    BEST_SPEEDUP,
    DETAIL_COLUMNS,
    SPEEDUP,
    column_header,
    key_columns,
)

# Long lists (CPU flags) are cut here in the environment table.
MAX_LIST_ITEMS = 24



SUMMARY_TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Accuracy and compute", (
        M.ACC_FINAL.name, M.ACC_POLICY.name, M.ACC_GAIN_FROM_EXITS.name, M.OPS_EXPECTED.name,
        "ops_exit_last",
        M.FLOP_REDUCTION.name, M.AVG_EXIT_LAYER.name, M.OVERTHINKING_DESTRUCTIVE.name,
        M.OVERTHINKING_WASTEFUL.name)),
    ("Intervals (95 %, percentile bootstrap over test samples; McNemar: policy vs final exit)", (
        "acc_final_ci95_low", "acc_final_ci95_high", "acc_policy_ci95_low",
        "acc_policy_ci95_high", "acc_gain_from_exits_pts_ci95_low",
        "acc_gain_from_exits_pts_ci95_high", "acc_gain_from_exits_p_mcnemar",
        "flop_reduction_pct_ci95_low", "flop_reduction_pct_ci95_high")),
    ("Size", (M.MODEL_BYTES.name, M.SIZE_RATIO_VS_FP.name, M.COMPRESSION_RATIO.name)),
    ("Speed, memory and energy", (
        "latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "cpu_time_mean_ms", SPEEDUP,
        BEST_SPEEDUP, BEST_FP_RUNTIME, M.THROUGHPUT_SPS.name, "throughput_batch_size",
        M.PEAK_RSS_MB.name, M.ENERGY_J_PER_SAMPLE.name, "energy_estimated", "energy_source")),
)
TEXT_COLUMNS = set(DETAIL_COLUMNS)


def flatten(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested JSON as (dotted.key, text) pairs, whatever keys it has."""
    if isinstance(data, dict):
        out: list[tuple[str, str]] = []
        for key, value in data.items():
            out += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(data, list) and all(not isinstance(v, dict | list) for v in data):
        shown = ", ".join(str(v) for v in data[:MAX_LIST_ITEMS])
        if len(data) > MAX_LIST_ITEMS:
            shown += f", … (+{len(data) - MAX_LIST_ITEMS} more)"
        return [(prefix, shown)]
    if isinstance(data, list):
        return [(prefix, json.dumps(data))]
    return [(prefix, "" if data is None else str(data))]


def _cell(value: Any, column: str) -> str:
    if column in TEXT_COLUMNS:
        return "" if pd.isna(value) else str(value)
    return format_value(value)


def summary_tables(summary: pd.DataFrame, keys: list[str]) -> list[Block]:
    blocks: list[Block] = []
    for title, columns in SUMMARY_TABLES:
        rows = [[str(r[k]) for k in keys] + [_cell(r[c], c) for c in columns]
                for _, r in summary.iterrows()]
        headers = list(keys) + [column_header(c) for c in columns]
        blocks += [Heading(title, 3), Table(headers, rows, title)]
    return blocks


def versus_section(summary: pd.DataFrame) -> list[Block]:
    """Binarization vs early exit (beexbench.report.versus)."""
    rows = binarization_vs_early_exit(summary)
    intro = Paragraph(
        f"What binarization buys on top of early exit: {' and '.join(BINARY_MODELS)} on the "
        f"packed runtime against `{EARLY_EXIT_MODEL}` under the same exit policy, in the same "
        "run and target, on whichever runtime ran it fastest. A speed-up is "
        f"{EARLY_EXIT_MODEL}'s median over the binary model's; CPU is the mean process "
        "CPU time per query (every thread).")
    if not rows:
        return [Heading("Binarization vs early exit"), intro,
                Paragraph(f"Not measured: these runs hold no packed {' or '.join(BINARY_MODELS)} "
                          f"beside a timed {EARLY_EXIT_MODEL} under the same policy.")]
    return [Heading("Binarization vs early exit"), intro,
            Table(VERSUS_COLUMNS, rows, "binarization vs early exit")]


def _runs_table(runs: list[Run]) -> Table:
    rows = []
    for run in runs:
        r = run.results
        rows.append([
            ", ".join(run.run_ids), run.path.name, ", ".join(sorted(set(r["target"]))),
            ", ".join(sorted(set(r["host"]))), ", ".join(sorted(set(r["device"]))),
            ", ".join(sorted(set(r["dataset"]))), ", ".join(sorted(set(r["preset"]))),
            ", ".join(sorted(set(r["git_sha"]))), str(len(r)),
        ])
    return Table(["run_id", "directory", "target", "host", "device", "dataset", "preset",
                  "git_sha", "rows"], rows)


def _energy_sources(tidy: pd.DataFrame) -> str:
    energy = tidy[tidy["metric"].isin([M.ENERGY_J_PER_SAMPLE.name, M.IDLE_POWER_W.name])]
    if energy.empty:
        return "no energy figures in these runs"
    parts = []
    for (target, source, est), _ in energy.groupby(["target", "source", "estimated"]):
        kind = "estimated (model-based)" if est == "true" else "measured"
        parts.append(f"`{source or 'unknown'}` on {target}: {kind}")
    return "; ".join(parts)


def _config_lines(runs: list[Run], needle: tuple[str, ...]) -> list[str]:
    found = []
    for run in runs:
        for key, value in flatten(run.config):
            if any(n in key.lower() for n in needle):
                found.append(f"`{key}` = {value}")
    return list(dict.fromkeys(found))


def _recipes(runs: list[Run]) -> str:
    """Each model's recipe as its run's config.json records it."""
    found: dict[str, str] = {}
    for run in runs:
        for model, r in (run.config.get("recipes") or {}).items():
            if isinstance(r, dict):
                found[model] = (f"`{model}` lr {r.get('lr')}, binary lr {r.get('binary_lr')}, "
                                f"warm-up {r.get('warmup_frac')}, {r.get('epochs')} epochs "
                                f"({r.get('chosen_by')})")
    return "; ".join(found.values()) + "." if found else "not recorded in these runs."


def conventions(runs: list[Run], tidy: pd.DataFrame) -> list[Block]:
    policy_consts = _config_lines(runs, ("polic", "delta", "tau", "patience"))
    lengths = _config_lines(runs, ("max_len", "max_length", "seq_len"))
    splits = ", ".join(sorted(set(tidy["split"])))
    items = [
        "**1 MAC = 2 FLOPs.** fvcore counts MACs (its \"flop\" is a MAC); FLOPs are twice that.",
        "**ops = flops + bops/64**, the binary-network literature's convention (XNOR-Net, "
        "Rastegari et al., ECCV 2016; Bi-Real Net, Liu et al., ECCV 2018; BiBERT, Qin et al., "
        "ICLR 2022): a product with b_w-bit weights and b_a-bit activations counts "
        "**BOPs = 2 x MACs x b_w x b_a** instead of FLOPs, so a MAC weighs b_w x b_a / 32 ops: "
        "1/32 for W1A1, 8/32 for W1A8, 1 for W1A32 (one fp32 add), against 2 in fp32. "
        "Attention products count at the bits the model computes them at (BinaryBERT "
        "quantizes Q, K, V and the attention probabilities to b_a bits). ops is the "
        "headline compute figure for comparing fp and binary models.",
        "Counts are **per sample at the preset's reference length** (its max length), as BERT "
        "FLOP tables do"
        + (f" ({'; '.join(lengths)})." if lengths else "."),
        "Expected counts weight each exit's count by the share of eval samples that exit "
        "there under the policy; `flop_reduction_pct` = 100 x (1 - ops_expected / "
        "ops at the last exit).",
        "`model_bytes` is the size on disk of the packed artifact (bits packed 8 per byte); "
        "`size_ratio_vs_fp` divides fp-transformer's bytes (same preset) by the model's.",
        f"Accuracy is on the `{splits}` split; `acc_policy` is the overthinking-corrected "
        "accuracy under the exit policy, `acc_gain_from_exits_pts` = acc_policy - acc_final.",
        "Latency is at batch 1 with real exits (SingleStream); throughput at the largest batch "
        "measured (Offline). Speed-ups compare medians within one run and target: against "
        "fp-transformer on the same runtime, and against fp-transformer on its fastest "
        "runtime in the run (`best_fp_runtime` names it). On ONNX Runtime (`ort`, `ort-int8`) "
        "`model_bytes` is the size of the .onnx files the runtime runs.",
        "Energy per sample is net of the idle baseline. Sources: " + _energy_sources(tidy)
        + ". Estimated figures are model-based, never measurements, and are marked "
        "\"estimated\" in tables and hatched in the plot.",
        "The exit-policy constants (delta of beex-entropy-drop, tau of deebert-entropy, "
        "patience t of pabee-patience) are **ours, not the paper's**: configurable, and "
        "calibrated on the validation split"
        + (f" (used here: {'; '.join(policy_consts)})." if policy_consts else "."),
        "Training recipes are chosen on the validation split, never on test "
        "(beexbench/train/recipes.py): " + _recipes(runs),
        "Intervals: every accuracy figure and `flop_reduction_pct` carry a 95 % percentile "
        "bootstrap over the test samples (2,000 resamples, fixed generator); "
        "`acc_gain_from_exits_pts` carries the exact two-sided McNemar p of policy against "
        "final exit. Across seeds, the mean and a 95 % Student-t interval from 3 seeds on.",
        "Numbers: integers in full, figures of 10,000 or more rounded to an integer, others to "
        "4 significant digits; summary.csv and tidy.csv hold the exact values.",
    ]
    return [Heading("Conventions"), Bullets(items)]


def published_tables() -> list[Block]:
    """Our counts of BERT-base shapes beside BiBERT's published table."""
    return [Heading("Published tables"),
            *[Paragraph(text) for text in published_paragraphs()],
            Table(list(COLUMNS), published_rows(), "published tables")]


def _key_values(runs: list[Run], heading: str, attr: str, filename: str) -> list[Block]:
    """One key/value table per run, from one of its JSON files."""
    blocks: list[Block] = [Heading(heading)]
    for run in runs:
        title = f"{', '.join(run.run_ids) or run.path.name}"
        pairs = flatten(getattr(run, attr))
        if not pairs:
            blocks.append(Paragraph(f"{title}: no {filename} in the run."))
            continue
        blocks += [Heading(title, 3), Table(["key", "value"], [[k, v] for k, v in pairs])]
    return blocks


def _environment(runs: list[Run]) -> list[Block]:
    return _key_values(runs, "Environment", "environment", "environment.json")


def _configuration(runs: list[Run]) -> list[Block]:
    return _key_values(runs, "Configuration", "config", "config.json")


def _versus_fp(runs: list[Run]) -> list[Block]:
    rows = accuracy_vs_fp(runs)
    if not rows:
        return []
    return [Heading("Accuracy against fp-transformer"),
            Paragraph("Each model's accuracy under its exit policy minus fp-transformer's, on "
                      "the same test samples of the same run and seed (paired on sample id): "
                      "95 % percentile-bootstrap interval over the samples and the exact "
                      "two-sided McNemar test."),
            Table(DIFF_COLUMNS, rows, "accuracy against fp-transformer")]


def _across_seeds(summary: pd.DataFrame) -> list[Block]:
    columns, rows = across_seeds(summary)
    if not rows:
        return []
    return [Heading("Across seeds"),
            Paragraph("Mean over training seeds; in brackets the 95 % Student-t interval "
                      "across seeds, shown from 3 seeds on. It says how much a figure moves "
                      "when the model is trained again, which the per-sample intervals do "
                      "not."),
            Table(columns, rows, "across seeds")]


def _across_targets(summary: pd.DataFrame) -> list[Block]:
    columns, rows = across_targets(summary)
    if not rows:
        return []
    return [Heading("Across targets"),
            Paragraph("Each model on every target side by side: the p50 latency at batch 1 "
                      "and the accuracy under its policy, each the mean over the seeds "
                      "measured on that target. A sweep measures the same checkpoints "
                      "everywhere, so accuracy differs between targets only by how each "
                      "device rounds."),
            Table(columns, rows, "across targets")]


def build_document(runs: list[Run], tidy: pd.DataFrame, summary: pd.DataFrame,
                   plots: list[Plot]) -> list[Block]:
    """Every block of the report, in order."""
    keys = key_columns(tidy)
    claim_cols, claim_rows = paper_claims(summary)
    blocks: list[Block] = [
        Heading("beexbench report", 1),
        Paragraph(f"{len(runs)} run(s), {len(tidy)} result rows, {len(summary)} summary rows. "
                  "Tables: `tidy.csv` (every row of every run), `summary.csv` (one row per "
                  f"{' x '.join(keys)})."),
        *lead_section(runs, summary, next(
            (Figure(p.path, p.title, p.caption) for p in plots
             if p.path.endswith("accuracy_vs_latency.png")), None)),
        Heading("Runs"),
        _runs_table(runs),
        *conventions(runs, tidy),
        Heading("Paper claims"),
        Paragraph("Our measurement of each headline claim of the BEExformer paper beside the "
                  "published figure, for the run's reference configuration: beexformer under "
                  "its calibrated policy on its fastest valid runtime. Our presets are far "
                  "smaller than the paper's models, so the figures are not expected to "
                  "match."),
        Table(*headline_claims(summary), "paper claims"),
        Heading("Every beexformer configuration", 3),
        Table(claim_cols, claim_rows, "paper claims, details"),
        *published_tables(),
        *_versus_fp(runs),
        *_across_seeds(summary),
        *_across_targets(summary),
        Heading("Summary"),
        *summary_tables(summary, keys),
        *versus_section(summary),
        Heading("Plots"),
        *[Figure(p.path, p.title, p.caption) for p in plots
          if not p.path.endswith("accuracy_vs_latency.png")],
        *_environment(runs),
        *_configuration(runs),
    ]
    if not plots:
        blocks.insert(blocks.index(Heading("Plots")) + 1,
                      Paragraph("These runs hold nothing to plot."))
    return blocks
