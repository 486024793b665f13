"""Run records: creation, status changes, listings, row results, recovery after a crash."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from mlops_desk.core import audit, processes
from mlops_desk.core.errors import BadInput, Conflict, NotFound
from mlops_desk.core.store import Store, utcnow
from mlops_desk.core.user_input import int_or_none

STATUSES = ("queued", "running", "completed", "cancelled", "interrupted", "failed",
            "submitted", "awaiting-results")  # the last two: Batch API and offline runs
RESUMABLE = ("interrupted", "cancelled", "failed")
RESULT_COLUMNS = (
    "row_idx", "output", "prediction", "expected", "correct", "score", "latency_ms",
    "prompt_tokens", "completion_tokens", "cost", "attempts", "error_class", "error_message",
    "cached", "finished_at", "tries",
)


@dataclass(frozen=True)
class Run:
    id: int
    model: str
    version: int
    version_id: int
    dataset: str
    dataset_id: int
    status: str
    settings: dict[str, Any]
    n_total: int
    n_done: int
    metrics: dict[str, Any] | None
    reason: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    elapsed_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "model": self.model, "version": self.version,
            "dataset": self.dataset, "status": self.status, "settings": self.settings,
            "n_total": self.n_total, "n_done": self.n_done, "reason": self.reason,
            "created_at": self.created_at, "started_at": self.started_at,
            "finished_at": self.finished_at, "elapsed_s": self.elapsed_s,
            "metrics": self.metrics,
        }


_RUN_SELECT = """
SELECT r.*, m.name AS model_name, v.number AS version_number, d.name AS dataset_name,
       (SELECT count(*) FROM run_results x WHERE x.run_id = r.id) AS n_done
