"""The run report's facts: what ran, on what, how well, how fast, at what cost, worst rows.

Everything comes from the stored run (its settings, metrics computed when it ended, row
results) and the registry (version config and fingerprint, endpoint, dataset snapshot).
The worst rows are a bounded sample (``WORST_ROWS`` errors and as many wrong answers),
so a 100,000-row run still makes a small report; the per-row files hold every row.
"""

from __future__ import annotations

from typing import Any

from mlops_desk.core import metric_catalogue, runs
from mlops_desk.core.datasets import get_dataset_by_id, iter_rows
from mlops_desk.core.deploy import public_url
from mlops_desk.core.errors import BadInput
from mlops_desk.core.metrics import is_errored, percentile
from mlops_desk.core.registry import get_endpoint, get_model, get_version_by_id
from mlops_desk.core.reports.common import clean, header, short
from mlops_desk.core.store import Store

WORST_ROWS = 25
HISTOGRAM_BINS = 40


def build_run_report(store: Store, run_id: int) -> dict[str, Any]:
    run = runs.get_run(store, run_id)
    if not run.metrics:
        raise BadInput(f"run {run_id} has no results to report yet ({run.status})")
    version = get_version_by_id(store, run.version_id)
    dataset = get_dataset_by_id(store, run.dataset_id)
    rows = runs.results_for_metrics(store, run_id)
    report = header(store, "run", f"Run {run.id}: {version.ref} on {dataset.name}",
                    f"run:{run.id}")
    report.update({
        "run": run_section(run),
        "model": model_section(store, run.model),
        "version": version_section(store, version),
        "dataset": dataset_section(dataset),
        "metrics": metric_rows(run.metrics),
        "per_class": per_class_rows(run.metrics),
        "confusion": run.metrics.get("confusion"),
        "latency_histogram": latency_histogram(latencies(rows)),
        "cost": {key: run.metrics.get(key)
                 for key in ("tokens_in", "tokens_out", "total_cost", "cost_per_1k")},
        "worst_rows": worst_rows(store, run, dataset.input_cols),
    })
    report["latency_histogram"]["p50_ms"] = run.metrics.get("latency_p50_ms")
    report["latency_histogram"]["p95_ms"] = run.metrics.get("latency_p95_ms")
    return clean(report)


def run_section(run: runs.Run) -> dict[str, Any]:
    return {"id": run.id, "status": run.status, "reason": run.reason,
            "n_total": run.n_total, "n_done": run.n_done, "settings": run.settings,
            "created_at": run.created_at, "started_at": run.started_at,
            "finished_at": run.finished_at, "elapsed_s": run.elapsed_s}


def model_section(store: Store, name: str) -> dict[str, Any]:
    model = get_model(store, name)
    return {"name": model.name, "kind": model.kind, "labels": model.labels,
            "description": model.description}


def version_section(store: Store, version) -> dict[str, Any]:
    config = version.config
    try:
        endpoint = get_endpoint(store, config["endpoint"])
        where = {"name": endpoint.name, "kind": endpoint.kind,
                 "base_url": public_url(endpoint.base_url), "target": endpoint.target}
    except BadInput:  # an endpoint renamed away since: the version still names it
        where = {"name": config.get("endpoint"), "kind": None, "base_url": None, "target": None}
    return {"ref": version.ref, "number": version.number, "fingerprint": version.fingerprint,
            "parent": version.parent_number, "note": version.note, "created_at":
            version.created_at, "model_id": config.get("model_id"),
            "system_prompt": config.get("system_prompt"), "template": config.get("template"),
            "params": config.get("params") or {}, "parser": config.get("parser"),
            "endpoint": where}


def dataset_section(dataset) -> dict[str, Any]:
    validation = dataset.validation or {}
    return {"name": dataset.name, "sha256": dataset.sha256, "n_rows": dataset.n_rows,
            "source": dataset.source_name, "input_cols": dataset.input_cols,
            "expected_col": dataset.expected_col,
            "warnings": list(validation.get("warnings") or [])}


def metric_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Every catalogued metric the run has, in catalogue order, with its reading."""
    return [{"key": m.key, "label": m.label, "unit": m.unit, "better": m.better,
             "value": metrics.get(m.key), "text": m.format(metrics.get(m.key))}
            for m in metric_catalogue.CATALOGUE if m.key in metrics]


def per_class_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"label": label, **stats} for label, stats in (metrics.get("per_class") or {}).items()]


def latencies(rows: list[dict[str, Any]]) -> list[float]:
    """Latencies of rows actually sent, as the metrics count them (no cache hits, no errors)."""
    return [row["latency_ms"] for row in rows if not row.get("cached") and not is_errored(row)
            and row.get("latency_ms") is not None]


def latency_histogram(values: list[float], bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
    """Equal bins from the fastest row to the 99.5th percentile; slower rows fold into the
    last bin, so a few time-outs do not squash everything else into one bar."""
    if not values:
        return {"edges": [], "counts": [], "n": 0}
    low = min(values)
    top = percentile(values, 99.5) or low
    if top <= low:
        top = low + 1.0
    width = (top - low) / bins
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, max(0, int((value - low) / width)))] += 1
    return {"edges": [low + i * width for i in range(bins + 1)], "counts": counts,
            "n": len(values)}


def worst_rows(store: Store, run: runs.Run, input_cols: list[str]) -> dict[str, Any]:
    """Up to ``WORST_ROWS`` failed rows and as many wrong answers, with their inputs."""
    failed, wrong_answer = runs.ResultFilter("errors"), runs.ResultFilter("wrong_answer")
    errors = runs.fetch_results(store, run.id, filter=failed, limit=WORST_ROWS)
    wrong = runs.fetch_results(store, run.id, filter=wrong_answer, limit=WORST_ROWS)
    inputs = input_values(store, run.dataset_id, [r["row_idx"] for r in errors + wrong])
    return {
        "limit": WORST_ROWS,
        "n_errors": runs.count_results(store, run.id, failed),
        "n_wrong": runs.count_results(store, run.id, wrong_answer),
        "errors": [_sample_row(r, inputs, input_cols) for r in errors],
        "wrong": [_sample_row(r, inputs, input_cols) for r in wrong],
    }


def _sample_row(row: dict[str, Any], inputs: dict[int, dict], input_cols: list[str]) -> dict:
    values = inputs.get(row["row_idx"], {})
    return {"row_idx": row["row_idx"],
            "input": short(" · ".join(f"{c}: {values.get(c)}" for c in input_cols)
                           if len(input_cols) != 1 else values.get(input_cols[0])),
            "expected": short(row["expected"]), "prediction": short(row["prediction"]),
            "output": short(row["output"]), "latency_ms": row["latency_ms"],
            "error_class": row["error_class"], "error_message": short(row["error_message"])}


def input_values(store: Store, dataset_id: int, indexes: list[int]) -> dict[int, dict]:
    """Row index -> the dataset row (all its columns), for the given rows only."""
    wanted = set(indexes)
    if not wanted:
        return {}
    found: dict[int, dict] = {}
    # The snapshot is read in one ordered pass from the first wanted row; it streams.
    for idx, values in iter_rows(store, dataset_id, start=min(wanted)):
        if idx in wanted:
            found[idx] = values
            if len(found) == len(wanted):
                break
    return found
