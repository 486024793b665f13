"""A small workspace for run-engine tests: an endpoint, a labelled model, a version, a dataset.

The version's template ends with ``ANSWER: {answer}``, so the fake OpenAI server's default
responder replies with the row's ``answer`` column: a test decides each row's prediction (and
so which rows are wrong) just by writing the dataset.
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_desk.core import registry, runs
from mlops_desk.core.datasets import Dataset, import_dataset
from mlops_desk.core.registry import Version
from mlops_desk.core.runner import RunOptions, create_run
from mlops_desk.core.store import Store

LABELS = ["bug", "billing", "other"]
SYSTEM_PROMPT = "Classify."
TEMPLATE = "Ticket: {text}\nANSWER: {answer}"
# USD per 1M tokens: big round numbers so costs are easy to compute by hand.
PRICE_IN, PRICE_OUT = 1000.0, 2000.0


@dataclass
class Workspace:
    store: Store
    tmp: Path
    version: Version
    dataset: Dataset
    rows: list[dict[str, Any]]

    def create(self, **options: Any) -> int:
        return create_run(self.store, self.version, self.dataset, RunOptions(**options))

    def results(self, run_id: int) -> list[dict[str, Any]]:
        return runs.fetch_results(self.store, run_id)

    def row_of(self, request: dict) -> int:
        """The dataset row a chat request was rendered from (by its 'Ticket: ...' text)."""
        user = request["messages"][-1]["content"]
        text = user.split("\n", 1)[0].removeprefix("Ticket: ")
        return next(i for i, row in enumerate(self.rows) if row["text"] == text)


def classification_rows(expected: list[str], wrong: dict[int, str] | None = None,
                        ) -> list[dict[str, Any]]:
    """Row i: text "row i", expected[i], and an answer that is right unless listed in wrong."""
    wrong = wrong or {}
    return [{"text": f"row {i}", "answer": wrong.get(i, label), "expected": label}
            for i, label in enumerate(expected)]


def cycle_rows(n: int) -> list[dict[str, Any]]:
    return classification_rows([LABELS[i % len(LABELS)] for i in range(n)])


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def build_workspace(
    store: Store, tmp: Path, base_url: str | None = None, *, rows: list[dict] | None = None,
    dataset_name: str = "tickets", expected_col: str | None = "expected",
    model: str = "triage", kind: str = "classification", labels: Iterable[str] = LABELS,
    endpoint: str = "fake", endpoint_kind: str = "openai", target: str | None = None,
    timeout_s: float = 5.0, max_concurrency: int = 4, rpm: int | None = None,
    template: str = TEMPLATE, parser: str = "label", params: dict | None = None,
) -> Workspace:
    rows = rows if rows is not None else cycle_rows(10)
    registry.add_endpoint(
        store, endpoint, kind=endpoint_kind, base_url=base_url, target=target,
        timeout_s=timeout_s, max_concurrency=max_concurrency, rpm=rpm,
        prices={"fake-model": [PRICE_IN, PRICE_OUT]},
    )
    registry.create_model(store, model, kind=kind, labels=list(labels))
    config = registry.make_config(endpoint=endpoint, model_id="fake-model",
                                  system_prompt=SYSTEM_PROMPT, template=template,
                                  params=params or {}, parser=parser)
    version, _ = registry.register_version(store, model, config)
    path = write_csv(tmp / f"{dataset_name}.csv", rows)
    dataset, _ = import_dataset(store, path, dataset_name, expected_col=expected_col)
    return Workspace(store, tmp, version, dataset, rows)


def add_version(ws: Workspace, *, template: str, model: str = "triage",
                endpoint: str = "fake") -> Version:
    config = registry.make_config(endpoint=endpoint, model_id="fake-model",
                                  system_prompt=SYSTEM_PROMPT, template=template, parser="label")
    version, created = registry.register_version(ws.store, model, config)
    assert created
    return version


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition"):
    """Poll ``predicate`` until it is truthy (a condition to await, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def stored_count(db_path: Path, run_id: int) -> int:
    """Rows committed for a run, read through a fresh connection (what a crash would keep)."""
    import sqlite3

    conn = sqlite3.connect(db_path, timeout=10)
    try:
        return conn.execute("SELECT count(*) FROM run_results WHERE run_id = ?",
                            [run_id]).fetchone()[0]
    finally:
        conn.close()


class ArrivalClock:
    """Records the monotonic arrival time of every chat request the fake server gets.

    The server asks its fault plan once per chat request, as it arrives; wrapping that call
    gives server-side timestamps for every request, faulted or not.
    """

    def __init__(self, server) -> None:
        self.times: list[float] = []
        self._lock = threading.Lock()
        take = server.faults.take

        def timed_take():
            with self._lock:
                self.times.append(time.monotonic())
            return take()

        server.faults.take = timed_take


def script_faults(server, plan: dict[int, str] | Callable[[int], str | None],
                  **opts: Any) -> None:
    """Fault by request number (0-based, arrival order): ``{0: "500", 1: "503"}``, or a
    function of the number (``lambda n: "slow" if n >= 10 else None``).

    Unlike ``faults.add`` (a queue applied to whichever requests come next), this can leave a
    success between two faults, e.g. "row 0 fails twice then answers, row 1 always fails".
    """
    from tests.support.fake_openai import Fault

    counter = iter(range(1_000_000))
    lock = threading.Lock()

    def take():
        with lock:
            n = next(counter)
        kind = plan(n) if callable(plan) else plan.get(n)
        return Fault(kind, dict(opts)) if kind else None

    server.faults.take = take
