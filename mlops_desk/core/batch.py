"""Runs handed to a provider's Batch API (OpenAI, Azure OpenAI, Groq, LiteLLM) or to an
offline engine (vLLM ``run-batch``, see ``batch_offline``), with the same rows, scores,
metrics and gates as online.

A Batch API run:

1. ``create_batch_run`` records the run (``queued``); ``submit`` splits its unstored rows into
   files of at most ``batch_size`` requests and 200 MB, uploads each (``purpose=batch``),
   creates the batches and stores their ids (table ``run_batches``) before anything else, so
   a crash, a SIGKILL or a reboot never loses one: the run is ``submitted``.
2. ``poll`` reads every open batch; an ended one is collected once: its output and error
   files are parsed by ``batch_files`` and scored and stored by ``row_results`` (the online
   engine's code). Failed lines (non-200 or an error) go into a follow-up batch until they
   have been tried ``max_attempts`` times, then stay as error rows; lines that expired unrun
   go into the follow-up without counting as an attempt. A batch that fails validation ends
   the run ``failed`` quoting its first errors.
3. When no batch is open the run ends like an online run (stored rows counted, metrics
   computed once), so metrics, charts, gates and reports treat it alike.

Rows are never sent twice: a row is only planned when it is neither stored nor in an
uncollected batch, and a batch whose upload happened but whose id was not yet stored is
found again by its ``metadata`` before a new one is created. One process at a time watches
a run (its PID and start time, as for online runs); ``wait`` polls until the end.

Counting decisions: a batch row has no latency (``latency_ms`` is empty; latency
percentiles are absent); its cost is the endpoint's price less its batch discount
(default 50 %); ``attempts`` counts the batches that ran the row, not expiries.
Not supported: judge scorers (each grade is an online call) and the response cache.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from mlops_desk.core import batch_files, processes, row_results, runs, secrets
from mlops_desk.core.datasets import Dataset, get_dataset_by_id
from mlops_desk.core.errors import BadInput, Conflict, MlopsError, RunAborted, RunInterrupted
from mlops_desk.core.logs import get_logger
from mlops_desk.core.registry import (
    Version,
    get_endpoint,
    get_model,
    get_version_by_id,
)
from mlops_desk.core.run_writer import WritePolicy, retry_writes
from mlops_desk.core.runner import (
    CancelToken,
    Progress,
    RunOptions,
    _final_metrics,
    _verdict,
    create_run,
)
from mlops_desk.core.scoring import parse_scorer_spec
from mlops_desk.core.store import Store, utcnow

log = get_logger("batch")

OPEN_REMOTE = ("validating", "in_progress", "finalizing", "cancelling")
ENDED_REMOTE = ("completed", "failed", "expired", "cancelled")
BATCH_MODES = ("batch", "export")
_OPEN_RUN = ("queued", "submitted", "awaiting-results")
INSERT_RESULT_ONCE = (
    f"INSERT OR IGNORE INTO run_results ({', '.join(('run_id', *runs.RESULT_COLUMNS))}) "
    f"VALUES ({', '.join('?' * (len(runs.RESULT_COLUMNS) + 1))})"
)


# -- creating ------------------------------------------------------------------------------


def create_batch_run(store: Store, version: Version, dataset: Dataset,
                     options: RunOptions | None = None, *, mode: str = "batch",
                     batch_size: int = batch_files.MAX_BATCH_ROWS,
                     max_file_bytes: int = batch_files.MAX_FILE_BYTES) -> int:
    """Record a run sent through a Batch API (``batch``) or an exported file (``export``)."""
    assert mode in BATCH_MODES
    options = replace(options or RunOptions(), use_cache=False)  # each row is sent once
    if not 1 <= batch_size <= batch_files.MAX_BATCH_ROWS:
        raise BadInput(f"bad batch size {batch_size}: expected 1..{batch_files.MAX_BATCH_ROWS:,} "
                       "requests per batch")
    endpoint = get_endpoint(store, version.config["endpoint"])
    if mode == "batch" and endpoint.kind != "openai":
        raise BadInput(f"endpoint {endpoint.name} is a local python model; a Batch API run "
                       "needs an OpenAI-compatible endpoint")
    scorer = options.scorer or version.config.get("params", {}).get("scorer")
    if scorer and parse_scorer_spec(scorer).kind == "judge":
        raise BadInput("a judge scorer grades each answer with an online call; batch and "
                       "exported runs support the other scorers")
    extra = {"mode": mode, "batch_size": batch_size, "max_file_bytes": max_file_bytes,
             "batch_discount": endpoint.batch_discount}
    return create_run(store, version, dataset, options, extra=extra)


def is_batch_run(run: runs.Run) -> bool:
    return run.settings.get("mode") in BATCH_MODES


# -- the run's context ---------------------------------------------------------------------


@dataclass
class BatchContext:
    """What collecting a batch run's answers needs, loaded once per call."""

    store: Store
    run: runs.Run
    version: Version
    labels: list[str] | None
    endpoint: Any
    rules: row_results.RowRules
    max_attempts: int
    policy: WritePolicy


