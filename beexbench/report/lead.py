"""The report's first section, "What binarization and early exit buy here": the answer
in a few sentences per target, then the tables behind them (beexbench.report.answer)."""

from __future__ import annotations

import pandas as pd

from beexbench.measure import catalog as M
from beexbench.report.answer import (
    Config,
    Difference,
    Matched,
    configurations,
    groups,
    matched_speedups,
    pareto_front,
    static_depths,
)
from beexbench.report.blocks import Block, Bullets, Figure, Heading, Paragraph, Table
from beexbench.report.fmt import MISSING, format_value
from beexbench.results.rundir import Run
from beexbench.results.summary import DEGENERATE

TITLE = "What binarization and early exit buy here"


def _acc(c: Config) -> str:
    return f"{c.acc:.2f} % [{c.acc_low:.2f}, {c.acc_high:.2f}]"


def _ms(value: float | None) -> str:
    return MISSING if value is None else f"{format_value(value)} ms"


def _diff(d: Difference | None) -> str:
    if d is None:
        return MISSING
    return f"{d.points:+.2f} pts [{d.low:+.2f}, {d.high:+.2f}]"


def _sentence(m: Matched) -> str:
    b = m.binary
    parts = [f"**{b.model}** ({b.runtime}, {b.policy})"]
    facts = []
    if b.size_ratio:
        facts.append(f"is {b.size_ratio:.2f}x smaller than fp-transformer")
    if m.ops_ratio:
        facts.append(f"needs {m.ops_ratio:.2f}x fewer expected ops per sample "
                     "(flops + bops/64) than fp-transformer")
    if facts:
        parts.append(" and ".join(facts) + ";")
    if m.rival is None:
        f = m.fastest_fp
        if f is None:
            parts.append("no full-precision configuration was timed with a valid latency "
                         "beside it, so no speed-up is stated.")
            return " ".join(parts)
        d = m.fastest_diff
        speed = m.speedup_any
        verdict = (f"{speed:.2f}x faster" if speed and speed >= 1.0
                   else f"{1 / speed:.2f}x slower" if speed else "not comparable")
        parts.append(
            f"every full-precision configuration in this run is distinguishably less "
            f"accurate than it ({_acc(b)}), so none matches its accuracy; against the "
            f"fastest full-precision configuration at any accuracy, {f.name} at "
            f"{_ms(f.p50)} and {_acc(f)}, its {_ms(b.p50)} is **{verdict}** while it is "
            f"more accurate (full precision minus binary: {_diff(d)}).")
        return " ".join(parts)
    r, d = m.rival, m.diff
    assert d is not None
    speed = m.speedup
    verdict = (f"{speed:.2f}x faster" if speed and speed >= 1.0
               else f"{1 / speed:.2f}x slower" if speed else "not comparable")
    distinguishable = ("distinguishable from zero" if d.distinguishable
                       else "not distinguishable from zero")
    parts.append(
        f"its median batch-1 latency is {_ms(b.p50)} against {_ms(r.p50)} for the fastest "
        f"full-precision configuration whose accuracy is not distinguishably worse, "
        f"{r.name}: **{verdict}**. Accuracy {_acc(b)} against {_acc(r)}; the difference "
        f"(full precision minus binary) is {_diff(d)}, {distinguishable} "
        f"(McNemar p = {d.p:.3g}).")
    return " ".join(parts)


def headline(runs: list[Run], summary: pd.DataFrame) -> list[str]:
    """The answer as plain lines for a terminal: one per binary model and target."""
    configs = configurations(runs, summary)
    by_group = groups(configs)
    lines = []
    for m in matched_speedups(runs, configs):
        label = _group_label(m.binary.group, by_group[m.binary.group], len(by_group) > 1)
        lines.append(f"{label}: " + _sentence(m).replace("**", ""))
    return lines or ["no binary model was timed with a valid latency beside a "
                     "full-precision one in this run"]


def _group_label(key: tuple[str, str, str], members: list[Config], several: bool) -> str:
    target, run_id, seed = key
    device = members[0].device
    label = f"{target}" + (f" ({device})" if device else "")
    if several:
        label += f", run {run_id}" + (f", seed {seed}" if seed else "")
    return label


MATCHED_COLUMNS = ["target", "binary model", "runtime", "policy", "accuracy [95 %]",
                   "p50", "matched fp configuration", "fp accuracy [95 %]", "fp p50",
                   "fp - binary accuracy [95 %]", "p50 speed-up (x)",
                   "fastest fp at any accuracy", "its p50", "speed-up vs it (x)",
                   "size vs fp (x)", "expected ops vs fp (x)"]
STATIC_COLUMNS = ["target", "model", "runtime", "policy", "avg exit", "accuracy [95 %]",
                  "p50", "fixed depth", "fixed accuracy [95 %]", "fixed p50",
                  "policy - fixed accuracy [95 %]", "verdict"]
PARETO_COLUMNS = ["target", "configuration", "accuracy [95 %]", "p50", "timing",
                  "expected ops", "on the Pareto front"]


def _x(value: float | None) -> str:
    return MISSING if not value else format_value(value)


