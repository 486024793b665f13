"""The run engine: a dataset through a version, concurrently, resumably, measurably.

``execute`` runs one event loop on the calling thread (a CLI main thread or a GUI
worker). Rows are fed as concurrency slots open (so 100k rows never sit in memory),
each row is rendered, sent with retries and back-off, parsed and scored, and its
result goes to a single writer thread that commits at most every 250 ms or 200 rows and
keeps (and retries) what it could not write yet (``run_writer``).

How a run ends:

- ``completed``: every row of its selection is stored and at least one got an answer.
- ``failed``: the endpoint could not be used at all (the first request could not connect,
  the key was refused, the quota is exhausted, a ``python`` model does not import), or
  no row got an answer. ``RunAborted`` says why. Failed runs never feed summaries, charts
  or gates, which read completed runs only.
- ``interrupted``: rows could not be stored (the database stayed locked past the write
  budget, or fewer rows than selected were found at the end). ``RunInterrupted`` says
  why; resuming sends the missing rows.
- ``cancelled``: the user cancelled.

The first row sent is a preflight: the others wait for its first answer, so a dead
endpoint costs one request, not one per row times the retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from mlops_desk.core import row_results, run_control, runs, secrets, work
from mlops_desk.core.datasets import Dataset, get_dataset_by_id, iter_rows
from mlops_desk.core.endpoint_check import load_target
from mlops_desk.core.errors import BadInput, MlopsError, RunAborted, RunInterrupted
from mlops_desk.core.flow_control import (
    AdaptiveLimiter,
    TokenBucket,
    backoff_delay,
    retry_after_seconds,
)
from mlops_desk.core.inference import (
    Completion,
    cache_key,
    call_python_target,
    completion_from_body,
    render_messages,
    request_body,
    request_params,
)
from mlops_desk.core.logs import get_logger
from mlops_desk.core.metrics import compute_metrics
from mlops_desk.core.registry import (
    Endpoint,
    Model,
    Version,
    check_template_columns,
    get_endpoint,
    get_model,
    get_version,
    get_version_by_id,
)
from mlops_desk.core.run_writer import RowWriter, WritePolicy, retry_writes
from mlops_desk.core.scoring import (
    build_judge_messages,
    default_scorer,
    parse_judge_reply,
    parse_scorer_spec,
    score,
    validate_scorer_spec,
)
from mlops_desk.core.store import Store, utcnow

log = get_logger("runner")

FLUSH_EVERY_S = 0.25
FLUSH_ROWS = 200
PROGRESS_EVERY_S = 0.1
CANCEL_POLL_S = 0.25  # how often the engine reads the database for a cancel request
CHUNK_ROWS = 1_000
MAX_RETRY_AFTER_S = 60.0
RETRYABLE_STATUS = frozenset({408, 409, 429})
MAX_PENDING_ROWS = 20_000  # the feeder waits while this many rows wait for the database
RESULT_ERROR_AT = 1 + runs.RESULT_COLUMNS.index("error_class")  # in a result tuple


@dataclass(frozen=True)
class RunOptions:
    concurrency: int | None = None  # default: the endpoint's max concurrency
    use_cache: bool = True
    limit: int | None = None
    scorer: str | None = None  # default: the version's 'scorer' param, else by model kind
    max_attempts: int = 5
    rpm: int | None = None
    tpm: int | None = None
    judge_rubric: str | None = None


@dataclass(frozen=True)
class Progress(work.Progress):
    """The long-work ``Progress`` (``done`` of ``total`` rows) with a run's live figures."""

    errors: int = 0
    cached: int = 0
    rows_per_s: float = 0.0
    eta_s: float | None = None
    concurrency: int = 0


CancelToken = work.CancelToken  # the core protocol's token, under the name callers know


# -- creating runs -----------------------------------------------------------


