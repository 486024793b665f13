"""Control of runs executing in other processes: cancel requests and liveness.

A run executes in its own process (the CLI, or a child the desktop started), so any face
cancels it the same way: ``request_cancel`` records the request in the database and the
engine, which polls ``cancel_requested`` on its progress tick, stops after the requests in
flight. That works on every platform (no signal needed) and for runs whose starter has
gone. ``watch`` is how a window follows runs it did not start, or started and then left:
it reads their state and marks the ones whose process died ``interrupted``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_desk.core import audit, processes
from mlops_desk.core.errors import BadInput, NotFound
from mlops_desk.core.store import Store, utcnow

DIED = "the process running it stopped"


def request_cancel(store: Store, run_id: int) -> str:
    """Ask the run's process to stop; returns one line saying what happens next.

    A queued run (created, not yet started) is cancelled at once; a running one stops after
    the requests in flight (results so far are kept, and it can be resumed). A run whose
    process died is marked interrupted instead. Finished runs are refused.
    """
    with store.transaction() as db:
        row = db.execute("SELECT status, pid, pid_started FROM runs WHERE id = ?",
                         [run_id]).fetchone()
        if row is None:
            raise NotFound(f"no run with id {run_id}")
        status, pid, started = row
        if status == "queued":
            db.execute("UPDATE runs SET cancel_requested = ? WHERE id = ?", [utcnow(), run_id])
            audit.append(store, "run.cancel_request", f"run:{run_id}", {"run_id": run_id})
            return f"run {run_id}: cancel requested; it stops before its first request"
        if status != "running":
            raise BadInput(f"run {run_id} is {status}; only a running run can be cancelled")
        if not (processes.is_self(pid, started) or processes.is_alive(pid, started)):
            _mark_interrupted(db, store, run_id, DIED)
            return f"run {run_id} was not running any more ({DIED}); it is now interrupted"
        db.execute("UPDATE runs SET cancel_requested = coalesce(cancel_requested, ?) "
                   "WHERE id = ?", [utcnow(), run_id])
        audit.append(store, "run.cancel_request", f"run:{run_id}", {"run_id": run_id})
    return f"run {run_id}: cancel requested; it stops after the requests in flight"


def cancel_requested(store: Store, run_id: int) -> bool:
    """Whether someone asked this run to stop (the engine's poll; a primary-key read).

    A remote engine (the Batch API) polls this too, and cancels its remote batch when True.
    """
    row = store.db.execute("SELECT cancel_requested FROM runs WHERE id = ?", [run_id]).fetchone()
    return row is not None and row[0] is not None


@dataclass(frozen=True)
class LiveState:
    run_id: int
    status: str
    n_done: int
    n_total: int
    n_errors: int
    n_cached: int
    concurrency: int  # the run's setting (the engine may go lower when rate-limited)
    cancelling: bool  # a cancel was requested and the run has not stopped yet
    reason: str | None


def watch(store: Store, run_ids: list[int], *,
          died: dict[int, str] | None = None) -> list[LiveState]:
    """The state of each run; a 'running' run whose process is gone becomes 'interrupted'.

    ``died`` gives, per run, a better reason than "the process stopped" when the caller
    knows how its child ended (e.g. "killed by signal 9").
    """
    states = []
    for run_id in run_ids:
        row = store.db.execute(
            "SELECT status, n_total, reason, pid, pid_started, cancel_requested, "
            "coalesce(json_extract(settings, '$.concurrency'), 0), "
            "(SELECT count(*) FROM run_results x WHERE x.run_id = runs.id), "
            "(SELECT count(*) FROM run_results x WHERE x.run_id = runs.id "
            " AND x.error_class IS NOT NULL AND x.error_class != ''), "
            "(SELECT count(*) FROM run_results x WHERE x.run_id = runs.id AND x.cached) "
            "FROM runs WHERE id = ?", [run_id]).fetchone()
        if row is None:
            continue
        (status, n_total, reason, pid, started, cancel, concurrency, n_done, n_errors,
         n_cached) = row
        if status == "running" and not (processes.is_self(pid, started)
                                        or processes.is_alive(pid, started)):
            reason = (died or {}).get(run_id) or DIED
            with store.transaction() as db:
                if _mark_interrupted(db, store, run_id, reason):
                    status = "interrupted"
        going = status in ("queued", "running")
        states.append(LiveState(run_id, status, n_done, n_total, n_errors, n_cached,
                                int(concurrency), cancel is not None and going, reason))
    return states


def running_run_ids(store: Store) -> list[int]:
    """Runs recorded as running now (to watch them again when a window opens)."""
    return [r[0] for r in store.db.execute(
        "SELECT id FROM runs WHERE status = 'running' ORDER BY id")]


def _mark_interrupted(db, store: Store, run_id: int, reason: str) -> bool:
    changed = db.execute(
        "UPDATE runs SET status = 'interrupted', pid = NULL, pid_started = NULL, reason = ? "
        "WHERE id = ? AND status = 'running'", [reason, run_id]).rowcount
    if changed:
        audit.append(store, "run.interrupted", f"run:{run_id}",
                     {"run_id": run_id, "reason": reason})
    return bool(changed)