def run_context(store: Store, run_id: int, policy: WritePolicy | None = None) -> BatchContext:
    run = runs.get_run(store, run_id)
    if not is_batch_run(run):
        raise BadInput(f"run {run_id} was run online, not through a Batch API or a file")
    version = get_version_by_id(store, run.version_id)
    model = get_model(store, version.model)
    endpoint = get_endpoint(store, version.config["endpoint"])
    dataset = get_dataset_by_id(store, run.dataset_id)
    discount = float(run.settings.get("batch_discount", endpoint.batch_discount))
    price = endpoint.price_for(version.config["model_id"])
    if price is not None:  # the discount recorded when the run was created
        price = (price[0] * (1 - discount), price[1] * (1 - discount))
    rules = row_results.RowRules(run_id=run_id, parser=version.config["parser"],
                                 labels=model.labels or None, scorer=run.settings["scorer"],
                                 expected_col=dataset.expected_col, price=price)
    return BatchContext(store, run, version, model.labels or None, endpoint, rules,
                max(1, int(run.settings.get("max_attempts", 5))), policy or WritePolicy())


def make_client(endpoint) -> Any:
    """A synchronous OpenAI client for the endpoint: explicit timeout, a few SDK retries."""
    import openai

    return openai.OpenAI(api_key=secrets.resolve(endpoint.name, endpoint.api_key_ref) or "none",
                         base_url=endpoint.base_url, timeout=endpoint.timeout_s, max_retries=2)


@contextlib.contextmanager
def _client_for(endpoint, client: Any = None) -> Iterator[Any]:
    """The caller's client, or one made for the endpoint and closed afterwards."""
    if client is not None:
        yield client
        return
    own = make_client(endpoint)
    try:
        yield own
    finally:
        own.close()


# -- the batch table -----------------------------------------------------------------------


@dataclass(frozen=True)
class LocalBatch:
    id: int
    rows: dict[int, int]  # row index -> the attempt this batch makes for it
    remote_id: str | None
    input_file_id: str | None
    status: str
    n_completed: int
    n_failed: int
    cancelled: bool


def _local(row) -> LocalBatch:
    rows = {int(k): v for k, v in json.loads(row[1]).items()}
    return LocalBatch(row[0], rows, row[2], row[3], row[4], row[5], row[6], bool(row[7]))


def open_batches(store: Store, run_id: int) -> list[LocalBatch]:
    return [_local(r) for r in store.db.execute(
        "SELECT id, rows, remote_id, input_file_id, status, n_completed, n_failed, cancelled "
        "FROM run_batches WHERE run_id = ? AND collected = 0 ORDER BY id", [run_id])]


def batch_ids(store: Store, run_id: int) -> list[dict[str, Any]]:
    """Every batch of a run, for listings: remote id, status, rows, counts."""
    return [{"id": r[0], "remote_id": r[1], "status": r[2], "n_rows": r[3],
             "n_completed": r[4], "n_failed": r[5], "collected": bool(r[6])}
            for r in store.db.execute(
                "SELECT id, remote_id, status, n_rows, n_completed, n_failed, collected "
                "FROM run_batches WHERE run_id = ? ORDER BY id", [run_id])]


def _add_batch(store: Store, run_id: int, rows: dict[int, int], status: str = "pending") -> None:
    now = utcnow()
    store.db.conn.execute(
        "INSERT INTO run_batches (run_id, rows, n_rows, status, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)", [run_id, json.dumps(rows), len(rows), status, now, now])


def _update(store: Store, batch_id: int, **fields: Any) -> None:
    sets = ", ".join(f"{name} = ?" for name in fields)
    with store.transaction() as db:
        db.execute(f"UPDATE run_batches SET {sets}, updated_at = ? WHERE id = ?",
                   [*fields.values(), utcnow(), batch_id])


