"""Seaborn plots of a merged report, written as PNG files (matplotlib's Agg backend).

Each `plot_*` function takes the summary table (with a `label` column from
`labels.series_labels`) and whatever raw data it needs, writes one PNG and returns
its path, or returns None when the runs hold nothing to draw. With several targets,
every plot is faceted by target (one panel each).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    EngFormatter,
    FuncFormatter,
    LogLocator,
    NullFormatter,
)

from beexbench.core.atomic import atomic_write_bytes  # noqa: E402
from beexbench.measure import catalog as M  # noqa: E402
from beexbench.report.fmt import format_value  # noqa: E402
from beexbench.report.pareto import on_front  # noqa: E402

DPI = 110
# PNG metadata would otherwise name matplotlib's web site inside the report.
PNG_METADATA = {"Software": None}


@dataclass(frozen=True)
class Plot:
    """One written figure: its file (relative to the report directory) and caption."""

    path: str
    title: str
    caption: str


def _targets(df: pd.DataFrame) -> list[str]:
    return sorted(df["target"].unique())


def _facets(targets: list[str], width: float = 6.0, height: float = 4.2,
            sharey: bool = False) -> tuple[plt.Figure, dict[str, plt.Axes]]:
    # Constrained layout makes room for legends outside the axes and for long tick
    # labels inside the figure, where tight_layout gives up with a warning.
    fig, axes = plt.subplots(1, len(targets), figsize=(width * len(targets), height),
                             squeeze=False, sharey=sharey, layout="constrained")
    out = dict(zip(targets, axes[0], strict=True))
    if len(targets) > 1:
        for target, ax in out.items():
            ax.set_title(f"target: {target}")
    return fig, out


def _save(fig: plt.Figure, out_dir: Path, name: str) -> str:
    rel = f"plots/{name}.png"
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=DPI, metadata=PNG_METADATA)
    plt.close(fig)
    atomic_write_bytes(out_dir / rel, png.getvalue(), what="plot")
    return rel


def _log_x(ax: plt.Axes) -> None:
    # Engineering notation on decades only; minor-tick labels would overlap.
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(EngFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _legend_outside(ax: plt.Axes, **kw: object) -> None:
    """The legend to the right of the axes, never over the data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=7,
              **kw)


def _maybe_log_x(ax: plt.Axes, values: pd.Series) -> bool:
    """A log axis where the values span more than a decade; returns whether it is one.
    Its ticks read as plain numbers (0.2, not 200 m: the unit is in the label)."""
    positive = values[values > 0]
    if len(positive) and positive.max() / positive.min() > 10.0:
        _log_x(ax)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        return True
    return False


MARKERS = "osD^vP*X<>phH8d"


