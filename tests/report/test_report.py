"""`beexbench report` on synthetic run directories."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from conftest import SYNTHETIC_RUN

from beexbench.cli import report as report_cmd
from beexbench.core.errors import UsageError
from beexbench.report import build_report
from beexbench.report.fmt import format_tolerance, format_value
from beexbench.report.plots import pareto_front
from beexbench.results.summary import BY_COLUMN, HEADLINE_COLUMNS, column_header

synthetic_run = SYNTHETIC_RUN
write_run = synthetic_run.write_run


@pytest.fixture(scope="module")
def two_targets(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    runs = [write_run(root), write_run(root, target="cuda", host="gpu-box", seed=1)]
    out = root / "report"
    return runs, out, build_report(runs, out)


def _text_frame(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _md_tables(md: str) -> list[list[dict[str, str]]]:
    """Every pipe table in a Markdown document as a list of row dicts."""
    tables, current = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            current.append([c.strip() for c in line.strip().strip("|").split(" | ")])
        elif current:
            header, rows = current[0], current[2:]
            tables.append([dict(zip(header, r, strict=True)) for r in rows])
            current = []
    return tables


def test_writes_every_file(two_targets):
    _, out, files = two_targets
    for name in ("tidy.csv", "summary.csv", "report.md", "report.html"):
        assert (out / name).stat().st_size > 0, name
    names = {p.name for p in files.plots}
    assert names == {"accuracy_vs_latency.png", "accuracy_vs_ops.png", "model_bytes.png",
                     "latency.png", "exit_depth.png",
                     "energy.png", "policy_sweep.png"}
    for plot in files.plots:
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tidy_repeats_every_results_row(two_targets):
    runs, out, _ = two_targets
    tidy = _text_frame(out / "tidy.csv")
    results = pd.concat([_text_frame(r / "results.csv") for r in runs], ignore_index=True)
    pd.testing.assert_frame_equal(tidy[list(results.columns)], results)


def test_summary_rows_and_values_come_from_results(two_targets):
    runs, out, _ = two_targets
    summary = _text_frame(out / "summary.csv")
    results = pd.concat([_text_frame(r / "results.csv") for r in runs], ignore_index=True)
    # 4 models, fp-transformer-ee twice (two policies), on two targets.
    assert len(summary) == 10
    md = (out / "report.md").read_text()
    acc_table = next(t for t in _md_tables(md) if t and column_header("acc_final") in t[0])
    assert "host" in acc_table[0]  # two hosts: part of the row key
    ee = summary[(summary["model"] == "fp-transformer-ee") & (summary["target"] == "cpu")]
    assert set(ee["policy"]) == {"deebert-entropy", "pabee-patience"}
    # model_bytes is stored once, under the default policy, yet shown on both rows.
    assert ee["model_bytes"].nunique() == 1 and ee["model_bytes"].iloc[0] != ""
    metric_of = {c: (h.metric.name, h.stat) for c, h in BY_COLUMN.items()}
    metric_of["ops_exit_last"] = ("ops_exit_3", "value")
    checked = 0
    for _, row in summary.iterrows():
        mine = results[(results["model"] == row["model"]) & (results["target"] == row["target"])]
        for col in HEADLINE_COLUMNS:
            if row[col] == "":
                continue
            metric, stat = metric_of.get(col, (col, "value"))
            hits = mine[(mine["metric"] == metric) & (mine["stat"] == stat)]
            own = hits[hits["policy"] == row["policy"]]
            hits = own if not own.empty else hits
            assert len(hits) == 1, (row["model"], row["policy"], col)
            assert float(row[col]) == float(hits["value"].iloc[0]), (row["model"], col)
            checked += 1
    assert checked > 150
    est = summary.set_index(["model", "target", "policy"])["energy_estimated"]
    assert est[("beexformer", "cpu", "beex-entropy-drop")] == "estimated"
    assert est[("beexformer", "cuda", "beex-entropy-drop")] == "measured"


def test_every_report_figure_is_the_summary_figure(two_targets):
    _, out, _ = two_targets
    summary = _text_frame(out / "summary.csv")
    keyed = {(r["model"], r["target"], r["policy"]): r for _, r in summary.iterrows()}
    tables = _md_tables((out / "report.md").read_text())
    by_header = {column_header(c): c for c in HEADLINE_COLUMNS}
    compared = 0
    for table in tables:
        for row in table:
            key = (row.get("model"), row.get("target"), row.get("policy"))
            if key not in keyed or "claim" in row:
                continue
            for header, shown in row.items():
                col = by_header.get(header)
                if col is None:
                    continue
                exact = keyed[key][col]
                if exact == "":
                    assert shown == "—"
                    continue
                assert shown == format_value(float(exact)), (key, col)
                assert abs(float(shown) - float(exact)) <= format_tolerance(float(exact))
                compared += 1
    assert compared == len(summary) * len(HEADLINE_COLUMNS) - (summary[list(HEADLINE_COLUMNS)]
                                                              == "").sum().sum()


def test_paper_claims_table(two_targets):
    _, out, _ = two_targets
    summary = _text_frame(out / "summary.csv")
    md = (out / "report.md").read_text()
    headline, claims = [t for t in _md_tables(md) if t and "claim" in t[0]][:2]
    # The headline: one row per claim for each run's reference configuration.
    assert [r["claim"] for r in headline] == [c for c in (
        "Size reduction vs full precision", "FLOP reduction from early exit",
        "Accuracy change from early exit") for _ in range(2)]
    assert all(r["measured on"].startswith("beexformer, beex-entropy-drop") for r in headline)
    published = {r["claim"]: r["published"] for r in claims}
    assert sorted(published.values()) == ["+5.98", "18.44", "54.85"]
    column = {"Size reduction vs full precision": "size_ratio_vs_fp",
              "FLOP reduction from early exit": "flop_reduction_pct",
              "Accuracy change from early exit": "acc_gain_from_exits_pts"}
    assert len(claims) == 6  # three claims on two targets
    words = {r["claim"]: r["uncertainty"] for r in claims}
    assert words["Size reduction vs full precision"].startswith("exact")
    gain = words["Accuracy change from early exit"]
    assert gain.startswith(("not distinguishable from 0", "different from 0")), gain
    for row in claims:
        ours = summary[(summary["model"] == "beexformer") & (summary["target"] == row["target"])]
        assert row["measured"] == format_value(float(ours[column[row["claim"]]].iloc[0]))
        assert (row["dataset"], row["preset"]) == ("synthetic-sst", "tiny")


def test_published_tables_set_our_counts_beside_bibert(two_targets):
    from beexbench.config import PRESETS
    from beexbench.measure.counting import count_model
    from beexbench.report.published import LENGTH, PRESET

    _, out, _ = two_targets
    md = (out / "report.md").read_text()
    assert "## Published tables" in md and "BiBERT" in md and "ICLR 2022" in md
    table = next(t for t in _md_tables(md) if t and "published ops (G)" in t[0])
    published = [(r["published model"], r["W-E-A bits"], r["published ops (G)"],
                  r["published size (MB = MiB)"]) for r in table]
    assert published == [("BERT-base (full precision)", "32-32-32", "22.5", "418"),
                         ("BinaryBERT", "1-1-4", "1.5", "16.5"),
                         ("BinaryBERT", "1-1-2", "0.8", "16.5"),
                         ("BinaryBERT", "1-1-1", "0.4", "16.5"),
                         ("BiBERT", "1-1-1", "0.4", "13.4")]
    # Ours are count's figures at the tables' shape, computed while the report is built.
    preset = PRESETS.get(PRESET)
    fp, a4 = table[0], table[1]
    counted = count_model("binarybert-a4", preset, LENGTH)
    assert a4["our ops (G)"] == format_value(counted.value("ops_exit_12") / 1e9)
    assert a4["our size (MiB)"] == format_value(counted.value("model_bytes") / 2 ** 20)
    assert abs(float(fp["our ops (G)"]) - 22.35) < 0.01 * 22.35
    assert abs(float(a4["our ops (G)"]) - 1.5) < 0.05 * 1.5
    for row in table:
        assert 0.8 < float(row["ours / published ops"]) < 1.2, row
        assert 0.9 < float(row["ours / published size"]) < 1.1, row


def test_claims_without_beexformer_say_so(tmp_path):
    run = write_run(tmp_path, models=["fp-transformer", "binarybert"])
    build_report([run], tmp_path / "out")
    md = (tmp_path / "out" / "report.md").read_text()
    claims = next(t for t in _md_tables(md) if t and "claim" in t[0])
    assert len(claims) == 3
    assert all(r["measured"].startswith("not measured: no beexformer") for r in claims)


def test_report_states_conventions_and_environment(two_targets):
    _, out, _ = two_targets
    md = (out / "report.md").read_text()
    for phrase in ("1 MAC = 2 FLOPs", "ops = flops + bops/64", "BOPs = 2 x MACs x b_w x b_a",
                   "XNOR-Net", "Bi-Real Net", "BiBERT", "reference length",
                   "ours, not the paper's", "validation split", "`codecarbon-tdp` on cpu: "
                   "estimated", "`nvml` on cuda: measured", "2.4.1+cpu", "cpu.flags"):
        assert phrase in md, phrase


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "action", "data", "poster"):
                self.refs.append(value or "")
                if tag == "img":
                    self.images.append(value or "")
        if tag in ("script", "link", "iframe", "object", "embed"):
            self.refs.append(f"<{tag}>")


def test_html_is_self_contained(two_targets):
    _, out, files = two_targets
    page = (out / "report.html").read_text()
    parser = _Refs()
    parser.feed(page)
    assert all(r.startswith("data:image/png;base64,") for r in parser.refs), parser.refs[:3]
    assert len(parser.images) == len(files.plots)
    assert not re.search(r"url\(|@import|https?://", page.split("<body>")[0])
    # Every plot file is the one inlined.
    import base64
    inlined = {base64.b64decode(src.split(",", 1)[1]) for src in parser.images}
    assert inlined == {p.read_bytes() for p in files.plots}


def test_report_without_samples_or_sweeps(tmp_path):
    run = write_run(tmp_path, models=["fp-transformer", "binarybert"])
    files = build_report([run], tmp_path / "out")
    names = {p.name for p in files.plots}
    # binarybert has no raw samples: latency falls back to its statistics.
    assert "latency.png" in names
    assert "policy_sweep.png" not in names and "exit_depth.png" not in names
    # One host: rows are told apart without it, so the report's tables leave it out.
    md = (tmp_path / "out" / "report.md").read_text()
    acc_table = next(t for t in _md_tables(md) if t and column_header("acc_final") in t[0])
    assert list(acc_table[0])[:4] == ["model", "target", "policy", "runtime"]
    assert "host" not in acc_table[0]


def test_pareto_front():
    pts = pd.DataFrame({"x": [1, 2, 3, 4, 5], "y": [50, 40, 60, 60, 70]})
    assert list(pareto_front(pts, "x", "y").index) == [0, 2, 4]


@pytest.mark.parametrize("value,text", [(65017.0, "65017"), (208345.6, "208346"),
                                        (18.456711, "18.46"), (0.70230395, "0.7023"),
                                        (-5.000000000000014, "-5"), (float("nan"), "—")])
def test_format_value(value, text):
    assert format_value(value) == text


@pytest.mark.parametrize("case", ["missing", "no_results", "bad_columns", "bad_value",
                                  "unwritable"])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, case):
    import argparse

    run = write_run(tmp_path / "ok", models=["fp-transformer"])
    out = tmp_path / "out"
    target = tmp_path / "x"
    if case == "missing":
        target = tmp_path / "nope"
    elif case == "no_results":
        target.mkdir()
    elif case == "bad_columns":
        target.mkdir()
        (target / "results.csv").write_text("run_id,model,value\nr,m,1\n")
    elif case == "bad_value":
        target.mkdir()
        results = _text_frame(run / "results.csv")
        results.loc[3, "value"] = "lots"
        results.to_csv(target / "results.csv", index=False)
    elif case == "unwritable":
        target = run
        out = tmp_path / "file"
        out.write_text("not a directory")
    parser = argparse.ArgumentParser()
    report_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["report", str(target), "--out", str(out)])
    with pytest.raises(UsageError) as err:
        report_cmd.run(args)
    message = str(err.value)
    assert "\n" not in message and str(target if case != "unwritable" else out) in message
