"""Offline engines (vLLM ``run-batch`` on a GPU machine, or any tool that answers OpenAI's
batch format): the run's requests are written to a file, and the engine's output files are
imported, scored and stored by the same code as Batch API and online rows.

An exported run is ``awaiting-results`` until every row is stored; importing a file again
changes nothing (rows already stored are left alone); rows missing from the files are
listed and can be exported again. Failed lines are stored as error rows (there is no one
to retry them); lines that expired unrun stay missing. Imported rows are priced at the
endpoint's batch price.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_desk.core import batch_files, runs
from mlops_desk.core.batch import INSERT_RESULT_ONCE, finish_run, row_results_of, run_context
from mlops_desk.core.errors import BadInput
from mlops_desk.core.run_writer import WritePolicy, retry_writes
from mlops_desk.core.store import Store, utcnow


def export_requests(store: Store, run_id: int, path) -> int:
    """Write the requests of the run's unstored rows to ``path``; the run then awaits results.

    Returns the number of requests written.
    """
    ctx = run_context(store, run_id)
    if ctx.run.status in ("running", "submitted"):
        raise BadInput(f"run {run_id} is {ctx.run.status}; its rows are being sent already")
    stored = runs.done_row_indexes(store, run_id)
    wanted = set(range(ctx.run.n_total)) - stored
    lines = (line for _, line in batch_files.request_lines(
        store, ctx.run.dataset_id, ctx.run.n_total, ctx.version.config, wanted))
    try:
        count = batch_files.write_atomically(path, lines)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
    with store.transaction() as db:
        db.execute("UPDATE runs SET status = 'awaiting-results', reason = NULL, "
                   "started_at = coalesce(started_at, ?) WHERE id = ?", [utcnow(), run_id])
    return count


@dataclass(frozen=True)
class ImportReport:
    run: runs.Run
    new_rows: int
    already_stored: int
    not_this_run: int
    missing: list[int]  # rows of the run with no stored result yet


def import_results(store: Store, run_id: int, paths: list, *,
                   policy: WritePolicy | None = None) -> ImportReport:
    """Score and store the answers in output files (OpenAI's or vLLM's format).

    Rows already stored are left alone, so importing a file again changes nothing. Failed
    lines are stored as error rows; expired ones stay missing. With every row stored the
    run ends as an online run would.
    """
    ctx = run_context(store, run_id, policy)
    if ctx.run.status in ("running", "submitted"):
        raise BadInput(f"run {run_id} is {ctx.run.status}; import results once it has stopped")
    outcomes: dict[int, batch_files.Outcome] = {}
    foreign = 0
    for path in paths:
        try:
            with open(path, "rb") as handle:
                for outcome in batch_files.read_outcomes(handle, str(path)):
                    if outcome is None or outcome.idx >= ctx.run.n_total:
                        foreign += 1
                    elif outcome.completion is not None or outcome.error is not None:
                        previous = outcomes.get(outcome.idx)
                        if previous is None or previous.completion is None:
                            outcomes[outcome.idx] = outcome  # an answer beats a failure
        except OSError as exc:
            raise BadInput(f"cannot read {path}: {exc.strerror or exc}") from None
    if not outcomes and foreign:
        raise BadInput(f"the file(s) answer none of run {run_id}'s rows ({foreign} line(s) "
                       "with other custom_ids)")
    stored = runs.done_row_indexes(store, run_id)
    fresh = {idx: outcome for idx, outcome in outcomes.items() if idx not in stored}
    results, _ = row_results_of(ctx, dict.fromkeys(fresh, 1), fresh, retry_unrun=False)

    def write() -> None:
        with store.transaction() as db:
            db.conn.executemany(INSERT_RESULT_ONCE, results)

    if results:
        retry_writes(write, ctx.policy, f"storing the imported results of run {run_id}")
    missing = sorted(set(range(ctx.run.n_total)) - runs.done_row_indexes(store, run_id))
    if not missing and results:
        with store.transaction() as db:  # _finish ends only open runs
            db.execute("UPDATE runs SET status = 'awaiting-results' WHERE id = ? AND status "
                       "IN ('cancelled', 'interrupted', 'failed')", [run_id])
        finish_run(ctx, None, None)
    return ImportReport(runs.get_run(store, run_id), len(results),
                        len(outcomes) - len(fresh), foreign, missing)
