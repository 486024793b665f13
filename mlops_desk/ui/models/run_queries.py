"""Qt-free loaders for the Runs page; each runs in a worker thread and returns plain data.

Kept apart from the table models so they can be called (and tested) without a widget,
and so no model ever touches SQLite on the GUI thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mlops_desk.core import run_live, runs
from mlops_desk.core.metrics import compare_runs
from mlops_desk.core.store import Store
from mlops_desk.core.user_input import int_or_none

FILTERS = {"all": "", "wrong": "correct = 0", "errors": "error_class IS NOT NULL"}
# Sortable result columns -> SQL expression (row_idx breaks ties, so pages never overlap).
SORT_SQL = {
    "row_idx": "row_idx", "expected": "expected", "prediction": "prediction",
    "correct": "correct", "latency_ms": "latency_ms", "cost": "cost", "attempts": "attempts",
    "error_class": "error_class", "cached": "cached",
}
PAGE_ROWS = 200
# A live table takes at most this many new rows per refresh: a fast run's backlog arrives
# over the next seconds instead of as one long burst of work beside the window.
LIVE_ROWS = 500
MAX_FLIPPED = 1_000


# -- per-row results -------------------------------------------------------------


@dataclass(frozen=True)
class ResultQuery:
    run_id: int
    dataset_id: int
    filter: str = "all"
    search: str = ""
    sort_key: str = "row_idx"
    descending: bool = False

    def where(self) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if FILTERS.get(self.filter):
            clauses.append(FILTERS[self.filter])
        text = self.search.strip()
        if text:
            like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            fields = ("output", "prediction", "expected", "error_message")
            parts = [f"coalesce({f}, '') LIKE ? ESCAPE '\\'" for f in fields]
            parts.append("row_idx IN (SELECT idx FROM dataset_rows WHERE dataset_id = ? "
                         "AND data LIKE ? ESCAPE '\\')")
            params += [like] * len(fields) + [self.dataset_id, like]
            row = int_or_none(text)  # not isdigit(): '²' is a digit that int() refuses
            if row is not None:
                parts.append("row_idx = ?")
                params.append(row)
            clauses.append(" OR ".join(parts))
        return " AND ".join(f"({c})" for c in clauses), params

    def order(self) -> str:
        column = SORT_SQL.get(self.sort_key, "row_idx")
        direction = "DESC" if self.descending else "ASC"
        return f"{column} {direction}, row_idx {direction}"


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
    where, params = query.where()
    rows = run_live.rows_since(store, query.run_id, since, where=where, params=params,
                               limit=LIVE_ROWS)
    inputs = input_texts(store, query.dataset_id, [r["row_idx"] for r in rows])
    for row in rows:
        row["input"] = inputs.get(row["row_idx"], "")
    return NewRows(query, since, rows)


def count_results(store: Store, query: ResultQuery) -> int:
    where, params = query.where()
    sql = "SELECT count(*) FROM run_results WHERE run_id = ?" + (f" AND {where}" if where else "")
    return store.db.execute(sql, [query.run_id, *params]).fetchone()[0]


def fetch_result_page(store: Store, query: ResultQuery, offset: int = 0,
                      limit: int = PAGE_ROWS, *, with_total: bool = False) -> ResultPage:
    """One page of results, each row with its dataset ``input`` text attached."""
    where, params = query.where()
    rows = runs.fetch_results(store, query.run_id, where=where, params=params,
                              order=query.order(), limit=limit, offset=offset)
    inputs = input_texts(store, query.dataset_id, [r["row_idx"] for r in rows])
    for row in rows:
        row["input"] = inputs.get(row["row_idx"], "")
    total = count_results(store, query) if with_total else -1
    return ResultPage(query, offset, total, rows)


def input_texts(store: Store, dataset_id: int, indexes: list[int]) -> dict[int, str]:
    """Row index -> the row's input columns as one line of text."""
    texts: dict[int, str] = {}
    columns = _input_columns(store, dataset_id)
    for start in range(0, len(indexes), 500):
        part = indexes[start:start + 500]
        marks = ", ".join("?" * len(part))
        for idx, data in store.db.execute(
                f"SELECT idx, data FROM dataset_rows WHERE dataset_id = ? AND idx IN ({marks})",
                [dataset_id, *part]):
            values = json.loads(data)
            if len(columns) == 1:
                texts[idx] = str(values.get(columns[0]) or "")
            else:
                texts[idx] = " · ".join(f"{c}: {values.get(c)}" for c in columns)
    return texts


def _input_columns(store: Store, dataset_id: int) -> list[str]:
    row = store.db.execute("SELECT input_cols FROM datasets WHERE id = ?", [dataset_id]).fetchone()
    return json.loads(row[0]) if row else []


def load_latencies(store: Store, run_id: int) -> list[float]:
    """Latencies of rows actually sent (not cached, no error), as the metrics count them."""
    return [r[0] for r in store.db.execute(
        "SELECT latency_ms FROM run_results WHERE run_id = ? AND cached = 0 "
        "AND (error_class IS NULL OR error_class = '') AND latency_ms IS NOT NULL", [run_id])]


@dataclass(frozen=True)
class RunDetail:
    run: runs.Run
    latencies: list[float]


def load_run_detail(store: Store, run_id: int) -> RunDetail:
    return RunDetail(runs.get_run(store, run_id), load_latencies(store, run_id))


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
    from mlops_desk.core.errors import BadInput

    a, b = runs.get_run(store, id_a), runs.get_run(store, id_b)
    if a.dataset_id != b.dataset_id:
        raise BadInput(f"runs {id_a} and {id_b} used different datasets ({a.dataset}, "
                       f"{b.dataset}); compare runs on the same dataset")
    if not a.metrics or not b.metrics:
        raise BadInput(f"run {id_a if not a.metrics else id_b} has no results yet; "
                       "compare runs that have finished (or resume it)")
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


@dataclass(frozen=True)
class VersionChoice:
    number: int
    note: str
    archived: bool
    endpoint: str


@dataclass(frozen=True)
class RunChoices:
    versions: dict[str, list[VersionChoice]]  # model -> versions, newest first
    datasets: list[tuple[str, int]]  # (name, rows)
    concurrency: dict[str, int]  # endpoint -> its max concurrency


def load_run_choices(store: Store) -> RunChoices:
    versions: dict[str, list[VersionChoice]] = {}
    for name, number, note, archived, endpoint in store.db.execute(
            "SELECT m.name, v.number, v.note, v.archived, json_extract(v.config, '$.endpoint') "
            "FROM versions v JOIN models m ON m.id = v.model_id "
            "ORDER BY m.name, v.number DESC"):
        versions.setdefault(name, []).append(
            VersionChoice(number, note or "", bool(archived), endpoint or ""))
    datasets = [(r[0], r[1]) for r in store.db.execute(
        "SELECT name, n_rows FROM datasets ORDER BY name")]
    concurrency = {r[0]: r[1] for r in store.db.execute(
        "SELECT name, max_concurrency FROM endpoints")}
    return RunChoices(versions, datasets, concurrency)


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
