"""The Monitor page and the gateway started from the app: traffic from real gateway requests,
the drift warning, the visibility-bound refresh timer, and Start/Stop of the child process
(which ends on Stop and when the window closes)."""

from __future__ import annotations

import os
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import openai
import pyqtgraph as pg
import pytest

from mlops_desk.core import audit, deploy
from mlops_desk.core.store import Store
from mlops_desk.gateway.server import BackgroundGateway
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.gateway_control import RUNNING, STOPPED
from mlops_desk.ui.main_window import MainWindow
from mlops_desk.ui.pages.monitor import MonitorPage
from tests.deploy.world import World, build_world
from tests.gui.conftest import show_page, wait_idle
from tests.support.fake_openai import FakeOpenAIServer
from tests.support.fixtures import fake_openai_fixture  # noqa: F401

CHILD_START_MS = 30_000  # a cold interpreter importing the gateway on a busy 2-core box


@pytest.fixture
def world(store: Store, tmp_path: Path, fake_openai: FakeOpenAIServer) -> World:
    """triage:1 in production, served by the fake upstream."""
    world = build_world(store, tmp_path, fake_openai.base_url)
    deploy.deploy(store, "triage", 1, "production")
    return world


@pytest.fixture
def page(ctx: AppContext, world: World, qtbot) -> Iterator[MonitorPage]:
    page = show_page(qtbot, ctx, MonitorPage(ctx), (1200, 760))
    yield page
    page.gateway.stop(wait=True)
    wait_idle(qtbot, ctx)


def ask(base_url: str, n: int, answer: str = "bug") -> None:
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=10)
    try:
        for i in range(n):
            reply = client.chat.completions.create(
                model="triage", messages=[{"role": "user", "content": f"t{i} ANSWER: {answer}"}])
            assert reply.choices[0].message.content
    finally:
        client.close()


def logged(store: Store) -> int:
    return store.db.execute("SELECT count(*) FROM gateway_requests").fetchone()[0]


def wait_requests(page: MonitorPage, qtbot, n: int) -> None:
    """Until the page shows ``n`` requests (reloading as its timer would)."""
    def shown() -> bool:
        if not page._data_load.running:
            page.load_data()
        return page.data is not None and page.data.summary["requests"] == n
    qtbot.waitUntil(shown, timeout=10_000)


def test_traffic_from_a_real_gateway(page: MonitorPage, world: World, db_path: Path,
                                     qtbot, qtmodeltester) -> None:
    with BackgroundGateway(db_path, log_flush_s=0.02, drift_check_s=0) as gateway:
        ask(gateway.base_url, 3)
        qtbot.waitUntil(lambda: logged(world.store) == 3)
    wait_requests(page, qtbot, 3)
    assert page.model == "triage" and page.stack.currentWidget() is page.chart
    assert "<b>3</b> requests · 0 errors (0.0%)" in page.summary.text()
    [series] = page.data.series
    assert series.version == 1 and sum(series.per_minute) == pytest.approx(3)
    for key in ("per_minute", "latency", "error_rate"):
        assert page.chart.item_count(key) >= 1, key
    assert isinstance(page.chart.plots["per_minute"].getAxis("bottom"), pg.DateAxisItem)
    x_min, x_max = page.chart.plots["per_minute"].viewRange()[0]
    assert x_min <= page.data.since and x_max >= page.data.until - 60  # the whole window
    assert "triage:1" in page.chart.legend.text()
    qtmodeltester.check(page.totals)
    assert [page.totals.index(0, c).data() for c in range(4)] == [
        "triage:1", "production", "3", "0"]
    assert page.drift.report.status == "no reference"  # no run for triage:1 yet
    assert not page.drift_banner.isVisible()