FROM runs r
JOIN models m ON m.id = r.model_id
JOIN versions v ON v.id = r.version_id
JOIN datasets d ON d.id = r.dataset_id
"""


def _run(row: dict) -> Run:
    return Run(
        id=row["id"], model=row["model_name"], version=row["version_number"],
        version_id=row["version_id"], dataset=row["dataset_name"], dataset_id=row["dataset_id"],
        status=row["status"], settings=json.loads(row["settings"]), n_total=row["n_total"],
        n_done=row["n_done"], metrics=json.loads(row["metrics"]) if row["metrics"] else None,
        reason=row["reason"], created_at=row["created_at"], started_at=row["started_at"],
        finished_at=row["finished_at"], elapsed_s=row["elapsed_s"],
    )


def create_run(store: Store, *, model_id: int, version_id: int, dataset_id: int, n_total: int,
               settings: dict[str, Any], subject: str) -> int:
    with store.transaction() as db:
        run_id = db["runs"].insert({
            "model_id": model_id, "version_id": version_id, "dataset_id": dataset_id,
            "status": "queued", "settings": json.dumps(settings, sort_keys=True),
            "n_total": n_total, "created_at": utcnow(), "created_by": audit.os_user(),
        }).last_pk
        audit.append(store, "run.create", subject, {"run_id": run_id, **settings})
    return int(run_id)


def get_run(store: Store, run_id: int) -> Run:
    rows = list(store.db.query(_RUN_SELECT + " WHERE r.id = ?", [run_id]))
    if not rows:
        raise NotFound(f"no run with id {run_id}", hint="see 'runs list'")
    return _run(rows[0])


def list_runs(store: Store, *, model: str | None = None, limit: int | None = None) -> list[Run]:
    sql, params = _RUN_SELECT, []
    if model:
        sql += " WHERE m.name = ?"
        params.append(model)
    sql += " ORDER BY r.id DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [_run(r) for r in store.db.query(sql, params)]


def mark_started(store: Store, run_id: int) -> None:
    """Claim a run for this process; refuses one that another live process is running.

    Resuming a 'failed' run forgets the rows that got no answer (the endpoint was down,
    refused the key, ...), so they are sent again instead of staying errors for ever.
    """
    with store.transaction() as db:
        run = get_run(store, run_id)
        if run.status == "running":
            pid, started = db.execute("SELECT pid, pid_started FROM runs WHERE id = ?",
                                      [run_id]).fetchone()
            if not processes.is_self(pid, started) and processes.is_alive(pid, started):
                raise Conflict(f"run {run_id} is being run by process {pid}")
        elif run.status not in ("queued", *RESUMABLE):
            raise BadInput(f"run {run_id} is {run.status}; only interrupted, cancelled or "
                           "failed runs can be resumed")
        if run.status == "failed":
            db.execute(f"DELETE FROM run_results WHERE run_id = ? AND {_UNANSWERED}", [run_id])
        # A cancel asked before a new run started still holds; one from an earlier session
        # of a resumed run does not.
        keep_cancel = "cancel_requested" if run.status == "queued" else "NULL"
        db.execute("UPDATE runs SET status = 'running', pid = ?, pid_started = ?, reason = NULL, "
                   f"cancel_requested = {keep_cancel}, started_at = coalesce(started_at, ?) "
                   "WHERE id = ?",
                   [os.getpid(), processes.own_start_time(), utcnow(), run_id])


def finish(store: Store, run_id: int, status: str, *, elapsed_s: float,
           metrics: dict[str, Any] | None, reason: str | None, subject: str) -> None:
    assert status in STATUSES
    with store.transaction() as db:
        db.execute(
            "UPDATE runs SET status = ?, metrics = ?, reason = ?, finished_at = ?, pid = NULL, "
            "pid_started = NULL, elapsed_s = elapsed_s + ? WHERE id = ?",
            [status, json.dumps(metrics, allow_nan=False) if metrics is not None else None,
             reason, utcnow(), elapsed_s, run_id],
        )
        audit.append(store, f"run.{status}", subject,
                     {"run_id": run_id, "reason": reason,
                      "accuracy": (metrics or {}).get("accuracy")})


def recover_interrupted(store: Store) -> list[int]:
    """Mark runs left 'running' by a dead process as 'interrupted' (done at start-up).

    A run is alive only while the process recorded with it (PID and start time) runs: a
    live process that merely got the same PID (this one included) does not count.
    """
    stale = [
        run_id for run_id, pid, started in store.db.execute(
            "SELECT id, pid, pid_started FROM runs WHERE status = 'running'").fetchall()
        if not (processes.is_self(pid, started) or processes.is_alive(pid, started))
    ]
    for run_id in stale:
        with store.transaction() as db:
            db.execute("UPDATE runs SET status = 'interrupted', pid = NULL, pid_started = NULL, "
                       "reason = 'the process running it stopped' WHERE id = ? "
                       "AND status = 'running'", [run_id])
            audit.append(store, "run.interrupted", f"run:{run_id}", {"run_id": run_id})
    return stale


# A row whose request never got an answer (as opposed to an answer that did not parse).
_UNANSWERED = "output IS NULL AND error_class IS NOT NULL"


def unanswered(store: Store, run_id: int) -> tuple[int, str | None]:
    """(rows of the run that got no answer, the commonest reason among them)."""
    total = store.db.execute(f"SELECT count(*) FROM run_results WHERE run_id = ? AND "
                             f"{_UNANSWERED}", [run_id]).fetchone()[0]
    top = store.db.execute(
        f"SELECT error_class, min(error_message) FROM run_results WHERE run_id = ? AND "
        f"{_UNANSWERED} GROUP BY error_class ORDER BY count(*) DESC LIMIT 1", [run_id]).fetchone()
    return total, (f"{top[0]}: {top[1]}" if top else None)


def done_row_indexes(store: Store, run_id: int) -> set[int]:
    return {r[0] for r in store.db.execute(
        "SELECT row_idx FROM run_results WHERE run_id = ?", [run_id])}


def results_for_metrics(store: Store, run_id: int) -> list[dict[str, Any]]:
    """The columns metrics need (no output text), so 100k rows stay small."""
    cursor = store.db.execute(
        "SELECT row_idx, expected, prediction, correct, score, latency_ms, prompt_tokens, "
        "completion_tokens, cost, error_class, cached FROM run_results WHERE run_id = ? "
        "ORDER BY row_idx", [run_id])
    names = [d[0] for d in cursor.description]
    rows = []
    for values in cursor:
        row = dict(zip(names, values, strict=True))
        row["correct"] = None if row["correct"] is None else bool(row["correct"])
        row["cached"] = bool(row["cached"])
        rows.append(row)
    return rows


# -- row results for tables and reports ---------------------------------------

# Which rows a filter keeps. "wrong" counts failed rows (they score as wrong, see
# core.metrics); "wrong_answer" is an answer that came back and was wrong.
RESULT_STATUSES: dict[str, str] = {
    "all": "",
    "wrong": "correct = 0",
    "errors": "error_class IS NOT NULL AND error_class != ''",
    "wrong_answer": "correct = 0 AND (error_class IS NULL OR error_class = '')",
}
# Columns a result table may sort by (row_idx breaks ties, so pages never overlap).
RESULT_SORT_KEYS = ("row_idx", "expected", "prediction", "correct", "latency_ms", "cost",
                    "attempts", "error_class", "cached", "finished_at")
_SEARCHED = ("output", "prediction", "expected", "error_message")


@dataclass(frozen=True)
class ResultFilter:
    """Which row results to show: a status (a key of RESULT_STATUSES) and free text, found in
    the answer, prediction, expected value, error or the row's input (digits also match the
    row number)."""

    status: str = "all"
    search: str = ""

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition (and its parameters) over run_results; built here only."""
        if self.status not in RESULT_STATUSES:
            raise BadInput(f"unknown result filter {self.status!r}; use one of "
                           f"{', '.join(RESULT_STATUSES)}")
        clauses, params = [], []
        if RESULT_STATUSES[self.status]:
            clauses.append(RESULT_STATUSES[self.status])
        text = self.search.strip()
        if text:
            like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            parts = [f"coalesce({f}, '') LIKE ? ESCAPE '\\'" for f in _SEARCHED]
            parts.append("row_idx IN (SELECT idx FROM dataset_rows WHERE dataset_id = "
                         "(SELECT dataset_id FROM runs WHERE id = run_id) "
                         "AND data LIKE ? ESCAPE '\\')")
            params += [like] * len(_SEARCHED) + [like]
            row = int_or_none(text)  # not isdigit(): '²' is a digit that int() refuses
            if row is not None:
                parts.append("row_idx = ?")
                params.append(row)
            clauses.append(" OR ".join(parts))
        return " AND ".join(f"({c})" for c in clauses), params


