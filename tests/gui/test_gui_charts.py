"""The Charts page: series per model with the accuracy band, markers, filters, hover
read-out, PNG/SVG export, and 10,000 runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QGraphicsPathItem

from mlops_desk.core.timeseries import Marker
from mlops_desk.ui.pages.charts import REFERENCE
from mlops_desk.ui.widgets.chart_timeseries import (
    TimeSeriesChart,
    band_path,
    line_name,
    merge_markers,
)
from tests.gui.conftest import WAIT_MS, wait_idle
from tests.gui.run_fixtures import charts_page_fixture, fake_workspace_fixture  # noqa: F401
from tests.gui.synthetic_charts import synthetic
from tests.support.fixtures import fake_openai_fixture  # noqa: F401


def backdate(store, run_id: int, days_ago: float) -> None:
    moment = datetime.now(UTC) - timedelta(days=days_ago)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with store.transaction() as db:
        db.execute("UPDATE runs SET started_at = ?, created_at = ? WHERE id = ?",
                   [text, text, run_id])


def three_runs(ws) -> list[int]:
    ids = [ws.run(ws.v1, use_cache=False), ws.run(ws.v1, use_cache=False), ws.run(ws.v2)]
    for run_id, days in zip(ids, (6, 4, 1), strict=True):
        backdate(ws.store, run_id, days)
    return ids


def reload(page, qtbot) -> None:
    page.reload()
    wait_idle(qtbot, page.ctx)
    qtbot.waitUntil(lambda: not page.chart.drawing, timeout=WAIT_MS)


def test_series_band_markers_and_filters(charts_page, fake_workspace, qtbot) -> None:
    ids = three_runs(fake_workspace)
    reload(charts_page, qtbot)
    chart = charts_page.chart
    assert charts_page.stack.currentWidget() is chart
    assert chart.point_count() == 3 and chart.data.series[0].run_ids == ids
    accuracy = chart.plots["accuracy"]
    lines = [i for i in accuracy.listDataItems() if isinstance(i, pg.PlotDataItem)]
    assert len(lines) == 3  # the accuracy line and the two edges of its band
    band = [item for item in accuracy.items if isinstance(item, QGraphicsPathItem)]
    assert len(band) == 1 and not band[0].path().isEmpty()
    markers = [item for item in accuracy.items if isinstance(item, pg.InfiniteLine)]
    assert [line.label.format for line in markers] == ["v1, v2"]  # registered together
    assert isinstance(accuracy.getAxis("bottom"), pg.DateAxisItem)
    assert "3 completed runs · 1 model" in charts_page.status.text()

    assert [charts_page.model_box.itemText(i) for i in range(charts_page.model_box.count())] \
        == ["All models", "reviews"]
    assert not charts_page.version_box.isEnabled()
    charts_page.model_box.setCurrentIndex(1)
    wait_idle(qtbot, charts_page.ctx)
    assert charts_page.version_box.isEnabled() and charts_page.version_box.count() == 3
    charts_page.version_box.setCurrentIndex(charts_page.version_box.findData(2))
    wait_idle(qtbot, charts_page.ctx)
    qtbot.waitUntil(lambda: not chart.drawing, timeout=WAIT_MS)
    assert chart.data.series[0].run_ids == [ids[2]]
    charts_page.set_filters(dataset="nothing-like-this")
    wait_idle(qtbot, charts_page.ctx)
    assert charts_page.current_filters() == (None, None, REFERENCE)  # back to the default
    assert chart.point_count() == 3


def test_hover_reads_out_the_run_under_the_mouse(charts_page, fake_workspace, qtbot) -> None:
    ids = three_runs(fake_workspace)
    reload(charts_page, qtbot)
    chart = charts_page.chart
    series = chart.data.series[0]
    x, y = series.x[2], series.values["latency_p95_ms"][2]
    chart.grab()  # lay out and auto-range the panels, as the first paint does
    chart._mouse_moved("latency_p95_ms", (chart.view_to_scene("latency_p95_ms", x, y),))
    assert chart.hovered == (line_name(series), 2)
    assert f"run {ids[2]}" in chart.readout.text() and "accuracy" in chart.readout.text()
    highlight = chart._highlights["accuracy"].getData()
    assert list(highlight[0]) == [x]  # the same run is ringed in every panel
    far = chart.view_to_scene("latency_p95_ms", x - 86_400 * 2.5, y * 50)
    chart._mouse_moved("latency_p95_ms", (far,))
    assert chart.hovered is None and len(chart._highlights["accuracy"].getData()[0]) == 0


def test_export_png_and_svg(charts_page, fake_workspace, qtbot, tmp_path) -> None:
    three_runs(fake_workspace)
    reload(charts_page, qtbot)
    png = charts_page.export(tmp_path / "chart.png")
    image = QImage(str(png))
    assert image.width() == 1600 and image.height() > 600
    svg = charts_page.export(tmp_path / "chart.svg")
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text and "<path" in text


def test_empty_registry_shows_a_hint(charts_page) -> None:
    assert charts_page.stack.currentWidget() is charts_page.empty
    assert not charts_page.export_button.isEnabled()


def test_ten_thousand_runs_draw_and_hover(qtbot) -> None:
    # How fast this is, is bench/bench_charts.py's job; here: it draws and hovers right.
    chart = TimeSeriesChart()
    qtbot.addWidget(chart)
    chart.resize(1200, 800)
    chart.show()
    qtbot.waitExposed(chart)
    data = synthetic(10_000)
    chart.set_data(data)
    while chart.drawing:  # the other three panels, one per event-loop turn
        chart._draw_next()
    chart.grab()
    series = data.series[0]
    chart.hover_at("accuracy", series.x[5000], series.values["accuracy"][5000] * 100)
    assert chart.hovered == ("big", 5000)


def test_markers_close_in_time_share_one_line() -> None:
    markers = [Marker(0, "m", "deploy", "v2 → production", "a", ((2, "production"),)),
               Marker(60, "m", "deploy", "v3 → staging", "b", ((3, "staging"),)),
               Marker(60, "m", "version", "v3", "c", ((3, ""),)),
               Marker(90_000, "m", "deploy", "v3 → production", "d", ((3, "production"),))]
    merged = merge_markers(markers)
    assert [m.label for m in merged] == ["v2 → production; v3 → staging", "v3",
                                         "v3 → production"]
    assert merged[0].detail == "a; b"


def test_the_page_waits_for_runs(charts_page, qtbot) -> None:
    qtbot.waitUntil(lambda: charts_page.data is not None, timeout=WAIT_MS)
    assert charts_page.data.series == []


def test_the_band_breaks_where_a_run_has_no_interval(qapp) -> None:
    nan = float("nan")
    x = np.arange(6, dtype=float)
    low = np.array([1, 1, nan, 1, 1, 1], dtype=float)
    high = np.array([2, 2, 2, 2, nan, 2], dtype=float)
    path = band_path(x, low, high)
    assert path is not None
    # rows 0-1 and row 3 have both ends; row 5 alone is a polygon of one point's width
    assert len(path.toSubpathPolygons()) == 3
    box = path.boundingRect()
    assert (box.left(), box.right(), box.top(), box.bottom()) == (0, 5, 1, 2)
    assert band_path(x, np.full(6, nan), high) is None


def test_a_reload_with_one_more_run_refills_the_same_lines(qtbot) -> None:
    """Same lines, same markers: the panels keep their items and take the new numbers."""
    chart = TimeSeriesChart()
    qtbot.addWidget(chart)
    before = synthetic(1_000)
    chart.set_data(before)
    qtbot.waitUntil(lambda: not chart.drawing, timeout=WAIT_MS)
    line = chart._lines["accuracy"][0][1]
    band = chart._lines["accuracy"][0][2][2]
    after = synthetic(1_001)
    after.markers = before.markers  # one more run, no new version
    chart.set_data(after)
    qtbot.waitUntil(lambda: not chart.drawing, timeout=WAIT_MS)
    assert chart._lines["accuracy"][0][1] is line
    x, y = line.getData()
    assert len(x) == 1_001 and y[-1] == pytest.approx(after.series[0].values["accuracy"][-1] * 100)
    assert band.path().boundingRect().right() == pytest.approx(after.series[0].x[-1])
    assert chart.point_count() == 1_001
    chart.set_data(synthetic(2_000))  # a new version: its marker rebuilds the panels
    qtbot.waitUntil(lambda: not chart.drawing, timeout=WAIT_MS)
    assert chart._lines["accuracy"][0][1] is not line