def _cancel_requested(store: Store, run_id: int) -> bool:
    return store.db.execute("SELECT 1 FROM run_batches WHERE run_id = ? AND cancelled = 1",
                            [run_id]).fetchone() is not None


# -- owning a run while watching it --------------------------------------------------------


def claim(store: Store, run_id: int) -> None:
    """Make this process the run's watcher; refuses while another live process is."""
    with store.transaction() as db:
        pid, started = db.execute("SELECT pid, pid_started FROM runs WHERE id = ?",
                                  [run_id]).fetchone()
        if (pid is not None and not processes.is_self(pid, started)
                and processes.is_alive(pid, started)):
            raise Conflict(f"run {run_id} is being watched by process {pid}")
        db.execute("UPDATE runs SET pid = ?, pid_started = ? WHERE id = ?",
                   [os.getpid(), processes.own_start_time(), run_id])


def release(store: Store, run_id: int) -> None:
    with contextlib.suppress(MlopsError), store.transaction() as db:
        pid, started = db.execute("SELECT pid, pid_started FROM runs WHERE id = ?",
                                  [run_id]).fetchone()
        if pid is not None and processes.is_self(pid, started):
            db.execute("UPDATE runs SET pid = NULL, pid_started = NULL WHERE id = ?", [run_id])


# -- submitting ----------------------------------------------------------------------------


def _plan(ctx: BatchContext) -> int:
    """Local batches for the rows neither stored nor in an open batch; returns rows planned."""
    store, run = ctx.store, ctx.run
    busy = set(runs.done_row_indexes(store, run.id))
    for local in open_batches(store, run.id):
        busy.update(local.rows)
    wanted = set(range(run.n_total)) - busy
    if not wanted:
        return 0
    lines = batch_files.request_lines(store, run.dataset_id, run.n_total, ctx.version.config,
                                      wanted)
    groups = batch_files.split(lines, int(run.settings.get("batch_size")),
                               int(run.settings.get("max_file_bytes")))
    with store.transaction():
        for group in groups:
            _add_batch(store, run.id, dict.fromkeys(group, 1))
    return len(wanted)


def submit(store: Store, run_id: int, *, client: Any = None) -> runs.Run:
    """Upload and create the run's batches (every row not stored nor already in a batch)."""
    ctx = run_context(store, run_id)
    if ctx.run.status in ("running", "awaiting-results"):
        raise BadInput(f"run {run_id} is {ctx.run.status}; it cannot be sent to a Batch API")
    if ctx.run.status in ("completed",):
        raise BadInput(f"run {run_id} is completed; there is nothing to send")
    with store.transaction() as db:
        if ctx.run.status in ("cancelled", "interrupted", "failed"):
            db.execute("UPDATE run_batches SET cancelled = 0 WHERE run_id = ?", [run_id])
            if ctx.run.status == "failed":  # a failed run's unanswered rows are sent again
                db.execute("DELETE FROM run_results WHERE run_id = ? AND output IS NULL "
                           "AND error_class IS NOT NULL", [run_id])
        db.execute("UPDATE runs SET status = 'submitted', reason = NULL, "
                   "started_at = coalesce(started_at, ?) WHERE id = ?", [utcnow(), run_id])
    _plan(ctx)
    with _client_for(ctx.endpoint, client) as client:
        for local in open_batches(store, run_id):
            if local.remote_id is None and not local.cancelled:
                _submit_one(ctx, client, local)
        return runs.get_run(store, run_id)


def _metadata_key(store: Store, run_id: int, batch_id: int) -> str:
    registry_id = store.db.execute("SELECT value FROM meta WHERE key = 'registry_id'"
                                   ).fetchone()
    return f"{registry_id[0] if registry_id else 'registry'}/{run_id}/{batch_id}"


def _submit_one(ctx: BatchContext, client: Any, local: LocalBatch) -> None:
    store = ctx.store
    key = _metadata_key(store, ctx.run.id, local.id)
    if local.input_file_id is not None:  # uploaded before a crash: was the batch created?
        for remote in client.batches.list(limit=100):
            if (remote.metadata or {}).get("mlops_desk_batch") == key:
                _update(store, local.id, remote_id=remote.id, status=remote.status)
                log.info("run %s: found batch %s again", ctx.run.id, remote.id)
                return
    with tempfile.TemporaryFile() as handle:
        lines = batch_files.request_lines(store, ctx.run.dataset_id, ctx.run.n_total,
                                          ctx.version.config, set(local.rows))
        for _, line in lines:
            handle.write(line)
        handle.seek(0)
        uploaded = client.files.create(file=(f"mlops-desk-run{ctx.run.id}-{local.id}.jsonl",
                                             handle), purpose="batch")
    _update(store, local.id, input_file_id=uploaded.id)
    remote = client.batches.create(input_file_id=uploaded.id, endpoint=batch_files.CHAT_URL,
                                   completion_window="24h",
                                   metadata={"mlops_desk_batch": key})
    _update(store, local.id, remote_id=remote.id, status=remote.status)
    log.info("run %s: batch %s created with %d rows", ctx.run.id, remote.id, len(local.rows))