def create_run(store: Store, version: Version, dataset: Dataset,
               options: RunOptions = RunOptions(), *, extra: dict | None = None) -> int:
    """Check everything that can be checked before a request is sent, then record the run.

    ``extra`` joins the run's settings (how a Batch API or offline run is sent).
    """
    model = get_model(store, version.model)
    endpoint = get_endpoint(store, version.config["endpoint"])
    check_template_columns(version.config["template"], dataset.columns, dataset.name)
    scorer = resolve_scorer(model, version, options)
    if parse_scorer_spec(scorer).kind == "judge":
        spec = parse_scorer_spec(scorer)
        get_version(store, spec.judge_model, spec.judge_version)
    # "is None", not "or": an explicit 0 is a mistake to report, not a request for the default.
    concurrency = endpoint.max_concurrency if options.concurrency is None else options.concurrency
    if not 1 <= concurrency <= 1024:
        raise BadInput(f"bad concurrency {concurrency}: expected 1..1024")
    if options.limit is not None and options.limit < 1:
        raise BadInput(f"bad row limit {options.limit}: expected a positive number of rows",
                       hint="--limit")
    rpm = endpoint.rpm if options.rpm is None else options.rpm
    tpm = endpoint.tpm if options.tpm is None else options.tpm
    for name, value in (("rpm", rpm), ("tpm", tpm)):
        if value is not None and value < 1:  # a rate <= 0 would stall the run for ever
            raise BadInput(f"bad {name} limit {value} (from the run settings or the endpoint): "
                           "expected a positive number per minute", hint=f"--{name}")
    n_total = min(dataset.n_rows, options.limit) if options.limit else dataset.n_rows
    settings = {**asdict(options), "concurrency": concurrency, "scorer": scorer,
                "rpm": rpm, "tpm": tpm, **(extra or {})}
    return runs.create_run(store, model_id=model.id, version_id=version.id,
                           dataset_id=dataset.id, n_total=n_total, settings=settings,
                           subject=version.ref)


def resolve_scorer(model: Model, version: Version, options: RunOptions) -> str:
    spec = options.scorer or version.config.get("params", {}).get("scorer")
    return validate_scorer_spec(spec or default_scorer(model.kind))


# -- executing runs ----------------------------------------------------------


def execute(store: Store, run_id: int, *, on_progress: Callable[[Progress], None] | None = None,
            cancel: CancelToken | None = None,
            write_policy: WritePolicy | None = None) -> runs.Run:
    """Run (or resume) a run to its end; returns the finished run record.

    A run that ends 'failed' raises ``RunAborted``, one that ends 'interrupted' raises
    ``RunInterrupted``; both say why in one line (see the module docstring).
    ``write_policy`` says how long writes may wait out a locked database.
    """
    write_policy = write_policy or WritePolicy()
    runs.mark_started(store, run_id)
    engine: _Engine | None = None
    started = time.perf_counter()
    status, reason = "failed", None
    try:
        engine = _Engine(store, run_id, on_progress, cancel or CancelToken(), write_policy)
        status, reason = asyncio.run(engine.run())
    except MlopsError as exc:
        reason = str(exc)
        raise
    except BaseException as exc:
        reason = f"{type(exc).__name__}: {secrets.redact(str(exc))}"[:500]
        status = "cancelled" if isinstance(exc, KeyboardInterrupt) else "failed"
        raise
    finally:
        elapsed = time.perf_counter() - started
        run = runs.get_run(store, run_id)
        if status == "completed":
            status, reason = _verdict(store, run)
        labels = engine.model.labels if engine is not None else None
        metrics = _final_metrics(store, run, labels, elapsed) if run.n_done else None
        end = functools.partial(runs.finish, store, run_id, status, elapsed_s=elapsed,
                                metrics=metrics, reason=reason,
                                subject=f"{run.model}:{run.version}")
        retry_writes(end, write_policy, f"recording the end of run {run_id}")
        log.info("run %s %s: %s/%s rows in %.1f s", run_id, status, run.n_done, run.n_total,
                 elapsed)
    run = runs.get_run(store, run_id)
    if status == "failed":
        raise RunAborted(f"run {run_id} stopped: {reason}")
    if status == "interrupted":
        raise RunInterrupted(f"run {run_id} interrupted: {reason}")
    return run