def _encoding(df: pd.DataFrame, marked: str) -> tuple[dict[str, tuple], dict[str, str]]:
    """A colour per model and a marker per value of `marked` (runtime or policy): a
    legend of one entry per series outgrows the figure once runs hold dozens of them."""
    keys = sorted(df[marked].astype(str).unique())
    return (_palette(sorted(df["model"].unique())),
            dict(zip(keys, MARKERS * (len(keys) // len(MARKERS) + 1), strict=False)))


def _encoding_handles(palette: dict[str, tuple], markers: dict[str, str]) -> list:
    """Legend entries for `_encoding`, and the Pareto front's line."""
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=c, label=m)
               for m, c in palette.items()]
    handles += [plt.Line2D([], [], marker=mk, linestyle="", color="0.3", label=k)
                for k, mk in markers.items()]
    handles.append(plt.Line2D([], [], color="0.3", linestyle="--", label="Pareto front"))
    return handles


def _palette(labels: list[str]) -> dict[str, tuple]:
    colors = sns.color_palette("tab10", n_colors=max(len(labels), 1))
    return dict(zip(labels, colors, strict=False))


def pareto_front(points: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """The points on the front (beexbench.report.pareto), by increasing `x`."""
    front = points[on_front(points[x].tolist(), points[y].tolist())]
    return front.sort_values([x, y], ascending=[True, False])


def plot_accuracy_vs_ops(summary: pd.DataFrame, out_dir: Path) -> Plot | None:
    df = summary.copy()
    # A final-only model computes its full depth on every sample, so its expected ops
    # are its deepest exit's ops and its policy accuracy is its final accuracy.
    df["x"] = df[M.OPS_EXPECTED.name].fillna(df["ops_exit_last"])
    df["y"] = df[M.ACC_POLICY.name].fillna(df[M.ACC_FINAL.name])
    df = df.dropna(subset=["x", "y"])
    if df.empty:
        return None
    palette, markers = _encoding(df, "policy")
    fig, axes = _facets(_targets(df), width=7.5, height=4.8)
    for target, ax in axes.items():
        part = df[df["target"] == target]
        for _, row in part.iterrows():
            ax.scatter(row["x"], row["y"], s=60, color=palette[row["model"]],
                       marker=markers.get(str(row["policy"]), "o"), zorder=3)
        front = pareto_front(part, "x", "y")
        ax.step(front["x"], front["y"], where="post", color="0.3", linestyle="--",
                linewidth=1.2, zorder=1)
        _log_x(ax)
        ax.set_xlabel(M.OPS_EXPECTED.header() + ", log scale")
        ax.set_ylabel(M.ACC_POLICY.header())
        # colour: the model; marker: the policy (ops do not depend on the runtime)
        _legend_outside(ax, handles=_encoding_handles(palette, markers))
    return Plot(_save(fig, out_dir, "accuracy_vs_ops"), "Accuracy vs expected ops",
                "Accuracy under each model's exit policy against the expected ops per sample "
                "(final-only models: full depth). The dashed line is the Pareto front.")


def plot_accuracy_vs_latency(summary: pd.DataFrame, out_dir: Path) -> Plot | None:
    """Accuracy against measured batch-1 p50, every configuration, with the Pareto front
    (valid timings only; a timing judged not valid is drawn hollow and left off the front)."""
    df = summary.copy()
    df["x"] = pd.to_numeric(df["latency_p50_ms"], errors="coerce")
    df["y"] = df[M.ACC_POLICY.name].fillna(df[M.ACC_FINAL.name])
    df = df.dropna(subset=["x", "y"])
    if df.empty:
        return None
    verdict = pd.to_numeric(df.get(M.TIMING_VALID.name), errors="coerce")
    df["valid"] = ~(verdict == 0) if verdict is not None else True
    palette, markers = _encoding(df, "runtime")
    fig, axes = _facets(_targets(df), width=7.5, height=4.8)
    for target, ax in axes.items():
        part = df[df["target"] == target]
        for _, row in part.iterrows():
            color = palette[row["model"]]
            ax.scatter(row["x"], row["y"], s=70, marker=markers.get(str(row["runtime"]), "o"),
                       facecolors=color if row["valid"] else "none", edgecolors=color,
                       linewidths=1.4, zorder=3)
        # One front per run: only configurations measured side by side are compared.
        for _, run in part[part["valid"]].groupby("run_id"):
            front = pareto_front(run, "x", "y")
            ax.step(front["x"], front["y"], where="post", color="0.3", linestyle="--",
                    linewidth=1.2, zorder=1)
        logged = _maybe_log_x(ax, part["x"])
        ax.set_xlabel(M.LATENCY_MS.header("p50") + (", log scale" if logged else ""))
        ax.set_ylabel(M.ACC_POLICY.header())
        handles = _encoding_handles(palette, markers)
        if not df["valid"].all():
            handles.append(plt.Line2D([], [], marker="o", linestyle="", markerfacecolor="none",
                                      color="0.3", label="timing not valid"))
        _legend_outside(ax, handles=handles)
    return Plot(_save(fig, out_dir, "accuracy_vs_latency"), "Accuracy vs latency",
                "Accuracy under each configuration's exit policy (fixed depths included) "
                "against its median batch-1 latency: colour is the model, marker the "
                "runtime. The dashed line is the Pareto front of each run's valid timings; hollow "
                "markers are timings judged not valid.")


def plot_model_bytes(summary: pd.DataFrame, out_dir: Path) -> Plot | None:
    df = summary.dropna(subset=[M.MODEL_BYTES.name]).drop_duplicates(
        subset=["target", "model", "runtime", "host", "run_id"])
    if df.empty:
        return None
    df = df.assign(label=df["model"])
    fig, axes = _facets(_targets(df))
    for target, ax in axes.items():
        part = df[df["target"] == target].sort_values(M.MODEL_BYTES.name, ascending=False)
        sns.barplot(data=part, y="label", x=M.MODEL_BYTES.name, hue="label", legend=False,
                    palette=_palette(list(part["label"])), ax=ax)
        for y, value in enumerate(part[M.MODEL_BYTES.name]):  # bars sit at y = 0, 1, ...
            ax.annotate(format_value(value), (value, y), xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize=8)
        ax.set_xscale("log")
        ax.set_xlim(right=part[M.MODEL_BYTES.name].max() * 4)
        ax.set_xlabel(M.MODEL_BYTES.header() + ", log scale")
        ax.set_ylabel("")
    return Plot(_save(fig, out_dir, M.MODEL_BYTES.name), "Model size",
                "Size on disk of each model's packed artifact (log scale).")


def plot_latency(summary: pd.DataFrame, samples: pd.DataFrame, out_dir: Path) -> Plot | None:
    """Raw batch-1 samples as box plots; models without samples as their p50/p90/p99 marks."""
    stats = summary.dropna(subset=["latency_p50_ms"])
    if stats.empty and samples.empty:
        return None
    labels = sorted(set(stats["label"]) | set(samples.get("label", [])))
    palette = _palette(labels)
    targets = sorted(set(stats["target"]) | set(samples.get("target", [])))
    fig, axes = _facets(targets, height=max(3.0, 0.55 * len(labels) + 1.5))
    for target, ax in axes.items():
        raw = samples[samples["target"] == target] if not samples.empty else samples
        st = stats[(stats["target"] == target) & ~stats["label"].isin(set(raw.get("label", [])))]
        order = sorted(set(raw.get("label", [])) | set(st["label"]))
        if not raw.empty:
            with warnings.catch_warnings():
                # seaborn 0.13 passes matplotlib 3.11 a deprecated boxplot argument.
                warnings.simplefilter("ignore", matplotlib.MatplotlibDeprecationWarning)
                sns.boxplot(data=raw, x="value", y="label", hue="label", order=order,
                            palette=palette, legend=False, fliersize=2, ax=ax)
        for _, row in st.iterrows():
            y = order.index(row["label"])
            ax.plot([row["latency_p50_ms"]], [y], marker="D", color=palette[row["label"]])
            ax.hlines(y, row["latency_p50_ms"], row["latency_p99_ms"],
                      color=palette[row["label"]], linewidth=1.5)
            ax.plot([row["latency_p90_ms"]], [y], marker="|", markersize=12, color="0.2")
            ax.plot([row["latency_p99_ms"]], [y], marker="|", markersize=12, color="0.2")
        ax.set_yticks(range(len(order)), order)
        spread = pd.concat([raw["value"] if not raw.empty else pd.Series(dtype=float),
                            st["latency_p50_ms"], st["latency_p99_ms"]]).astype(float)
        logged = _maybe_log_x(ax, spread)
        ax.set_xlabel(M.LATENCY_MS.header() + (", log scale" if logged else ""))
        ax.set_ylabel("")
    return Plot(_save(fig, out_dir, "latency"), "Latency at batch 1",
                "Distribution of per-sample latency at batch 1 with real exits. Boxes: raw "
                "samples; a diamond with a line: a model without raw samples (p50 to p99, "
                "ticks at p90 and p99).")


def plot_exit_depth(exits: pd.DataFrame, out_dir: Path) -> Plot | None:
    """Share of eval samples stopping at each block, one panel per exit model and policy
    (fixed depths left out: each stops every sample at its own block)."""
    if not exits.empty:
        exits = exits[~exits["policy"].astype(str).str.startswith("fixed-depth-")]
    if exits.empty:
        return None
    panels = exits[["target", "label"]].drop_duplicates().sort_values(["target", "label"])
    n = len(panels)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False,
                             layout="constrained")
    several_targets = panels["target"].nunique() > 1
    for ax, (_, panel) in zip(axes.flat, panels.iterrows(), strict=False):
        part = exits[(exits["target"] == panel["target"]) & (exits["label"] == panel["label"])]
        blocks = np.arange(1, int(part["blocks"].max()) + 1)
        share = part["exit_layer"].value_counts(normalize=True).reindex(blocks, fill_value=0)
        sns.barplot(x=[str(b) for b in blocks], y=100 * share.values, color="C0", ax=ax)
        title = panel["label"] + (f" ({panel['target']})" if several_targets else "")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("exit block")
        ax.set_ylabel("samples (%)")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return Plot(_save(fig, out_dir, "exit_depth"), "Exit depth",
                "Share of eval samples whose computation stopped at each block, under the "
                "model's exit policy (from predictions/*.csv).")


def plot_energy(summary: pd.DataFrame, out_dir: Path) -> Plot | None:
    """Net energy per sample; model-based (estimated) figures hatched and labelled."""
    df = summary.dropna(subset=[M.ENERGY_J_PER_SAMPLE.name])
    if df.empty:
        return None
    palette = _palette(sorted(df["label"].unique()))
    fig, axes = _facets(_targets(df), width=7.0, height=4.6)
    for target, ax in axes.items():
        part = df[df["target"] == target].sort_values("label").reset_index(drop=True)
        estimated = part["energy_estimated"] == "estimated"
        bars = ax.barh(part["label"], part[M.ENERGY_J_PER_SAMPLE.name],
                       color=[palette[x] for x in part["label"]], edgecolor="0.2")
        for bar, est, source in zip(bars, estimated, part["energy_source"], strict=True):
            if est:
                bar.set_hatch("///")
            tag = f"estimated ({source})" if est else f"measured ({source})"
            ax.annotate(tag, (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                        xytext=(4, 0), textcoords="offset points", va="center", fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, part[M.ENERGY_J_PER_SAMPLE.name].max() * 1.6)
        ax.set_xlabel(M.ENERGY_J_PER_SAMPLE.header("net") + ", idle baseline subtracted")
        handles = [Patch(facecolor="white", edgecolor="0.2", label="measured"),
                   Patch(facecolor="white", edgecolor="0.2", hatch="///",
                         label="estimated (model-based)")]
        ax.legend(handles=handles, fontsize=7, loc="upper center", ncol=2,
                  bbox_to_anchor=(0.5, -0.16))
    return Plot(_save(fig, out_dir, "energy"), "Energy per sample",
                "Net energy per sample. Hatched bars marked 'estimated' are model-based "
                "figures (e.g. codecarbon), not measurements.")


def plot_sweeps(sweeps: pd.DataFrame, out_dir: Path) -> Plot | None:
    """Accuracy against expected ops along each policy's threshold sweep."""
    if sweeps.empty:
        return None
    palette = _palette(sorted(sweeps["label"].unique()))
    fig, axes = _facets(_targets(sweeps))
    for target, ax in axes.items():
        part = sweeps[sweeps["target"] == target]
        for label, line in part.groupby("label"):
            line = line.sort_values("ops")
            ax.plot(line["ops"], line["acc"], marker="o", label=label, color=palette[label])
            for _, pt in line.iterrows():
                ax.annotate(pt["param"], (pt["ops"], pt["acc"]), xytext=(3, 3),
                            textcoords="offset points", fontsize=6)
        _log_x(ax)
        ax.set_xlabel(M.SWEEP_OPS_EXPECTED.header() + ", log scale")
        ax.set_ylabel(M.SWEEP_ACC_POLICY.header())
        _legend_outside(ax)
    return Plot(_save(fig, out_dir, "policy_sweep"), "Exit-policy sweep",
                "Accuracy against expected ops as each policy's constant is swept "
                "(points labelled with the constant's value).")


def make_plots(summary: pd.DataFrame, samples: pd.DataFrame, exits: pd.DataFrame,
               sweeps: pd.DataFrame, out_dir: Path) -> list[Plot]:
    """Write every plot the data allows; return them in report order."""
    with sns.axes_style("whitegrid"), plt.rc_context({"figure.max_open_warning": 0}):
        made = [
            plot_accuracy_vs_latency(summary, out_dir),
            plot_accuracy_vs_ops(summary, out_dir),
            plot_sweeps(sweeps, out_dir),
            plot_model_bytes(summary, out_dir),
            plot_latency(summary, samples, out_dir),
            plot_exit_depth(exits, out_dir),
            plot_energy(summary, out_dir),
        ]
    return [p for p in made if p is not None]