# -- polling and collecting ----------------------------------------------------------------


@dataclass(frozen=True)
class PollState:
    finished: bool
    progress: Progress
    statuses: dict[str, int]  # remote status -> batches


def poll(store: Store, run_id: int, *, client: Any = None,
         policy: WritePolicy | None = None) -> PollState:
    """Read every open batch once, collect the ended ones, send follow-ups, maybe finish."""
    ctx = run_context(store, run_id, policy)
    if ctx.run.status not in ("submitted", "queued"):
        return _state(ctx, finished=True)
    with _client_for(ctx.endpoint, client) as client:
        failure = None
        for local in open_batches(store, run_id):
            if local.remote_id is None:
                if local.cancelled:
                    _update(store, local.id, status="cancelled", collected=1)
                else:
                    _submit_one(ctx, client, local)
                continue
            remote = client.batches.retrieve(local.remote_id)
            counts = remote.request_counts
            _update(store, local.id, status=remote.status,
                    n_completed=counts.completed if counts else 0,
                    n_failed=counts.failed if counts else 0)
            if remote.status in ENDED_REMOTE:
                failure = _collect(ctx, client, local, remote) or failure
        if failure:
            for local in open_batches(store, run_id):
                with contextlib.suppress(Exception):  # best effort: the run has failed anyway
                    if local.remote_id:
                        client.batches.cancel(local.remote_id)
                _update(store, local.id, cancelled=1, collected=1)
            finish_run(ctx, "failed", failure)
            return _state(ctx, finished=True)
        remaining = open_batches(store, run_id)
        if not remaining:
            finish_run(ctx, "cancelled" if _cancel_requested(store, run_id) else None, None)
            return _state(ctx, finished=True)
        for local in remaining:  # follow-ups made by this round's collections
            if local.remote_id is None and not local.cancelled:
                _submit_one(ctx, client, local)
        return _state(ctx, finished=False)


def _collect(ctx: BatchContext, client: Any, local: LocalBatch, remote: Any) -> str | None:
    """Store an ended batch's rows and plan its follow-up; returns a validation failure."""
    store = ctx.store
    if remote.status == "failed":
        errors = [e for e in ((remote.errors.data or []) if remote.errors else [])]
        quoted = "; ".join(f"line {e.line}: {e.message}" if e.line else str(e.message)
                           for e in errors[:3])
        _update(store, local.id, errors=json.dumps([e.model_dump() for e in errors[:20]]),
                collected=1)
        return (f"batch {remote.id} failed validation: {quoted or 'no reason given'}"
                + (f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""))
    outcomes: dict[int, batch_files.Outcome] = {}
    for file_id in (remote.output_file_id, remote.error_file_id):
        if file_id:
            for outcome in _download(client, file_id):
                if outcome is not None and outcome.idx in local.rows:
                    outcomes.setdefault(outcome.idx, outcome)
    cancelling = local.cancelled or remote.status == "cancelled"
    results, follow_up = row_results_of(ctx, local.rows, outcomes, retry_unrun=not cancelling)

    def write() -> None:
        with store.transaction() as db:
            if db.execute("SELECT collected FROM run_batches WHERE id = ?",
                          [local.id]).fetchone()[0]:
                return  # another process collected it first
            db.conn.executemany(INSERT_RESULT_ONCE, results)
            if follow_up and not _cancel_requested(store, ctx.run.id):
                _add_batch(store, ctx.run.id, follow_up)
            db.execute("UPDATE run_batches SET collected = 1, updated_at = ? WHERE id = ?",
                       [utcnow(), local.id])

    retry_writes(write, ctx.policy, f"storing the results of batch {remote.id}")
    log.info("run %s: batch %s %s: %d rows stored, %d sent again", ctx.run.id, remote.id,
             remote.status, len(results), len(follow_up))
    return None


