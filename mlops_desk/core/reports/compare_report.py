"""The comparison report's facts: two runs on one dataset, metric deltas, flipped rows, McNemar.

Deltas are B - A, each with its direction read from the metric catalogue ("better" when it
moved the way the catalogue calls better). The flipped rows are a bounded sample; the
per-row files pair every row. The verdict is the exact McNemar test on the rows both runs
scored, at the catalogue's significance level.
"""

from __future__ import annotations

from typing import Any

from mlops_desk.core import metric_catalogue, runs
from mlops_desk.core.datasets import get_dataset_by_id
from mlops_desk.core.errors import BadInput
from mlops_desk.core.metrics import compare_runs
from mlops_desk.core.registry import get_version_by_id
from mlops_desk.core.reports.common import clean, header, short
from mlops_desk.core.reports.run_report import dataset_section, input_values
from mlops_desk.core.store import Store

FLIPPED_ROWS = 50


def load_pair(store: Store, id_a: int, id_b: int) -> tuple[runs.Run, runs.Run]:
    """Two runs that can be compared, or a one-line reason why not."""
    a, b = runs.get_run(store, id_a), runs.get_run(store, id_b)
    if a.dataset_id != b.dataset_id:
        raise BadInput(f"runs {id_a} and {id_b} used different datasets ({a.dataset}, "
                       f"{b.dataset}); compare runs on the same dataset")
    if not a.metrics or not b.metrics:
        raise BadInput(f"run {id_a if not a.metrics else id_b} has no results yet; "
                       "compare runs that have finished (or resume it)")
    return a, b


def build_compare_report(store: Store, id_a: int, id_b: int) -> dict[str, Any]:
    a, b = load_pair(store, id_a, id_b)
    rows_a = runs.results_for_metrics(store, id_a)
    rows_b = runs.results_for_metrics(store, id_b)
    result = compare_runs(rows_a, rows_b, a.metrics, b.metrics)
    dataset = get_dataset_by_id(store, a.dataset_id)
    report = header(store, "compare",
                    f"Run {a.id} vs run {b.id}: {a.model}:{a.version} vs {b.model}:{b.version}",
                    f"compare:{a.id}:{b.id}")
    report.update({
        "run_a": _run_summary(store, a),
        "run_b": _run_summary(store, b),
        "dataset": dataset_section(dataset),
        "deltas": delta_rows(a.metrics, b.metrics, result["deltas"]),
        "paired": {key: result[key] for key in ("n_paired", "both_right", "both_wrong")},
        "mcnemar": mcnemar_section(result),
        "flipped": flipped_rows(store, a.dataset_id, dataset.input_cols, rows_a, rows_b, result),
    })
    return clean(report)


def _run_summary(store: Store, run: runs.Run) -> dict[str, Any]:
    version = get_version_by_id(store, run.version_id)
    return {"id": run.id, "version": version.ref, "fingerprint": version.fingerprint,
            "status": run.status, "n_done": run.n_done, "finished_at": run.finished_at}


def delta_rows(metrics_a: dict, metrics_b: dict, deltas: dict) -> list[dict[str, Any]]:
    rows = []
    for key in metric_catalogue.HEADLINE:
        if key not in metrics_a and key not in metrics_b:
            continue
        m = metric_catalogue.info(key)
        delta = deltas.get(key)
        rows.append({"key": key, "label": m.label, "unit": m.unit, "better": m.better,
                     "a": metrics_a.get(key), "b": metrics_b.get(key), "delta": delta,
                     "a_text": m.format(metrics_a.get(key)), "b_text": m.format(metrics_b.get(key)),
                     "delta_text": m.format_delta(delta), "direction": m.direction(delta)})
    return rows


def mcnemar_section(result: dict[str, Any]) -> dict[str, Any]:
    worse, better, p = result["b"], result["c"], result["mcnemar_p"]
    alpha = metric_catalogue.SIGNIFICANCE
    return {"right_to_wrong": worse, "wrong_to_right": better, "p_value": p, "alpha": alpha,
            "significant": p < alpha, "meaning": mcnemar_meaning(worse, better, p, alpha)}


def mcnemar_meaning(worse: int, better: int, p: float, alpha: float) -> str:
    """The test's result in one sentence a reviewer can act on."""
    if worse + better == 0:
        return "No row changed between right and wrong, so the two runs cannot be told apart."
    if p >= alpha:
        return (f"B fixed {better} row(s) and broke {worse}; a split this uneven happens by "
                f"chance with p = {p:.3g} (not below {alpha:g}), so neither run is shown "
                "to be better.")
    side = "better" if better > worse else "worse"
    return (f"B is significantly {side} than A: it fixed {better} row(s) and broke {worse}, "
            f"and chance alone gives a split this uneven with p = {p:.3g} (below {alpha:g}).")


def flipped_rows(store: Store, dataset_id: int, input_cols: list[str], rows_a: list[dict],
                 rows_b: list[dict], result: dict[str, Any]) -> dict[str, Any]:
    flips = sorted([(idx, False) for idx in result["flipped_to_wrong"]]
                   + [(idx, True) for idx in result["flipped_to_right"]])
    shown = flips[:FLIPPED_ROWS]
    by_a = {r["row_idx"]: r for r in rows_a}
    by_b = {r["row_idx"]: r for r in rows_b}
    inputs = input_values(store, dataset_id, [idx for idx, _ in shown])
    sample = []
    for idx, to_right in shown:
        values = inputs.get(idx, {})
        text = (values.get(input_cols[0]) if len(input_cols) == 1
                else " · ".join(f"{c}: {values.get(c)}" for c in input_cols))
        sample.append({"row_idx": idx, "change": "wrong to right" if to_right else
                       "right to wrong", "input": short(text),
                       "expected": short(by_a[idx].get("expected")),
                       "prediction_a": short(_shown(by_a[idx])),
                       "prediction_b": short(_shown(by_b[idx]))})
    return {"limit": FLIPPED_ROWS, "n_to_wrong": len(result["flipped_to_wrong"]),
            "n_to_right": len(result["flipped_to_right"]), "rows": sample}


def _shown(row: dict[str, Any]) -> str | None:
    return f"({row['error_class']})" if row.get("error_class") else row.get("prediction")
