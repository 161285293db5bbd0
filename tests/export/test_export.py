"""`beexbench export`: github-action-benchmark files, JSON lines, the MLflow mapping."""

from __future__ import annotations

import importlib.util
import json
import math
import sys

import pandas as pd
import pytest
from conftest import SYNTHETIC_RUN, error_line

from beexbench.cli.main import main
from beexbench.export.formats import format_names
from beexbench.export.mlflow_runs import configurations, sanitize
from beexbench.results.rundir import load_run

write_run = SYNTHETIC_RUN.write_run
MODELS = ["fp-transformer", "beexformer"]
SMALLER = "benchmark-smaller-is-better.json"
BIGGER = "benchmark-bigger-is-better.json"

# github-action-benchmark's documented format of its custom tools: a list of objects with
# name, unit and value required, range and extra optional; nothing else.
SCHEMA = {
    "required": {"name": str, "unit": str, "value": (int, float)},
    "optional": {"range": str, "extra": str},
}


def validate(entries: object) -> None:
    assert isinstance(entries, list) and entries
    for entry in entries:
        assert isinstance(entry, dict), entry
        for key, kind in SCHEMA["required"].items():
            assert key in entry and isinstance(entry[key], kind), (key, entry)
        for key, kind in SCHEMA["optional"].items():
            assert key not in entry or isinstance(entry[key], kind), (key, entry)
        assert not isinstance(entry["value"], bool) and math.isfinite(entry["value"]), entry
        assert set(entry) <= set(SCHEMA["required"]) | set(SCHEMA["optional"]), entry
        assert entry["name"] and entry["unit"], entry


def export_gab(run, out) -> tuple[list[dict], list[dict]]:
    assert main(["-q", "export", str(run), "--format", "github-action-benchmark",
                 "--out", str(out)]) == 0
    return (json.loads((out / SMALLER).read_text()), json.loads((out / BIGGER).read_text()))


def by_name(entries: list[dict]) -> dict[str, dict]:
    return {e["name"]: e for e in entries}


def stat(run, model: str, policy: str, metric: str, stat_: str) -> float:
    df = load_run(run).results
    hit = df[(df["model"] == model) & (df["policy"] == policy) & (df["metric"] == metric)
             & (df["stat"] == stat_)]
    assert len(hit) == 1
    return float(hit["value"].iloc[0])


def test_formats_are_registered():
    assert sorted(format_names()) == ["github-action-benchmark", "jsonl", "mlflow"]


def test_github_action_benchmark_files_follow_the_format_and_names_are_stable(tmp_path):
    a = write_run(tmp_path / "a", models=MODELS, run_id="run-a")
    b = write_run(tmp_path / "b", models=MODELS, run_id="run-b", latency_scale=1.5,
                  host="other-host")
    smaller_a, bigger_a = export_gab(a, tmp_path / "out-a")
    smaller_b, bigger_b = export_gab(b, tmp_path / "out-b")
    for entries in (smaller_a, bigger_a, smaller_b, bigger_b):
        validate(entries)
        names = [e["name"] for e in entries]
        assert len(names) == len(set(names))
        assert not any("run-a" in n or "run-b" in n or "2026" in n for n in names)
    # Stable names: the same series in both runs, values of their own.
    assert [e["name"] for e in smaller_a] == [e["name"] for e in smaller_b]
    assert [e["name"] for e in bigger_a] == [e["name"] for e in bigger_b]
    lat = "cpu/beexformer/fake-quant/beex-entropy-drop/latency_ms p50"
    assert by_name(smaller_b)[lat]["value"] > by_name(smaller_a)[lat]["value"]
    assert "run_id: run-a" in by_name(smaller_a)[lat]["extra"]
    assert "host: other-host" in by_name(smaller_b)[lat]["extra"]
    # Directions from the catalogue; a metric without one (params_total) is left out.
    assert "cpu/beexformer/fake-quant/beex-entropy-drop/acc_policy" in by_name(bigger_a)
    assert "cpu/beexformer/fake-quant/beex-entropy-drop/model_bytes" in by_name(smaller_a)
    assert not any("params_total" in e["name"] for e in smaller_a + bigger_a)
    assert not any("sweep_" in e["name"] for e in smaller_a + bigger_a)