def _download(client: Any, file_id: str):
    with client.files.with_streaming_response.content(file_id) as response:
        yield from batch_files.read_outcomes(response.iter_lines(), f"file {file_id}")


def row_results_of(ctx: BatchContext, attempts: dict[int, int],
                   outcomes: dict[int, batch_files.Outcome], *,
                   retry_unrun: bool) -> tuple[list[tuple], dict[int, int]]:
    """(result rows to store, row -> attempt for the follow-up batch)."""
    results, follow_up = [], {}
    for idx, row in batch_files.rows_of(ctx.store, ctx.run.dataset_id, ctx.run.n_total,
                                        set(attempts)):
        attempt, outcome = attempts[idx], outcomes.get(idx)
        if outcome is None or outcome.expired:
            if retry_unrun:  # never ran: try again, not counted as an attempt
                follow_up[idx] = attempt
        elif outcome.completion is not None:
            results.append(row_results.scored_answer(ctx.rules, idx, row, outcome.completion,
                                                     attempts=attempt, latency_ms=None))
        elif attempt < ctx.max_attempts and retry_unrun:
            follow_up[idx] = attempt + 1
        else:
            results.append(row_results.unanswered(ctx.rules, idx, row, attempt, outcome.error))
    return results, follow_up


def finish_run(ctx: BatchContext, status: str | None, reason: str | None) -> None:
    """End the run once (another process may have ended it meanwhile)."""
    store = ctx.store
    with store.transaction():
        run = runs.get_run(store, ctx.run.id)
        if run.status not in _OPEN_RUN:
            return
        if status is None:
            status, reason = _verdict(store, run)
        elif status == "cancelled":
            reason = "cancelled by the user"
        elapsed = _since(run.started_at or run.created_at) - run.elapsed_s
        metrics = _final_metrics(store, run, ctx.labels, elapsed) if run.n_done else None
        runs.finish(store, run.id, status, elapsed_s=elapsed, metrics=metrics, reason=reason,
                    subject=f"{run.model}:{run.version}")
    log.info("run %s %s: %s", run.id, status, reason or "")


def _since(iso: str) -> float:
    from datetime import datetime

    started = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    now = datetime.fromisoformat(utcnow().replace("Z", "+00:00"))
    return max((now - started).total_seconds(), 0.0)


def _state(ctx: BatchContext, *, finished: bool) -> PollState:
    store, run_id = ctx.store, ctx.run.id
    run = runs.get_run(store, run_id)
    statuses: dict[str, int] = {}
    in_flight = 0
    for local in open_batches(store, run_id):
        statuses[local.status] = statuses.get(local.status, 0) + 1
        in_flight += local.n_completed + local.n_failed
    errors = store.db.execute("SELECT count(*) FROM run_results WHERE run_id = ? AND "
                              "error_class IS NOT NULL", [run_id]).fetchone()[0]
    done = min(run.n_done + in_flight, run.n_total)
    return PollState(finished, Progress(done=done, total=run.n_total, errors=errors, cached=0,
                                        rows_per_s=0.0, eta_s=None,
                                        concurrency=len(open_batches(store, run_id))),
                     statuses)


def wait(store: Store, run_id: int, *, poll_interval: float = 30.0,
         on_progress: Callable[[Progress], None] | None = None,
         cancel: CancelToken | None = None, client: Any = None,
         policy: WritePolicy | None = None) -> runs.Run:
    """Poll until every batch has ended and the run is finished (or ``cancel`` is set: then
    the batches keep running remotely and the run stays ``submitted``, to resume later).

    Raises ``RunAborted`` for a run that ended failed, ``RunInterrupted`` for one that ended
    interrupted or whose Batch API could not be reached.
    """
    ctx = run_context(store, run_id, policy)
    claim(store, run_id)
    try:
        with _client_for(ctx.endpoint, client) as client:
            if not _wait_loop(store, run_id, client, policy, poll_interval, on_progress,
                              cancel):
                return runs.get_run(store, run_id)  # stopped waiting; still submitted
    finally:
        release(store, run_id)
    run = runs.get_run(store, run_id)
    if run.status == "failed":
        raise RunAborted(f"run {run_id} failed: {run.reason}")
    if run.status == "interrupted":
        raise RunInterrupted(f"run {run_id} interrupted: {run.reason}")
    return run


