"""GUI fixtures: a main window on a temporary database and settings file, and registry data.

Every fixture waits until the task runner is idle before closing, so no test leaves a worker
(or a pending callback) behind, and closing never stops on the "jobs are running" question.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from mlops_desk.core import registry
from mlops_desk.core.registry import Version
from mlops_desk.core.store import Store
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.item_models.run_jobs import reap_children
from mlops_desk.ui.main_window import MainWindow

WAIT_MS = 10_000


def wait_idle(qtbot, ctx: AppContext) -> None:
    """Until every task finished and its result was delivered to the GUI thread."""
    qtbot.waitUntil(lambda: ctx.tasks.active == 0, timeout=WAIT_MS)


def show_page(qtbot, ctx: AppContext, page, size: tuple[int, int]):
    """Show a page on its own, as the window would, and wait for its first load."""
    qtbot.addWidget(page)
    page.resize(*size)
    page.show()
    page.activated()
    wait_idle(qtbot, ctx)
    return page


@pytest.fixture(autouse=True)
def _no_run_left_behind(monkeypatch) -> Iterator[None]:
    """Closing a window with runs going cancels them (no question in tests), and every run
    process a test started is gone when it ends."""
    monkeypatch.setattr(MainWindow, "ask_about_runs", lambda self, count: "cancel")
    yield
    reap_children(kill=True)


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """A settings file of its own, so no test reads or writes the user's real settings."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(store: Store, settings: QSettings, qtbot):
    """Build main windows on ``store``; each is closed (idle first) at the end of the test."""
    windows: list[MainWindow] = []

    def make(*, resize: bool = True, **kwargs: Any) -> MainWindow:
        window = MainWindow(store, settings=kwargs.pop("settings", settings), **kwargs)
        # pytest-qt closes the window before fixtures tear down: be idle by then.
        qtbot.addWidget(window, before_close_func=lambda w: wait_idle(qtbot, w.ctx))
        windows.append(window)
        if resize:  # False: keep the geometry restored from the settings
            window.resize(1100, 700)
        window.show()
        qtbot.waitExposed(window)
        wait_idle(qtbot, window.ctx)
        return window

    yield make
    for window in windows:
        wait_idle(qtbot, window.ctx)
        if window.isVisible():
            window.close()


@pytest.fixture
def window(make_window) -> MainWindow:
    return make_window()


@pytest.fixture
def ctx(store: Store, settings: QSettings, qtbot) -> Iterator[AppContext]:
    """A context without a window, for testing a page or dialog on its own."""
    context = AppContext(store, settings=settings)
    yield context
    context.tasks.shutdown()
    wait_idle(qtbot, context)


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def config(**changes: Any) -> dict[str, Any]:
    return registry.make_config(**{
        "endpoint": "local", "model_id": "m1", "system_prompt": "Classify the ticket.",
        "template": "Ticket: {text}", "params": {"temperature": 0}, "parser": "label",
        **changes})


@pytest.fixture
def triage(store: Store) -> list[Version]:
    """Endpoint ``local``, model ``triage`` with two versions (v2 changes prompt and params)."""
    registry.add_endpoint(store, "local", base_url="http://127.0.0.1:9/v1")
    registry.create_model(store, "triage", labels=["bug", "question"],
                          description="Routes support tickets")
    v1, _ = registry.register_version(store, "triage", config(), note="baseline")
    v2, _ = registry.register_version(
        store, "triage",
        config(system_prompt="Classify the ticket.\nAnswer with one label only.",
               params={"temperature": 0.2, "max_tokens": 5}),
        note="stricter prompt", tags=["candidate"])
    return [v1, v2]