def _verdict(store: Store, run: runs.Run) -> tuple[str, str | None]:
    """The status of a run whose rows were all processed: counted, not assumed."""
    if run.n_done < run.n_total:
        return "interrupted", f"only {run.n_done} of {run.n_total} rows were stored"
    n_unanswered, commonest = runs.unanswered(store, run.id)
    if run.n_total and n_unanswered == run.n_done:
        return "failed", f"no row got an answer ({commonest})"
    return "completed", None


def _final_metrics(store: Store, run: runs.Run, labels: list[str] | None,
                   elapsed: float) -> dict:
    rows = runs.results_for_metrics(store, run.id)
    metrics = compute_metrics(rows, wall_s=run.elapsed_s + elapsed, labels=labels or None)
    metrics["complete"] = len(rows) >= run.n_total
    return metrics


class _Abort(Exception):
    """Raised inside a row task when the whole run must stop (401, quota, unreachable)."""


@dataclass
class _Counts:
    done: int = 0
    errors: int = 0
    cached: int = 0


class _Engine:
    def __init__(self, store: Store, run_id: int,
                 on_progress: Callable[[Progress], None] | None, cancel: CancelToken,
                 write_policy: WritePolicy):
        self.store, self.run_id, self.cancel = store, run_id, cancel
        self.write_policy = write_policy
        self.writer: RowWriter | None = None
        self.on_progress = on_progress
        self.run_record = runs.get_run(store, run_id)
        self.settings = self.run_record.settings
        self.version = get_version_by_id(store, self.run_record.version_id)
        self.model = get_model(store, self.version.model)
        self.endpoint = get_endpoint(store, self.version.config["endpoint"])
        self.dataset = get_dataset_by_id(store, self.run_record.dataset_id)
        self.scorer = self.settings["scorer"]
        self.use_cache = bool(self.settings.get("use_cache", True))
        self.params = request_params(self.version.config)
        self.price = self.endpoint.price_for(self.version.config["model_id"])
        self.rules = row_results.RowRules(
            run_id=run_id, parser=self.version.config["parser"],
            labels=self.model.labels or None, scorer=self.scorer,
            expected_col=self.dataset.expected_col, price=self.price)
        self.abort_reason: str | None = None
        self.done_before = runs.done_row_indexes(store, run_id)
        self.counts = _Counts(done=len(self.done_before))
        self.session_done = 0
        self.started = time.perf_counter()
        self.last_progress = 0.0
        if run_control.cancel_requested(store, run_id):  # cancelled before it started
            cancel.cancel()

    # -- top level -------------------------------------------------------
    async def run(self) -> tuple[str, str | None]:
        self.limiter = AdaptiveLimiter(int(self.settings["concurrency"]))
        self.rpm = TokenBucket(self.settings["rpm"]) if self.settings.get("rpm") else None
        self.tpm = TokenBucket(self.settings["tpm"]) if self.settings.get("tpm") else None
        try:
            self.caller = await self._make_caller(self.endpoint, self.version)
        except _Abort as exc:
            return "failed", str(exc)
        try:
            self.judge = await self._make_judge()
        except BaseException as exc:
            await self.caller.close()
            if isinstance(exc, _Abort):
                return "failed", str(exc)
            raise
        self.tasks: set[asyncio.Task] = set()
        self.preflight_settled = asyncio.Event()
        self.writer = RowWriter(self.store, self.write_policy, flush_every_s=FLUSH_EVERY_S,
                                flush_rows=FLUSH_ROWS)
        # The feeder is a task so the watcher can cancel it: it may be waiting out a
        # Retry-After pause in limiter.acquire(), which can last up to a minute.
        self.feeder = asyncio.create_task(self._feed())
        watcher = asyncio.create_task(self._watch_cancel())
        try:
            await asyncio.wait([self.feeder])
            if not self.feeder.cancelled():
                self.feeder.result()  # re-raise a failure of the feeder itself
            if self.tasks:
                await asyncio.gather(*self.tasks, return_exceptions=True)
        finally:
            for task in (self.feeder, watcher):
                task.cancel()
            await asyncio.gather(self.feeder, watcher, return_exceptions=True)
            # Off the loop: the last write may wait out a locked database.
            await asyncio.to_thread(self.writer.close)
            self._report(force=True)
            await self.caller.close()
            if self.judge is not None:
                await self.judge[0].close()
        if self.abort_reason:
            return "failed", self.abort_reason
        if self.writer.failure:
            return "interrupted", self.writer.failure
        if self.cancel.cancelled:
            return "cancelled", "cancelled by the user"
        return "completed", None

    async def _feed(self) -> None:
        total = self.run_record.n_total
        for start in range(0, total, CHUNK_ROWS):
            chunk = [(idx, row) for idx, row in
                     iter_rows(self.store, self.dataset.id, start=start,
                               limit=min(CHUNK_ROWS, total - start))
                     if idx not in self.done_before]
            requests = []
            for idx, row in chunk:
                messages = render_messages(self.version.config, row)
                requests.append((idx, row, messages,
                                 cache_key(self.version.fingerprint, messages, self.params)))
            hits = self._cache_lookup([r[3] for r in requests]) if self.use_cache else {}
            for idx, row, messages, key in requests:
                if self._stopping:
                    return
                if key in hits:
                    try:
                        await self._score_and_store(idx, row, hits[key], attempts=0,
                                                    latency_ms=0.0, cached=True, key=None)
                    except _Abort as exc:  # the judge's endpoint refused the key or quota
                        self.abort_reason = self.abort_reason or str(exc)
                        return
                    continue
                while self.writer.pending >= MAX_PENDING_ROWS and not self._stopping:
                    await asyncio.sleep(0.05)  # the database is behind: do not pile up rows
                await self.limiter.acquire()
                if self._stopping:
                    await self.limiter.release()
                    return
                preflight = not self.preflight_settled.is_set()
                task = asyncio.create_task(self._process(idx, row, messages, key, preflight))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
                if preflight:  # the others wait for the first answer (or its first failure)
                    await self.preflight_settled.wait()

    @property
    def _stopping(self) -> bool:
        return (self.cancel.cancelled or self.abort_reason is not None
                or self.writer.failure is not None)

    async def _watch_cancel(self) -> None:
        polled = time.monotonic()
        while not self._stopping:
            await asyncio.sleep(0.05)
            if time.monotonic() - polled >= CANCEL_POLL_S:
                # A cancel recorded by another process (`run cancel`, the desktop): a
                # primary-key read, cheap enough for the loop's own thread.
                polled = time.monotonic()
                if run_control.cancel_requested(self.store, self.run_id):
                    self.cancel.cancel()
        self.feeder.cancel()
        for task in list(self.tasks):
            task.cancel()

    # -- one row ---------------------------------------------------------
    async def _process(self, idx: int, row: dict, messages: list[dict], key: str,
                       preflight: bool = False) -> None:
        tries: list[dict] = []
        try:
            outcome = await self._call_with_retries(self.caller, self.version, messages,
                                                    preflight=preflight, tries=tries)
            completion, attempts, latency_ms, error = outcome
            if error is not None:
                self._store_error(idx, row, attempts, error, tries)
            else:
                await self._score_and_store(idx, row, completion, attempts=attempts,
                                            latency_ms=latency_ms, cached=False, key=key,
                                            tries=tries)
        except _Abort as exc:
            if self.abort_reason is None:
                self.abort_reason = str(exc)
        finally:
            if preflight:
                self.preflight_settled.set()
            await self.limiter.release()

    async def _call_with_retries(self, caller, version: Version, messages: list[dict], *,
                                 preflight: bool = False, tries: list[dict] | None = None):
        """(completion, attempts, latency_ms, (error_class, message) or None).

        In the preflight, a first attempt that cannot connect at all stops the run: every
        other row would only repeat it, with retries. ``tries`` gets one entry per attempt
        (its latency and, when it failed, why), for the row detail.
        """
        tries = tries if tries is not None else []
        max_attempts = max(1, int(self.settings.get("max_attempts", 5)))
        attempt = 0
        while True:
            attempt += 1
            if self.rpm:
                await self.rpm.take(1)
            if self.tpm:
                await self.tpm.take(_estimate_tokens(messages, self.params))
            started, sent_at = time.perf_counter(), time.monotonic()
            try:
                completion = await caller.complete(version, messages)
                await self.limiter.on_success()
                latency_ms = (time.perf_counter() - started) * 1000
                tries.append(_try(latency_ms))
                return completion, attempt, latency_ms, None
            except _Retryable as exc:
                tries.append(_try((time.perf_counter() - started) * 1000, exc))
                if preflight and attempt == 1 and exc.unreachable:
                    raise _Abort(f"cannot reach endpoint {self.endpoint.name}: "
                                 f"{exc.message}") from None
                if preflight:
                    self.preflight_settled.set()  # not a dead endpoint: let the others go
                if exc.rate_limited:
                    pause = None if exc.retry_after is None else min(exc.retry_after,
                                                                      MAX_RETRY_AFTER_S)
                    await self.limiter.on_rate_limited(pause, sent_at=sent_at)
                if attempt >= max_attempts:
                    return None, attempt, None, (exc.error_class, exc.message)
                delay = exc.retry_after if exc.retry_after is not None else backoff_delay(attempt)
                await asyncio.sleep(min(delay, MAX_RETRY_AFTER_S))
            except _RowError as exc:
                tries.append(_try((time.perf_counter() - started) * 1000, exc))
                return None, attempt, None, (exc.error_class, exc.message)

    async def _score_and_store(self, idx: int, row: dict, completion: Completion, *,
                               attempts: int, latency_ms: float, cached: bool,
                               key: str | None, tries: list[dict] | None = None) -> None:
        prediction, parse_error = self.rules.parse(completion.text)
        correct, value, judge_error = await self._score(row, prediction,
                                                        self.rules.expected(row),
                                                        completion.text)
        # Errors are never cached: an unreadable reply (often empty or cut off) is asked again.
        cache_entry = None
        if key is not None and self.use_cache and parse_error is None:
            cache_entry = (key, completion.text, completion.prompt_tokens,
                           completion.completion_tokens, utcnow())
        result = row_results.answered(
            self.rules, idx, row, completion, prediction=prediction, parse_error=parse_error,
            correct=correct, value=value, judge_error=judge_error, attempts=attempts,
            latency_ms=latency_ms, cached=cached, tries=tries)
        self.writer.add(result, cache_entry)
        self._counted(error=result[RESULT_ERROR_AT] is not None, cached=cached)

    def _store_error(self, idx: int, row: dict, attempts: int, error: tuple[str, str],
                     tries: list[dict] | None = None) -> None:
        self.writer.add(row_results.unanswered(self.rules, idx, row, attempts, error, tries))
        self._counted(error=True, cached=False)

    def _counted(self, *, error: bool, cached: bool) -> None:
        self.counts.done += 1
        self.session_done += 1
        self.counts.errors += int(error)
        self.counts.cached += int(cached)
        self._report()

    async def _score(self, row: dict, prediction: str | None, expected: str | None,
                     output: str) -> tuple[bool | None, float | None, str | None]:
        """(correct, score, why the judge could not grade or None)."""
        if self.judge is None:
            return (*score(self.scorer, prediction, expected, output), None)
        caller, judge_version, rubric = self.judge
        messages = build_judge_messages(rubric, row, output, expected)
        completion, _, _, error = await self._call_with_retries(caller, judge_version, messages)
        if error is not None:
            return None, None, f"judge {judge_version.ref}: {error[0]}: {error[1]}"
        correct, value, problem = parse_judge_reply(completion.text)
        return correct, value, problem and f"judge {judge_version.ref}: {problem}"

    # -- persistence -----------------------------------------------------
    def _cache_lookup(self, keys: list[str]) -> dict[str, Completion]:
        hits: dict[str, Completion] = {}
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            marks = ",".join("?" * len(part))
            for key, output, pt, ct in self.store.db.execute(
                    f"SELECT key, output, prompt_tokens, completion_tokens FROM response_cache "
                    f"WHERE key IN ({marks})", part):
                hits[key] = Completion(output, pt, ct)
        return hits

    def _report(self, *, force: bool = False) -> None:
        now = time.perf_counter()
        if self.on_progress is None or (not force and now - self.last_progress < PROGRESS_EVERY_S):
            return
        self.last_progress = now
        elapsed = max(now - self.started, 1e-9)
        rate = self.session_done / elapsed
        remaining = self.run_record.n_total - self.counts.done
        self.on_progress(Progress(
            done=self.counts.done, total=self.run_record.n_total, errors=self.counts.errors,
            cached=self.counts.cached, rows_per_s=rate,
            eta_s=remaining / rate if rate > 0 else None, concurrency=self.limiter.limit,
        ))

    # -- callers ---------------------------------------------------------
    async def _make_caller(self, endpoint: Endpoint, version: Version):
        if endpoint.kind == "python":
            try:  # the python model's preflight: a module that does not import fails the run
                await asyncio.to_thread(load_target, endpoint.target or "")
            except MlopsError as exc:
                raise _Abort(f"the python model of endpoint {endpoint.name} cannot be "
                             f"loaded: {exc}") from None
            return _PythonCaller(endpoint, int(self.settings["concurrency"]))
        return _OpenAICaller(endpoint)

    async def _make_judge(self):
        spec = parse_scorer_spec(self.scorer)
        if spec.kind != "judge":
            return None
        judge_version = get_version(self.store, spec.judge_model, spec.judge_version)
        endpoint = get_endpoint(self.store, judge_version.config["endpoint"])
        rubric = self.settings.get("judge_rubric") or judge_version.config.get("system_prompt")
        return await self._make_caller(endpoint, judge_version), judge_version, rubric


