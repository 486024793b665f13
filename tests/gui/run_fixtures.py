"""Fixtures for the Runs and Charts page tests: a workspace on the loopback fake server.

Import what a module uses, e.g.::

    from tests.gui.run_fixtures import fake_workspace_fixture, runs_page_fixture  # noqa: F401

and take ``fake_workspace`` or ``runs_page`` as a test argument (registered under that name,
defined under another, so ruff does not read each test argument as a redefinition).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlops_desk.core import registry
from mlops_desk.core.datasets import Dataset, import_dataset
from mlops_desk.core.registry import Version
from mlops_desk.core.runner import RunOptions, create_run, execute
from mlops_desk.core.store import Store
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.pages.charts import ChartsPage
from mlops_desk.ui.pages.runs import RunsPage
from tests.gui.conftest import show_page, wait_idle, write_csv

LABELS = ["positive", "negative", "neutral"]
# A run is a child process: its start (imports, preflight) takes seconds on a loaded machine.
RUN_WAIT_MS = 90_000
N_ROWS = 30
WRONG_EVERY = 5  # rows 0, 5, 10, ... make the fake server answer wrong under version 1


@dataclass
class FakeWorkspace:
    store: Store
    v1: Version  # answers what the row says: wrong on every 5th row
    v2: Version  # appends the expected label to the prompt: always right
    dataset: Dataset

    def run(self, version: Version, **options) -> int:
        """Create and execute a run in the test thread (for tests about reading runs)."""
        run_id = create_run(self.store, version, self.dataset, RunOptions(**options))
        execute(self.store, run_id)
        return run_id


def review_rows(n: int = N_ROWS) -> list[dict[str, str]]:
    rows = []
    for i in range(n):
        label = LABELS[i % 3]
        answer = LABELS[(i + 1) % 3] if i % WRONG_EVERY == 0 else label
        rows.append({"text": f"review {i}: the item number {i} was {label}\nANSWER: {answer}",
                     "label": label})
    return rows


@pytest.fixture(name="fake_workspace")
def fake_workspace_fixture(store: Store, tmp_path: Path, fake_openai) -> FakeWorkspace:
    registry.add_endpoint(store, "fake", base_url=fake_openai.base_url, timeout_s=5,
                          max_concurrency=4, prices={"fake-model": [1.0, 2.0]})
    registry.create_model(store, "reviews", labels=LABELS)
    v1, _ = registry.register_version(store, "reviews", registry.make_config(
        endpoint="fake", model_id="fake-model", template="{text}", parser="label"),
        note="as written")
    v2, _ = registry.register_version(store, "reviews", registry.make_config(
        endpoint="fake", model_id="fake-model", template="{text}\nANSWER: {label}",
        parser="label"), note="peeks at the label")
    dataset, _ = import_dataset(store, write_csv(tmp_path / "reviews.csv", review_rows()),
                                "reviews", input_cols=["text"], expected_col="label")
    return FakeWorkspace(store, v1, v2, dataset)


@pytest.fixture(name="runs_page")
def runs_page_fixture(ctx: AppContext, qtbot) -> Iterator[RunsPage]:
    page = show_page(qtbot, ctx, RunsPage(ctx), (1300, 800))
    yield page
    page.jobs.cancel_all()
    qtbot.waitUntil(lambda: not page.jobs.active_ids, timeout=RUN_WAIT_MS)
    wait_idle(qtbot, ctx)


@pytest.fixture(name="charts_page")
def charts_page_fixture(ctx: AppContext, qtbot) -> Iterator[ChartsPage]:
    page = show_page(qtbot, ctx, ChartsPage(ctx), (1200, 800))
    yield page
    wait_idle(qtbot, ctx)


def wait_finished(qtbot, page: RunsPage, run_id: int, status: str | None = None) -> None:
    """Until ``run_id``'s job has ended (and, if given, with ``status``)."""
    qtbot.waitUntil(lambda: not page.jobs.is_active(run_id), timeout=RUN_WAIT_MS)
    wait_idle(qtbot, page.ctx)
    if status is not None:
        run = page.model.record(page.model.row_of(run_id))
        assert run.status == status, run.reason
