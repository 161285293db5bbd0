"""`--format mlflow`: one MLflow run per (target, model, runtime, policy, seed).

Params are the run's config.json, flattened (`policies.beex-entropy-drop.delta`), and the
configuration's fields; metrics are its headline figures under names MLflow accepts;
tags name the run id, host and git revision. MLflow itself picks where runs go
(MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_NAME). It is an optional extra:
`pip install 'beexbench[mlflow]'`.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from beexbench.core.errors import UsageError
from beexbench.export.figures import CONFIG_FIELDS, Figure, metric_label, run_figures
from beexbench.export.formats import FORMATS, Exporter

if TYPE_CHECKING:
    from beexbench.results.rundir import Run

INSTALL = "pip install 'beexbench[mlflow]'"
# MLflow's rule for metric and param keys: alphanumerics, _ - . space / (and no more).
_NOT_IN_KEY = re.compile(r"[^A-Za-z0-9_\-. /]")
# The longest param value every MLflow version stores (later ones take more).
PARAM_MAX = 500


def sanitize(name: str) -> str:
    """A metric or param key MLflow accepts: every other character becomes `_`."""
    return _NOT_IN_KEY.sub("_", name)


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested dicts as dotted keys; lists and scalars as text (JSON for lists)."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{name}."))
        else:
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            out[sanitize(name)] = text[:PARAM_MAX]
    return out


@dataclass
class MlflowRun:
    """What one MLflow run logs."""

    name: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def configurations(runs: list[Run]) -> list[MlflowRun]:
    """One MlflowRun per (target, model, runtime, policy, seed) of the runs, in row order;
    a pure function of the runs (nothing is logged)."""
    out: list[MlflowRun] = []
    for run in runs:
        by_config: dict[tuple[str, ...], list[Figure]] = {}
        for figure in run_figures(run, directional=False):
            by_config.setdefault(figure.config(), []).append(figure)
        base = flatten(run.config)
        for config, figures in by_config.items():
            fields = dict(zip(CONFIG_FIELDS, config, strict=True))
            batches: dict[str, set[str]] = {}
            for f in figures:
                batches.setdefault(f.metric, set()).add(f.batch_size)
            first = figures[0]
            name = "/".join(v for v in config if v)
            out.append(MlflowRun(
                name=name,
                params={**base, **fields},
                metrics={sanitize(metric_label(f, len(batches[f.metric]) > 1)): f.value
                         for f in figures},
                tags={"beexbench.run_id": first.run_id, "beexbench.host": first.host,
                      "beexbench.git_sha": first.git_sha, "beexbench.run_dir": str(run.path)},
            ))
    return out


@FORMATS.register("mlflow")
class Mlflow(Exporter):
    """One MLflow run per configuration, to MLflow's tracking URI (the mlflow extra)."""

    needs_out = False

    def check(self) -> None:
        if importlib.util.find_spec("mlflow") is None:
            raise UsageError(f"--format mlflow needs the mlflow package: {INSTALL}")

    def write(self, runs: list[Run], out: Path | None) -> str:
        self.check()
        try:
            import mlflow
        except ImportError as exc:
            raise UsageError(f"--format mlflow: cannot import mlflow ({exc}); {INSTALL}") \
                from None
        items = configurations(runs)
        for done, item in enumerate(items):
            try:
                with mlflow.start_run(run_name=item.name):
                    mlflow.log_params(item.params)
                    mlflow.log_metrics(item.metrics)
                    mlflow.set_tags(item.tags)
            except Exception as exc:  # the server, the network or MLflow's own checks
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise UsageError(f"--format mlflow: logging {item.name} to "
                                 f"{mlflow.get_tracking_uri()} failed after {done} of "
                                 f"{len(items)} runs: {type(exc).__name__}: {first}") from None
        return f"export: {len(items)} MLflow runs to {mlflow.get_tracking_uri()}"
