"""The sample workspace: a real model history to explore, built offline in a few seconds.

``load_sample_workspace`` imports the shipped review dataset, registers a local lexicon
classifier (``resources/sample_model.py``, served by a ``python`` endpoint) in three
versions that really differ, runs them with the real run engine, and back-dates versions
and runs over the past weeks so every page and chart has history to show. It then deploys
v2 to production and v3 to staging and logs a day of gateway traffic answered by the same
classifier, for the Monitor page. It is idempotent: when the sample model exists it
changes nothing.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.resources
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mlops_desk.core import registry, runner, runs, work
from mlops_desk.core.datasets import Dataset, import_dataset
from mlops_desk.core.errors import Conflict, NotFound
from mlops_desk.core.store import Store

MODEL = "review-sentiment"
ENDPOINT = "sample-local"
DATASET = "sample-reviews"
TARGET = "mlops_desk.resources.sample_model:classify"
MODEL_ID = "lexicon-sentiment"
LABELS = ["positive", "negative", "neutral"]
# Notional compute price (USD per 1M tokens) so the cost charts have something to show.
PRICES = {MODEL_ID: [2.0, 2.0]}

_SYSTEM = "Classify the sentiment of the product review as positive, negative or neutral."
_FEW_SHOT = (
    " Examples: 'Not bad at all for the price.' -> positive; 'Looks nice, but it broke "
    "within a week.' -> negative; 'Arrived on time, does what it says.' -> neutral. "
    "Weigh the clause after 'but' more than the one before it, and read 'not good' as "
    "negative. Answer with one word."
)


@dataclass(frozen=True)
class SampleVersion:
    note: str
    days_ago: float
    params: dict[str, Any]
    system_prompt: str = _SYSTEM


VERSIONS = (
    SampleVersion("baseline word list", 45,
                  {"negation": False, "contrast": False, "threshold": 0, "max_chars": 160,
                   "latency_ms": 2}),
    SampleVersion("handle negation ('not bad')", 27,
                  {"negation": True, "contrast": False, "threshold": 0, "max_chars": 400,
                   "latency_ms": 2}),
    SampleVersion("weigh the clause after 'but'; few-shot prompt", 11,
                  {"negation": True, "contrast": True, "threshold": 0.5, "max_chars": 400,
                   "latency_ms": 3},
                  _SYSTEM + _FEW_SHOT),
)
# (version number, days ago, stop after about this share of rows or None to finish)
RUNS = (
    (1, 44, None), (1, 40, None), (1, 36, None), (1, 31, None),
    (2, 26, None), (2, 23, None), (2, 19, None), (2, 15, None), (2, 12.5, None),
    (3, 10, None), (3, 7, None), (3, 4, None), (3, 2, None), (3, 1, 0.4),
)
# Deployments cannot be back-dated (their history is append-only), so they happen "now".
DEPLOYS = ((2, "production"), (3, "staging"))
# Gateway traffic for the Monitor page: the last day, busier in the last hour; production
# sees more negative reviews than the test set (a mild drift to find).
TRAFFIC = {"production": (2, 1_200), "staging": (3, 200)}  # env: (version, requests/day)
RECENT_SHARE = 0.25  # of each day's requests fall in the last hour
NEGATIVE_WEIGHT = 2.2
ERROR_RATE = 0.006


SampleProgress = work.Progress  # one step of loading: done of total, and what


@dataclass
class SampleSummary:
    created: bool
    model: str = MODEL
    dataset: str = DATASET
    versions: list[int] = field(default_factory=list)
    run_ids: list[int] = field(default_factory=list)
    cancelled: bool = False


def sample_exists(store: Store) -> bool:
    try:
        registry.get_model(store, MODEL)
    except NotFound:
        return False
    return True


def load_sample_workspace(store: Store, on_progress: work.OnProgress | None = None,
                          cancel: work.CancelToken | None = None, *,
                          now: datetime | None = None) -> SampleSummary:
    """Create the sample workspace; a no-op (``created=False``) when it already exists.

    The core long-work protocol (``core.work``): ``on_progress`` gets one ``Progress`` per
    step; ``cancel`` stops between steps and cancels a run in progress. A cancelled load keeps
    what it made and returns with ``cancelled=True``.
    """
    if sample_exists(store):
        return SampleSummary(created=False)
    now = now or datetime.now(UTC)
    cancel = cancel or work.CancelToken()
    total = 3 + len(VERSIONS) + len(RUNS) + 2
    step = 0

    def progress(message: str) -> bool:
        nonlocal step
        step += 1
        work.report(on_progress, step, total, message)
        return not cancel.cancelled

    summary = SampleSummary(created=True)
    _ensure_endpoint(store)
    progress("endpoint sample-local")
    dataset = _import_reviews(store)
    progress(f"dataset {DATASET} ({dataset.n_rows} rows)")
    registry.create_model(store, MODEL, kind="classification", labels=LABELS,
                          description="Sample: sentiment of short product reviews, served by "
                                      "a local lexicon classifier (no API key needed).")
    _backdate_model(store, now - timedelta(days=VERSIONS[0].days_ago + 1))
    if not progress(f"model {MODEL}"):
        return _cancelled(summary)
    for spec in VERSIONS:
        version, _ = registry.register_version(
            store, MODEL,
            registry.make_config(endpoint=ENDPOINT, model_id=MODEL_ID,
                                 system_prompt=spec.system_prompt, template="{text}",
                                 params=spec.params, parser="label"),
            note=spec.note, created_at=_iso(now - timedelta(days=spec.days_ago)))
        summary.versions.append(version.number)
        if not progress(f"version {version.ref}: {spec.note}"):
            return _cancelled(summary)
    for number, days_ago, stop_share in RUNS:
        run_id = _run(store, number, dataset, stop_share, cancel)
        _backdate_run(store, run_id, now - timedelta(days=days_ago, hours=-(number % 3)))
        summary.run_ids.append(run_id)
        if not progress(f"run {run_id} of {MODEL}:{number}, {days_ago:g} days ago"):
            return _cancelled(summary)
    _deploy(store)
    if not progress("deployed v2 to production and v3 to staging"):
        return _cancelled(summary)
    n_requests = _gateway_traffic(store, now)
    progress(f"{n_requests:,} gateway requests over the last day")
    return summary


def _cancelled(summary: SampleSummary) -> SampleSummary:
    summary.cancelled = True
    return summary


def _ensure_endpoint(store: Store) -> None:
    try:
        endpoint = registry.get_endpoint(store, ENDPOINT)
    except NotFound:
        registry.add_endpoint(store, ENDPOINT, kind="python", target=TARGET, max_concurrency=8,
                              timeout_s=30, prices=PRICES)
        return
    if endpoint.kind != "python" or endpoint.target != TARGET:
        raise Conflict(f"an endpoint named {ENDPOINT} already exists and is not the sample's; "
                       "rename it or use another database for the sample workspace",
                       hint="--db PATH")


@contextlib.contextmanager
def reviews_csv() -> Iterator[Path]:
    """The shipped ``reviews.csv`` as a real file path (also inside a zip or frozen app)."""
    resource = importlib.resources.files("mlops_desk.resources") / "sample" / "reviews.csv"
    with importlib.resources.as_file(resource) as path:
        yield path


def _import_reviews(store: Store) -> Dataset:
    with reviews_csv() as path:
        dataset, _ = import_dataset(store, path, DATASET, input_cols=["text"],
                                    expected_col="label")
    return dataset


def _run(store: Store, number: int, dataset: Dataset, stop_share: float | None,
         cancel: work.CancelToken) -> int:
    version = registry.get_version(store, MODEL, number)
    # No cache: each run really calls the model, so latencies differ from run to run.
    # The interrupted run goes slower (2 workers) so it is stopped part-way through.
    options = runner.RunOptions(concurrency=2 if stop_share else 8, use_cache=False)
    run_id = runner.create_run(store, version, dataset, options)
    token = cancel
    on_progress = None
    if stop_share is not None:
        token = _LinkedToken(cancel)

        def on_progress(p: runner.Progress) -> None:
            if p.done >= stop_share * p.total:
                token.cancel()

    runner.execute(store, run_id, on_progress=on_progress, cancel=token)
    return run_id


class _LinkedToken(work.CancelToken):
    """Cancelled by itself or by the caller's token."""

    def __init__(self, parent: work.CancelToken):
        super().__init__()
        self.parent = parent

    @property
    def cancelled(self) -> bool:
        return self.parent.cancelled or super().cancelled


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _backdate_model(store: Store, moment: datetime) -> None:
    with store.transaction() as db:
        db.execute("UPDATE models SET created_at = ? WHERE name = ?", [_iso(moment), MODEL])
        db.execute("UPDATE endpoints SET created_at = ?, updated_at = ? WHERE name = ?",
                   [_iso(moment), _iso(moment), ENDPOINT])