def fetch_results(store: Store, run_id: int, *, filter: ResultFilter | None = None,
                  sort: str = "row_idx", descending: bool = False, limit: int | None = None,
                  offset: int = 0, row_idx: int | None = None,
                  stored_since: str | None = None) -> list[dict[str, Any]]:
    """Full row results for tables and reports, filtered and sorted by typed values.

    ``row_idx`` picks one row; ``stored_since`` keeps rows whose ``finished_at`` is at or
    after it (a live run's newest rows, with ``sort="finished_at"``).
    """
    where, params = (filter or ResultFilter()).where()
    column = sort if sort in RESULT_SORT_KEYS else "row_idx"
    direction = "DESC" if descending else "ASC"
    sql = f"SELECT {', '.join(RESULT_COLUMNS)} FROM run_results WHERE run_id = ?"
    if where:
        sql += f" AND ({where})"
    if row_idx is not None:
        sql += " AND row_idx = ?"
        params.append(row_idx)
    if stored_since is not None:
        sql += " AND finished_at >= ?"
        params.append(stored_since)
    sql += f" ORDER BY {column} {direction}, row_idx {direction}"
    if limit is not None:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    return list(store.db.query(sql, [run_id, *params]))


def count_results(store: Store, run_id: int, filter: ResultFilter | None = None) -> int:
    where, params = (filter or ResultFilter()).where()
    sql = "SELECT count(*) FROM run_results WHERE run_id = ?" + (f" AND ({where})" if where else "")
    return store.db.execute(sql, [run_id, *params]).fetchone()[0]


def sent_latencies(store: Store, run_id: int) -> list[float]:
    """Latencies of rows actually sent (not cached, no error), as the metrics count them."""
    return [r[0] for r in store.db.execute(
        "SELECT latency_ms FROM run_results WHERE run_id = ? AND cached = 0 "
        "AND (error_class IS NULL OR error_class = '') AND latency_ms IS NOT NULL", [run_id])]