def _wait_loop(store: Store, run_id: int, client: Any, policy: WritePolicy | None,
               poll_interval: float, on_progress: Callable[[Progress], None] | None,
               cancel: CancelToken | None) -> bool:
    """Poll until the run ends (True) or ``cancel`` is set (False)."""
    import openai

    started, first_done = time.monotonic(), None
    while True:
        try:
            state = poll(store, run_id, client=client, policy=policy)
        except (openai.APIConnectionError, openai.InternalServerError,
                openai.RateLimitError) as exc:
            log.warning("run %s: polling failed, trying again: %s", run_id, exc)
            state = None
        except openai.APIStatusError as exc:
            raise RunInterrupted(
                f"run {run_id}: the Batch API refused a request ({exc.status_code}: "
                f"{secrets.redact(str(exc.message))}); the batches keep running, resume "
                "the run to pick them up") from None
        if state is not None:
            if first_done is None:
                first_done = state.progress.done
            if on_progress is not None:
                on_progress(_with_eta(state.progress, first_done, started))
            if state.finished:
                return True
        deadline = time.monotonic() + poll_interval
        while time.monotonic() < deadline:
            if cancel is not None and cancel.cancelled:
                return False
            time.sleep(min(0.05, poll_interval))


def _with_eta(progress: Progress, first_done: int, started: float) -> Progress:
    elapsed = max(time.monotonic() - started, 1e-9)
    rate = (progress.done - first_done) / elapsed
    remaining = progress.total - progress.done
    return replace(progress, rows_per_s=rate, eta_s=remaining / rate if rate > 0 else None)


# -- cancelling ----------------------------------------------------------------------------


def cancel_remote(store: Store, run_id: int, *, client: Any = None, wait_s: float = 60.0,
                  poll_interval: float = 1.0) -> runs.Run:
    """Cancel the run's remote batches, keep every row that finished, end it ``cancelled``.

    Remote cancellation can take minutes; after ``wait_s`` the run is left ``submitted``
    with its batches cancelling, and whoever polls it next ends it ``cancelled``.
    """
    ctx = run_context(store, run_id)
    if ctx.run.status not in ("submitted", "queued"):
        raise BadInput(f"run {run_id} is {ctx.run.status}; only a submitted run can be "
                       "cancelled")
    with _client_for(ctx.endpoint, client) as client:
        with store.transaction() as db:
            db.execute("UPDATE run_batches SET cancelled = 1 WHERE run_id = ? AND collected = 0",
                       [run_id])
        for local in open_batches(store, run_id):
            if local.remote_id is not None and local.status not in ENDED_REMOTE:
                remote = client.batches.cancel(local.remote_id)
                _update(store, local.id, status=remote.status)
        deadline = time.monotonic() + wait_s
        while True:
            state = poll(store, run_id, client=client)
            if state.finished or time.monotonic() >= deadline:
                break
            time.sleep(poll_interval)
        return runs.get_run(store, run_id)


# -- for the desktop -----------------------------------------------------------------------


def execute_or_submit(store: Store, run_id: int, *,
                      on_progress: Callable[[Progress], None] | None = None,
                      cancel: CancelToken | None = None) -> runs.Run:
    """What the desktop calls to start or resume a run: an online run is executed; a Batch
    API run is submitted and left ``submitted`` (``poll_submitted`` follows it up)."""
    from mlops_desk.core.runner import execute

    run = runs.get_run(store, run_id)
    if not is_batch_run(run):
        return execute(store, run_id, on_progress=on_progress, cancel=cancel)
    if run.settings.get("mode") == "export":
        raise BadInput(f"run {run_id} awaits results from an offline engine; import its "
                       "output files")
    return run if run.status == "submitted" else submit(store, run_id)


def submitted_run_ids(store: Store) -> list[int]:
    return [r[0] for r in store.db.execute(
        "SELECT id FROM runs WHERE status = 'submitted' ORDER BY id")]


def poll_submitted(store: Store) -> list[int]:
    """Poll every submitted run no other live process watches; returns the runs that ended.

    Problems (an unreachable API, a refused key) are logged and tried again next time: a
    background poll must not stop a run that is waiting on a remote engine.
    """
    ended = []
    for run_id in submitted_run_ids(store):
        try:
            claim(store, run_id)
        except Conflict:
            continue
        try:
            if poll(store, run_id).finished:
                ended.append(run_id)
        except Exception as exc:  # logged; the next poll tries again
            log.warning("run %s: background poll failed: %s", run_id,
                        secrets.redact(str(exc)))
        finally:
            release(store, run_id)
    return ended
