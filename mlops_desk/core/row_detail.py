"""One row of a run, in full: its input, the messages sent, the reply, the score, each try.

The messages are rendered again from the run's version and the dataset row: both are
immutable (triggers forbid editing them), so this is exactly what the engine sent. Rows
stored before tries were recorded (schema 5) show one summary try built from the row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlops_desk.core import runs
from mlops_desk.core.datasets import iter_rows
from mlops_desk.core.errors import NotFound
from mlops_desk.core.inference import render_messages
from mlops_desk.core.registry import get_version_by_id
from mlops_desk.core.store import Store


@dataclass(frozen=True)
class RowDetail:
    run_id: int
    row_idx: int
    input: dict[str, Any]  # the dataset row, every column
    messages: list[dict[str, str]]
    output: str | None  # the raw reply
    prediction: str | None
    expected: str | None
    correct: bool | None
    score: float | None
    cached: bool
    error_class: str | None
    error_message: str | None
    tries: list[dict[str, Any]]  # {latency_ms, error_class, error} per attempt


def row_detail(store: Store, run_id: int, row_idx: int) -> RowDetail:
    run = runs.get_run(store, run_id)
    found = runs.fetch_results(store, run_id, row_idx=row_idx)
    if not found:
        raise NotFound(f"run {run_id} has no result for row {row_idx}")
    result = found[0]
    rows = list(iter_rows(store, run.dataset_id, start=row_idx, limit=1))
    data = rows[0][1] if rows and rows[0][0] == row_idx else {}
    version = get_version_by_id(store, run.version_id)
    try:
        messages = render_messages(version.config, data)
    except (KeyError, IndexError, ValueError) as exc:  # the row lacks a template column
        messages = [{"role": "(not rendered)", "content": f"{type(exc).__name__}: {exc}"}]
    return RowDetail(
        run_id=run_id, row_idx=row_idx, input=data, messages=messages,
        output=result["output"], prediction=result["prediction"], expected=result["expected"],
        correct=None if result["correct"] is None else bool(result["correct"]),
        score=result["score"], cached=bool(result["cached"]),
        error_class=result["error_class"], error_message=result["error_message"],
        tries=_tries(result),
    )


def _tries(result: dict[str, Any]) -> list[dict[str, Any]]:
    if result.get("tries"):
        return json.loads(result["tries"])
    if result.get("cached"):
        return []
    # recorded before tries were: one line from what the row kept
    return [{"latency_ms": result.get("latency_ms"), "error_class": result.get("error_class"),
             "error": result.get("error_message"), "summary_of": result.get("attempts")}]