def lead_section(runs: list[Run], summary: pd.DataFrame,
                 figure: Figure | None = None) -> list[Block]:
    """The answer first: sentences per target, the accuracy-vs-latency plot (`figure`),
    then the evidence tables."""
    configs = configurations(runs, summary)
    by_group = groups(configs)
    several = len(by_group) > 1
    blocks: list[Block] = [Heading(TITLE), Paragraph(
        "Each binary model at its default exit policy on its fastest valid runtime, against "
        "the fastest full-precision configuration of the same run and target (any "
        "full-precision model, runtime, calibrated policy or fixed-depth truncation) whose "
        "accuracy is not worse by a margin the test samples can distinguish (95 % paired "
        "bootstrap interval of the accuracy difference on the same samples). Latencies are "
        "medians at batch 1; a timing judged not valid is never used.")]
    matched = matched_speedups(runs, configs)
    if not matched:
        blocks.append(Paragraph("Not answerable from these runs: no binary model was timed "
                                "with a valid latency beside a full-precision one."))
    for key, members in by_group.items():
        mine = [m for m in matched if m.binary.group == key]
        if mine:
            blocks += [Heading(_group_label(key, members, several), 3),
                       Bullets([_sentence(m) for m in mine])]
    if figure is not None:
        blocks.append(figure)
    rows = [[m.binary.target, m.binary.model, m.binary.runtime, m.binary.policy,
             _acc(m.binary), _ms(m.binary.p50),
             m.rival.name if m.rival else "none (all less accurate)",
             _acc(m.rival) if m.rival else MISSING,
             _ms(m.rival.p50) if m.rival else MISSING, _diff(m.diff), _x(m.speedup),
             m.fastest_fp.name if m.fastest_fp else MISSING,
             _ms(m.fastest_fp.p50) if m.fastest_fp else MISSING, _x(m.speedup_any),
             _x(m.binary.size_ratio), _x(m.ops_ratio)] for m in matched]
    if rows:
        blocks += [Heading("Accuracy-matched speed-ups", 3),
                   Table(MATCHED_COLUMNS, rows, "accuracy-matched speed-ups")]
    blocks += _static_blocks(configs)
    blocks += _degenerate_blocks(summary)
    blocks += _invalid_blocks(summary)
    blocks += _pareto_blocks(by_group)
    return blocks


def _static_blocks(configs: list[Config]) -> list[Block]:
    pairs = static_depths(configs)
    if not pairs:
        return []
    rows = [[s.policy.target, s.policy.model, s.policy.runtime, s.policy.policy,
             format_value(s.policy.avg_exit), _acc(s.policy), _ms(s.policy.p50),
             s.fixed.policy, _acc(s.fixed), _ms(s.fixed.p50), _diff(s.diff), s.verdict]
            for s in pairs]
    return [Heading("Early exit against the static depth of the same cost", 3),
            Paragraph("ELUE's question of every early-exit method: is it better than simply "
                      "truncating the model at the depth it costs on average? Each policy "
                      "beside the fixed-depth model (a forced exit) nearest its average exit "
                      "block, on the same runtime and test samples."),
            Table(STATIC_COLUMNS, rows, "early exit vs static depth")]


def _degenerate_blocks(summary: pd.DataFrame) -> list[Block]:
    if DEGENERATE not in summary:
        return []
    flagged = summary[summary[DEGENERATE].fillna("").astype(str) != ""]
    if flagged.empty:
        return [Paragraph("No calibrated exit policy acts as a fixed depth or sits at its "
                          "grid's edge.")]
    items = sorted({f"`{r['model']}` under `{r['policy']}` ({r['runtime']}): {r[DEGENERATE]}"
                    for _, r in flagged.iterrows()})
    return [Heading("Policies that act as a fixed depth", 3),
            Paragraph("A policy whose calibrated constant sits at its grid's edge, or that "
                      "stops 95 % or more of the samples at one exit, is not deciding per "
                      "sample: its accuracy and cost are those of a fixed depth, and the "
                      "claims measured under it say so."),
            Bullets(items)]


def _invalid_blocks(summary: pd.DataFrame) -> list[Block]:
    if M.TIMING_VALID.name not in summary:
        return []
    verdicts = pd.to_numeric(summary[M.TIMING_VALID.name], errors="coerce")
    bad = summary[verdicts == 0]
    if bad.empty:
        return []
    items = [f"`{r['model']}` ({r['runtime']}, {r['policy']}) on {r['target']}: timing not "
             f"valid (p50 {format_value(r['latency_p50_ms'])} ms shown in the tables, used "
             "in no ratio)" for _, r in bad.iterrows()]
    return [Heading("Timings that are not valid", 3),
            Paragraph("These latency loops missed a minimum or ran on a contended machine "
                      "(more runnable threads than the cores the run may use, CPU "
                      "steal, or preemption; `timing_valid` and its note in results.csv "
                      "say which)."),
            Bullets(items)]


def _pareto_blocks(by_group: dict[tuple[str, str, str], list[Config]]) -> list[Block]:
    rows = []
    for members in by_group.values():
        front = pareto_front(members)
        for c in sorted(members, key=lambda c: (c.p50 is None, c.p50 or 0.0, -c.acc)):
            timing = ("not timed" if c.timing_valid is None and c.p50 is None
                      else "NOT VALID" if c.p50 is None else "valid")
            rows.append([c.target, c.name, _acc(c), _ms(c.p50), timing,
                         format_value(c.ops), "yes" if c.name in front else ""])
    if not rows:
        return []
    return [Heading("Accuracy against latency", 3),
            Paragraph("Every configuration, fastest first; the Pareto front (no other "
                      "configuration both at least as accurate and at least as fast) is "
                      "marked, and drawn in the accuracy-vs-latency plot."),
            Table(PARETO_COLUMNS, rows, "accuracy vs latency")]