def _backdate_run(store: Store, run_id: int, started: datetime) -> None:
    """Move a finished run (and its row timestamps) to ``started``; runs are not immutable."""
    run = runs.get_run(store, run_id)
    created = started - timedelta(seconds=5)
    finished = started + timedelta(seconds=max(run.elapsed_s, 0.1))
    with store.transaction() as db:
        db.execute("UPDATE runs SET created_at = ?, started_at = ?, finished_at = ? WHERE id = ?",
                   [_iso(created), _iso(started), _iso(finished), run_id])
        db.execute("UPDATE run_results SET finished_at = ? WHERE run_id = ?",
                   [_iso(finished), run_id])


def _gateway_traffic(store: Store, now: datetime) -> int:
    """Requests as the gateway logs them, answered by the sample model itself."""
    import random

    from mlops_desk.core.inference import cost_usd, render_messages, request_params
    from mlops_desk.resources import sample_model

    rng = random.Random(7)
    with reviews_csv() as path, path.open(encoding="utf-8", newline="") as handle:
        reviews = list(csv.DictReader(handle))
    weights = [NEGATIVE_WEIGHT if r["label"] == "negative" else 1.0 for r in reviews]
    model_id = registry.get_model(store, MODEL).id
    end = now.timestamp()
    rows = []
    for environment, (number, per_day) in TRAFFIC.items():
        version = registry.get_version(store, MODEL, number)
        params = {**request_params(version.config), "latency_ms": 0}
        recent = round(per_day * RECENT_SHARE)
        times = ([end - rng.uniform(0, 3600) for _ in range(recent)]
                 + [end - rng.uniform(3600, 86_400) for _ in range(per_day - recent)])
        for ts, review in zip(times, rng.choices(reviews, weights, k=per_day), strict=True):
            messages = render_messages(version.config, review)
            if rng.random() < ERROR_RATE:
                rows.append((ts, model_id, environment, version.id,
                             rng.uniform(5, 30), 500, None, None, None, "upstream error",
                             len(review["text"]), None, 0))
                continue
            try:
                reply = sample_model.classify(messages, params)
            except ValueError:  # too long for this version: the gateway answers 502
                rows.append((ts, model_id, environment, version.id, rng.uniform(1, 5), 502,
                             None, None, None, "input too long", len(review["text"]), None, 0))
                continue
            usage = reply["usage"]
            rows.append((ts, model_id, environment, version.id,
                         rng.lognormvariate(3.3, 0.35) + 3 * number, 200,
                         usage["prompt_tokens"], usage["completion_tokens"],
                         cost_usd(tuple(PRICES[MODEL_ID]), usage["prompt_tokens"],
                                  usage["completion_tokens"]),
                         None, len(review["text"]), reply["text"], 0))
    rows.sort()
    with store.transaction() as db:
        db.conn.executemany(
            "INSERT INTO gateway_requests (ts, model_id, environment, version_id, latency_ms, "
            "status, prompt_tokens, completion_tokens, cost, error, input_chars, label, stream) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def _deploy(store: Store) -> None:
    from mlops_desk.core import deploy

    for number, environment in DEPLOYS:
        deploy.deploy(store, MODEL, number, environment, reason="sample workspace")


__all__ = ["SampleProgress", "SampleSummary", "load_sample_workspace", "sample_exists"]