def test_latency_range_is_the_p90_spread_and_accuracy_range_the_interval(tmp_path):
    run = write_run(tmp_path / "runs", models=MODELS)
    smaller, bigger = export_gab(run, tmp_path / "out")
    policy = "beex-entropy-drop"
    lat = by_name(smaller)[f"cpu/beexformer/fake-quant/{policy}/latency_ms p50"]
    p50 = stat(run, "beexformer", policy, "latency_ms", "p50")
    p90 = stat(run, "beexformer", policy, "latency_ms", "p90")
    assert lat["value"] == pytest.approx(p50) and lat["unit"] == "ms"
    assert lat["range"].startswith("+")
    assert float(lat["range"].lstrip("+")) == pytest.approx(p90 - p50, rel=1e-5)
    acc = by_name(bigger)[f"cpu/beexformer/fake-quant/{policy}/acc_policy"]
    low = stat(run, "beexformer", policy, "acc_policy", "ci95_low")
    high = stat(run, "beexformer", policy, "acc_policy", "ci95_high")
    assert acc["value"] == pytest.approx(stat(run, "beexformer", policy, "acc_policy",
                                              "value"))
    assert acc["range"].startswith("± ")
    assert float(acc["range"].removeprefix("± ")) == pytest.approx((high - low) / 2, rel=1e-5)
    # A figure without an interval or spread has no range.
    assert "range" not in by_name(smaller)[f"cpu/beexformer/fake-quant/{policy}/model_bytes"]


def test_several_seeds_put_the_seed_in_the_name(tmp_path):
    runs = []
    for seed in (0, 1):
        run = write_run(tmp_path / "runs", models=["beexformer"], seed=seed)
        df = pd.read_csv(run / "results.csv", dtype=str, keep_default_na=False)
        df.assign(seed=str(seed)).to_csv(run / "results.csv", index=False)
        runs.append(str(run))
    out = tmp_path / "out"
    assert main(["-q", "export", *runs, "--format", "github-action-benchmark",
                 "--out", str(out)]) == 0
    names = [e["name"] for e in json.loads((out / SMALLER).read_text())]
    assert len(names) == len(set(names))
    assert "cpu/beexformer/fake-quant/beex-entropy-drop/seed-1/latency_ms p50" in names
    # One seed: no seed in the name.
    single = export_gab(runs[0], tmp_path / "one")[0]
    assert not any("seed-" in e["name"] for e in single)


def test_jsonl_has_one_line_per_results_row(tmp_path):
    run = write_run(tmp_path / "runs", models=MODELS)
    out = tmp_path / "out"
    assert main(["-q", "export", str(run), "--format", "jsonl", "--out", str(out)]) == 0
    lines = (out / "rows.jsonl").read_text().splitlines()
    results = load_run(run).results
    assert len(lines) == len(results)
    rows = [json.loads(line) for line in lines]
    for row in rows:
        assert row["value"] is None or isinstance(row["value"], (int, float))
    assert list(rows[0]) == [c for c in results.columns if c != "value_text"]
    frame = pd.read_json(out / "rows.jsonl", lines=True)
    assert len(frame) == len(results)
    assert frame["value"].to_numpy() == pytest.approx(results["value"].to_numpy())


def test_jsonl_writes_null_for_a_row_without_a_value(tmp_path):
    run = write_run(tmp_path / "runs", models=["beexformer"])
    df = pd.read_csv(run / "results.csv", dtype=str, keep_default_na=False)
    df.loc[0, "value"], df.loc[0, "note"] = "", "below the meter's resolution"
    df.to_csv(run / "results.csv", index=False)
    out = tmp_path / "out"
    assert main(["-q", "export", str(run), "--format", "jsonl", "--out", str(out)]) == 0
    first = json.loads((out / "rows.jsonl").read_text().splitlines()[0])
    assert first["value"] is None and first["note"] == "below the meter's resolution"


