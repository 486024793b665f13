"""Qt-free loaders for the Runs page; each runs in a worker thread and returns plain data.

Kept apart from the table models so they can be called (and tested) without a widget,
and so no model ever touches SQLite on the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlops_desk.core import run_live, runs
from mlops_desk.core.datasets import input_texts
from mlops_desk.core.metrics import compare_runs
from mlops_desk.core.store import Store

PAGE_ROWS = 200
# A live table takes at most this many new rows per refresh: a fast run's backlog arrives
# over the next seconds instead of as one long burst of work beside the window.
LIVE_ROWS = 500
MAX_FLIPPED = 1_000


# -- per-row results -------------------------------------------------------------


@dataclass(frozen=True)
class ResultQuery:
    """What the results table shows: the filter and sort become core's typed values."""

    run_id: int
    dataset_id: int
    filter: str = "all"
    search: str = ""
    sort_key: str = "row_idx"
    descending: bool = False

    @property
    def result_filter(self) -> runs.ResultFilter:
        return runs.ResultFilter(status=self.filter, search=self.search)


@dataclass(frozen=True)
class ResultPage:
    query: ResultQuery
    offset: int
    total: int  # rows matching the query (counted with the first page only)
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class NewRows:
    query: ResultQuery
    since: str | None
    rows: list[dict[str, Any]]  # in the order they were stored


def fetch_new_rows(store: Store, query: ResultQuery, since: str | None) -> NewRows:
    """A live run's rows stored at or after ``since`` that match the query's filter."""
    rows = run_live.rows_since(store, query.run_id, since, filter=query.result_filter,
                               limit=LIVE_ROWS)
    inputs = input_texts(store, query.dataset_id, [r["row_idx"] for r in rows])
    for row in rows:
        row["input"] = inputs.get(row["row_idx"], "")
    return NewRows(query, since, rows)


def count_results(store: Store, query: ResultQuery) -> int:
    return runs.count_results(store, query.run_id, query.result_filter)


def fetch_result_page(store: Store, query: ResultQuery, offset: int = 0,
                      limit: int = PAGE_ROWS, *, with_total: bool = False) -> ResultPage:
    """One page of results, each row with its dataset ``input`` text attached."""
    rows = runs.fetch_results(store, query.run_id, filter=query.result_filter,
                              sort=query.sort_key, descending=query.descending,
                              limit=limit, offset=offset)
    inputs = input_texts(store, query.dataset_id, [r["row_idx"] for r in rows])
    for row in rows:
        row["input"] = inputs.get(row["row_idx"], "")
    total = count_results(store, query) if with_total else -1
    return ResultPage(query, offset, total, rows)


load_latencies = runs.sent_latencies  # the run detail's latency histogram


def load_run_list(store: Store, limit: int = 5_000) -> list[runs.Run]:
    return runs.list_runs(store, limit=limit)


# -- comparison ------------------------------------------------------------------


@dataclass(frozen=True)
class FlippedRow:
    row_idx: int
    input: str
    expected: str | None
    prediction_a: str | None
    prediction_b: str | None
    to_right: bool  # wrong in A, right in B


@dataclass(frozen=True)
class Comparison:
    a: runs.Run
    b: runs.Run
    result: dict[str, Any]
    flipped: list[FlippedRow] = field(default_factory=list)


def load_comparison(store: Store, id_a: int, id_b: int) -> Comparison:
    """``metrics.compare_runs`` of two runs on the same dataset, plus the flipped rows."""
    from mlops_desk.core.reports.compare_report import load_pair

    a, b = load_pair(store, id_a, id_b)
    rows_a = runs.results_for_metrics(store, id_a)
    rows_b = runs.results_for_metrics(store, id_b)
    result = compare_runs(rows_a, rows_b, a.metrics, b.metrics)
    pred_a = {r["row_idx"]: r for r in rows_a}
    pred_b = {r["row_idx"]: r for r in rows_b}
    flips = [(idx, False) for idx in result["flipped_to_wrong"]] + \
            [(idx, True) for idx in result["flipped_to_right"]]
    flips = sorted(flips)[:MAX_FLIPPED]
    inputs = input_texts(store, a.dataset_id, [idx for idx, _ in flips])
    flipped = [
        FlippedRow(idx, inputs.get(idx, ""), pred_a[idx].get("expected"),
                   _shown_prediction(pred_a[idx]), _shown_prediction(pred_b[idx]), to_right)
        for idx, to_right in flips
    ]
    return Comparison(a, b, result, flipped)


def _shown_prediction(row: dict[str, Any]) -> str | None:
    if row.get("error_class"):
        return f"({row['error_class']})"
    return row.get("prediction")


# -- start-run dialog ------------------------------------------------------------


def create_run(store: Store, model: str, number: int, dataset: str, options: Any, *,
               batch: bool = False) -> int:
    """Check and record a new run (``runner.create_run``, or ``batch.create_batch_run`` to
    send it through the endpoint's Batch API); returns its id."""
    from mlops_desk.core.batch import create_batch_run
    from mlops_desk.core.datasets import get_dataset
    from mlops_desk.core.registry import get_version
    from mlops_desk.core.runner import create_run as create

    version, chosen = get_version(store, model, number), get_dataset(store, dataset)
    if batch:
        return create_batch_run(store, version, chosen, options)
    return create(store, version, chosen, options)