def _try(latency_ms: float, error: _Retryable | _RowError | None = None) -> dict:
    """One attempt of a row as the row detail shows it (the message redacted and cut)."""
    if error is None:
        return {"latency_ms": round(latency_ms, 2), "error_class": None, "error": None}
    return {"latency_ms": round(latency_ms, 2), "error_class": error.error_class,
            "error": secrets.redact(error.message)[:500]}


def _estimate_tokens(messages: list[dict], params: dict) -> float:
    chars = sum(len(m.get("content") or "") for m in messages)
    return chars / 4 + float(params.get("max_tokens") or params.get("max_completion_tokens") or 256)


class _Retryable(Exception):
    def __init__(self, error_class: str, message: str, *, retry_after: float | None = None,
                 rate_limited: bool = False, unreachable: bool = False):
        super().__init__(message)
        self.error_class, self.message = error_class, message
        self.retry_after, self.rate_limited = retry_after, rate_limited
        self.unreachable = unreachable  # no connection could be made (refused, DNS)


class _RowError(Exception):
    def __init__(self, error_class: str, message: str):
        super().__init__(message)
        self.error_class, self.message = error_class, message


def warm_up() -> None:
    """Import the HTTP client stack and build its SSL context ahead of the first run.

    ~0.5 s, much of it holding the GIL: the GUI calls this in a task when the Runs page
    first shows, so the cost lands while the user picks what to run, not mid-run.
    """
    # httpx2 imports httpcore2 (with h11 and truststore) only when a client is created: ~60 ms
    # of GIL at the first run's start if not done here.
    import aiohttp  # noqa: F401
    import httpcore2  # noqa: F401
    import httpx2  # noqa: F401
    import openai  # noqa: F401

    _ssl_context()