def test_drift_warning_for_a_skewed_label_distribution(page: MonitorPage, world: World,
                                                       qtbot, qtmodeltester) -> None:
    run_id = world.run(1)  # labels a third each: the reference for what production serves
    model_id, version_id = world.store.db.execute(
        "SELECT model_id, id FROM versions WHERE number = 1").fetchone()
    now = time.time()
    with world.store.transaction() as db:  # 60 production answers, all "bug", long inputs
        db.conn.executemany(
            "INSERT INTO gateway_requests (ts, model_id, environment, version_id, latency_ms, "
            "status, input_chars, label) VALUES (?, ?, 'production', ?, 90, 200, 400, 'bug')",
            [(now - 5 - i, model_id, version_id) for i in range(60)])
    page.load_data()
    qtbot.waitUntil(lambda: page.data is not None and page.drift.drifting)
    assert page.drift_banner.isVisible() and page.drift_banner.kind == "warning"
    assert "Drift detected in triage@production" in page.drift_banner.text
    assert "output labels drifted: PSI" in page.drift_banner.text
    assert page.drift.verdict.kind == "warning"
    assert "output labels and input length" in page.drift.verdict.text
    assert "PSI" in page.drift.labels_line.text() and "KS D 1.000" in page.drift.length_line.text()
    assert f"reference run {run_id}" in page.drift.samples_line.text()
    qtmodeltester.check(page.drift.counts)
    counts = {page.drift.counts.index(r, 0).data(): page.drift.counts.index(r, 3).data()
              for r in range(page.drift.counts.rowCount())}
    assert counts == {"bug": "60", "billing": "0", "other": "0"}
    # The page only reads: looking, however often, records nothing (the gateway's writer
    # records drift on its fixed window).
    page.load_data()
    wait_idle(qtbot, page.ctx)
    events = [e["action"] for e in audit.list_events(world.store)]
    assert events.count("drift.warning") == 0


def test_the_refresh_timer_runs_only_while_the_page_is_shown(page: MonitorPage, world: World,
                                                             qtbot) -> None:
    assert page.timer.isActive()
    page.hide()
    assert not page.timer.isActive()
    page.timer.setInterval(50)
    page.show()
    loads = page._data_load._generation
    qtbot.waitUntil(lambda: page._data_load._generation >= loads + 2)  # ticks reload
    page.hide()
    wait_idle(qtbot, page.ctx)


def test_gateway_start_and_stop_from_the_app(make_window, world: World, qtbot) -> None:
    window: MainWindow = make_window()
    page = window.show_page("MonitorPage")
    control = window.gateway_menu.control
    assert page.gateway is control
    assert window.gateway_label.text() == "Gateway: stopped"
    assert window.gateway_menu.start_action.isEnabled()

    page.gateway_strip.port.setValue(0)  # any free port
    page.gateway_strip.start_button.click()
    qtbot.waitUntil(lambda: control.state == RUNNING, timeout=CHILD_START_MS)
    pid = control.pid
    assert control.url.startswith("http://127.0.0.1:") and control.url.endswith("/v1")
    assert window.gateway_label.text() == f"Gateway: {control.url}"
    assert not page.gateway_strip.start_button.isEnabled()
    with urllib.request.urlopen(control.url + "/models", timeout=5) as response:
        assert b'"triage@production"' in response.read()
    ask(control.url, 2)  # served by the child; its request log feeds the page
    wait_requests(page, qtbot, 2)

    window.gateway_menu.stop_action.trigger()
    qtbot.waitUntil(lambda: control.state == STOPPED, timeout=10_000)
    assert not alive(pid)
    assert window.gateway_label.text() == "Gateway: stopped"

    # Started again, it ends with the window.
    window.gateway_menu.start_action.trigger()
    qtbot.waitUntil(lambda: control.state == RUNNING, timeout=CHILD_START_MS)
    pid = control.pid
    wait_idle(qtbot, window.ctx)
    window.close()
    assert control.state == STOPPED and not alive(pid)


def test_a_port_in_use_is_reported(make_window, world: World, db_path: Path, qtbot) -> None:
    window: MainWindow = make_window()
    with BackgroundGateway(db_path) as taken:
        port = int(taken.base_url.rsplit(":", 1)[1].split("/")[0])
        control = window.gateway_menu.control
        control.start(port)
        qtbot.waitUntil(lambda: control.state == "failed", timeout=CHILD_START_MS)
    assert "cannot listen on 127.0.0.1" in control.error
    assert window.gateway_label.text() == "Gateway: failed"
    assert window.gateway_label.toolTip() == control.error


def alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
