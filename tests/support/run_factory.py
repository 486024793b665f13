"""TEST FACTORY: completed runs written straight into the database, without the run engine.

Deploy, gate and drift tests need runs with exact, chosen results; running the engine for
them would be slow and beside the point. ``make_test_run`` inserts a ``runs`` row and its
``run_results`` with metrics computed by ``core.metrics.compute_metrics`` from those rows,
exactly as the engine stores them. ``make_test_dataset`` imports a small CSV snapshot.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from mlops_desk.core import audit
from mlops_desk.core.datasets import Dataset, import_dataset
from mlops_desk.core.metrics import compute_metrics
from mlops_desk.core.registry import Version, get_model
from mlops_desk.core.store import Store, utcnow


def make_test_dataset(store: Store, directory: Path, name: str, rows: list[dict[str, Any]],
                      *, expected_col: str = "expected") -> Dataset:
    path = directory / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    dataset, _ = import_dataset(store, path, name, expected_col=expected_col)
    return dataset


def make_test_run(store: Store, version: Version, dataset: Dataset,
                  results: list[dict[str, Any]], *, status: str = "completed",
                  wall_s: float = 10.0, n_total: int | None = None) -> int:
    """Insert a run of ``version`` on ``dataset``; ``results[i]`` describes row ``i``.

    ``n_total`` (default: one row per result) is how many rows the run was asked for: more
    than ``len(results)`` makes a run that lost rows.

    Each result may give ``prediction``, ``expected``, ``correct`` (default: prediction equals
    expected), ``latency_ms`` (default 100), ``cost``, ``prompt_tokens``,
    ``completion_tokens``, ``error_class``.
    """
    labels = get_model(store, version.model).labels
    rows = [_result_row(i, r) for i, r in enumerate(results)]
    metrics = compute_metrics(rows, wall_s=wall_s, labels=labels)
    now = utcnow()
    with store.transaction() as db:
        run_id = db["runs"].insert({
            "model_id": get_model(store, version.model).id, "version_id": version.id,
            "dataset_id": dataset.id, "status": status, "settings": "{}",
            "n_total": len(rows) if n_total is None else n_total,
            "metrics": json.dumps(metrics), "created_at": now,
            "started_at": now, "finished_at": now, "elapsed_s": wall_s,
            "created_by": audit.os_user(),
        }).last_pk
        db.conn.executemany(
            "INSERT INTO run_results (run_id, row_idx, output, prediction, expected, correct, "
            "score, latency_ms, prompt_tokens, completion_tokens, cost, error_class, "
            "finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(run_id, r["row_idx"], r["prediction"], r["prediction"], r["expected"],
              None if r["correct"] is None else int(r["correct"]), r["score"], r["latency_ms"],
              r["prompt_tokens"], r["completion_tokens"], r["cost"], r["error_class"], now)
             for r in rows])
    return int(run_id)


def _result_row(idx: int, given: dict[str, Any]) -> dict[str, Any]:
    prediction, expected = given.get("prediction"), given.get("expected")
    error = given.get("error_class")
    correct = given.get("correct")
    if correct is None and expected is not None and error is None:
        correct = prediction is not None and prediction == expected
    return {
        "row_idx": idx, "prediction": prediction, "expected": expected, "correct": correct,
        "score": None if correct is None else float(correct),
        "latency_ms": given.get("latency_ms", 100.0), "cost": given.get("cost"),
        "prompt_tokens": given.get("prompt_tokens"),
        "completion_tokens": given.get("completion_tokens"), "error_class": error,
        "cached": False,
    }