@functools.cache
def _ssl_context():
    """Built once per process: creating one costs ~30 ms of GIL at every run's start."""
    import ssl

    return ssl.create_default_context()


class _OpenAICaller:
    """One AsyncOpenAI client; SDK retries off (we retry), explicit timeout.

    A run is bound by client CPU, so two of the SDK's documented options cut it:
    its aiohttp transport (``DefaultAioHttpClient``, ~0.5 ms less per request than
    httpx's pool), and the raw ``post`` with an ``httpx2.Response`` cast, which skips
    typed-param transforms and model construction. Auth, base URL, timeouts and the
    typed errors stay the SDK's.
    """

    def __init__(self, endpoint: Endpoint):
        import httpx2
        import openai

        self.openai, self.response_type = openai, httpx2.Response
        self.endpoint = endpoint
        self.client = openai.AsyncOpenAI(
            api_key=secrets.resolve(endpoint.name, endpoint.api_key_ref),
            base_url=endpoint.base_url, max_retries=0, timeout=endpoint.timeout_s,
            http_client=openai.DefaultAioHttpClient(verify=_ssl_context()),
        )

    async def complete(self, version: Version, messages: list[dict]) -> Completion:
        openai = self.openai
        body = request_body(version.config, messages)
        try:
            response = await self.client.post("/chat/completions", body=body,
                                              cast_to=self.response_type)
            completion = completion_from_body(response.json())
        except openai.APITimeoutError as exc:
            dropped = _dropped_connection(exc)
            if dropped is not None:
                raise _Retryable("connection", f"connection failed: {dropped}",
                                 unreachable=_cannot_connect(exc)) from None
            raise _Retryable("timeout", f"no answer within {self.endpoint.timeout_s:g} s") from None
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            raise _Retryable("connection", f"connection failed: {cause}",
                             unreachable=_cannot_connect(exc)) from None
        except openai.APIStatusError as exc:
            raise _classify_status(exc) from None
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            # Malformed JSON or an unexpected shape: possibly a flaky proxy, so retry.
            raise _Retryable("bad_response", f"malformed response: {exc}") from None
        return completion

    async def close(self) -> None:
        await self.client.close()