def test_mlflow_not_installed_is_one_line_naming_the_extra(tmp_path, capsys, monkeypatch):
    run = write_run(tmp_path / "runs", models=["beexformer"])
    monkeypatch.setitem(sys.modules, "mlflow", None)  # find_spec then says: not installed
    assert importlib.util.find_spec("mlflow") is None
    assert main(["export", str(run), "--format", "mlflow"]) == 2
    err = error_line(capsys)
    assert err.startswith("beexbench: error:") and "pip install 'beexbench[mlflow]'" in err


def test_mlflow_configurations_map_to_params_and_metrics(tmp_path):
    run = load_run(write_run(tmp_path / "runs", models=MODELS))
    confs = configurations([run])
    configs = {(c.params["model"], c.params["policy"]) for c in confs}
    assert configs == {("fp-transformer", "final"), ("beexformer", "beex-entropy-drop")}
    assert len(confs) == 2
    beex = next(c for c in confs if c.params["model"] == "beexformer")
    assert beex.name == "cpu/beexformer/fake-quant/beex-entropy-drop"
    assert beex.params["target"] == "cpu" and beex.params["runtime"] == "fake-quant"
    assert beex.params["preset"] == "tiny"  # config.json, flattened
    assert beex.params["policies.beex-entropy-drop.delta"] == "0.1"
    assert beex.metrics["latency_ms p50"] == pytest.approx(
        stat(run.path, "beexformer", "beex-entropy-drop", "latency_ms", "p50"))
    assert "acc_policy" in beex.metrics and "params_total" in beex.metrics
    assert all(math.isfinite(v) for v in beex.metrics.values())
    assert all(k == sanitize(k) for k in [*beex.metrics, *beex.params])
    assert beex.tags["beexbench.run_id"] == run.results["run_id"].iloc[0]
    assert sanitize("acc(%)@exit:1") == "acc____exit_1"


def test_a_folder_that_is_not_a_run_is_one_line(tmp_path, capsys):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text("x")
    assert main(["export", str(folder), "--format", "jsonl", "--out",
                 str(tmp_path / "out")]) == 2
    assert str(folder) in error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_an_unknown_format_and_a_missing_out_are_one_line(tmp_path, capsys):
    run = write_run(tmp_path / "runs", models=["beexformer"])
    assert main(["export", str(run), "--format", "jsonlines", "--out",
                 str(tmp_path / "o")]) == 2
    assert "did you mean 'jsonl'" in error_line(capsys)
    assert main(["export", str(run), "--format", "jsonl"]) == 2
    assert "--out" in error_line(capsys)


def test_an_existing_out_is_refused_without_force(tmp_path, capsys):
    run = write_run(tmp_path / "runs", models=["beexformer"])
    out = tmp_path / "out"
    out.mkdir()
    (out / SMALLER).write_text("kept")
    argv = ["export", str(run), "--format", "github-action-benchmark", "--out", str(out)]
    assert main(argv) == 2
    err = error_line(capsys)
    assert "--force" in err and str(out) in err
    assert (out / SMALLER).read_text() == "kept"
    assert main(["-q", *argv, "--force"]) == 0
    validate(json.loads((out / SMALLER).read_text()))
    # A file no export writes is never replaced, --force or not.
    (out / "notes.txt").write_text("mine")
    assert main([*argv, "--force"]) == 2
    assert "notes.txt" in error_line(capsys)
    # Nor is an --out inside the run directory.
    assert main(["export", str(run), "--format", "jsonl", "--out", str(run / "x")]) == 2
    assert "inside the run directory" in error_line(capsys)