def _dropped_connection(exc: BaseException) -> BaseException | None:
    """The SDK's aiohttp transport reports a dropped connection as a connect *timeout*;
    find the aiohttp connection error behind it so the row says what really happened."""
    import aiohttp

    cause = exc.__cause__ or exc.__context__
    while cause is not None:
        if isinstance(cause, aiohttp.ClientConnectionError) and not isinstance(
                cause, TimeoutError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


def _cannot_connect(exc: BaseException) -> bool:
    """True when no connection could be made at all (refused, unknown host, TLS refused),
    as opposed to one that dropped or timed out: only the first is a dead endpoint."""
    import socket

    import aiohttp

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, (aiohttp.ClientConnectorError, ConnectionRefusedError,
                              socket.gaierror)):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _error_message(exc) -> tuple[str, str]:
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or error.get("type") or ""), str(error.get("message") or "")
    return "", str(getattr(exc, "message", exc))


def _classify_status(exc) -> Exception:
    status = exc.status_code
    code, message = _error_message(exc)
    text = f"HTTP {status}: {message}".strip()
    if status == 401 or status == 403:
        return _Abort(f"the endpoint refused the API key ({text})")
    if status == 429 and code == "insufficient_quota":
        return _Abort(f"the account's quota is exhausted ({text})")
    if status in RETRYABLE_STATUS or status >= 500:
        return _Retryable(f"http_{status}", text,
                          retry_after=retry_after_seconds(exc.response.headers),
                          rate_limited=status == 429)
    return _RowError(f"http_{status}", text)


class _PythonCaller:
    """A local ``module:function`` model, called in a thread pool sized to the run."""

    def __init__(self, endpoint: Endpoint, concurrency: int):
        self.endpoint = endpoint
        self.pool = ThreadPoolExecutor(max_workers=min(concurrency, 32),
                                       thread_name_prefix="mlops-python-model")

    async def complete(self, version: Version, messages: list[dict]) -> Completion:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.pool, call_python_target,
                                              self.endpoint.target, messages,
                                              request_params(version.config))
        except MlopsError as exc:
            raise _RowError("python_error", str(exc)) from None
        except Exception as exc:
            raise _RowError("python_error", f"{type(exc).__name__}: {exc}") from None

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.pool.shutdown(wait=True, cancel_futures=True)
