"""Small things a new user trips over: forms that scold before anything was typed, charts
with negative rates, half rows and meaningless empty axes, a broken export choice, a notice
that never goes away, a New run dialog that forgets, a drift verdict without its rule."""

from __future__ import annotations

import math

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from mlops_desk.core import registry
from mlops_desk.core.monitoring import DriftReport, DriftThresholds
from mlops_desk.core.store import Store
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.dialogs.endpoint_edit import EndpointDialog
from mlops_desk.ui.dialogs.model_forms import NewModelDialog
from mlops_desk.ui.item_models.monitor_data import MonitorData, VersionSeries
from mlops_desk.ui.widgets import chart_style
from mlops_desk.ui.widgets.banner import Banner
from mlops_desk.ui.widgets.chart_latency import LatencyHistogram
from mlops_desk.ui.widgets.chart_timeseries import TimeSeriesChart
from mlops_desk.ui.widgets.monitor_chart import TrafficChart
from mlops_desk.ui.widgets.monitor_drift import DriftPanel
from tests.gui.conftest import WAIT_MS, wait_idle
from tests.gui.run_fixtures import (  # noqa: F401
    fake_workspace_fixture,
    runs_page_fixture,
    wait_finished,
)
from tests.support.fixtures import fake_openai_fixture  # noqa: F401

NOW = 1_790_000_000.0


# -- forms ---------------------------------------------------------------------------------


def test_add_endpoint_shows_no_error_before_anything_was_typed(ctx: AppContext, qtbot) -> None:
    dialog = EndpointDialog(ctx, keyring=(True, ""))
    qtbot.addWidget(dialog)
    assert dialog.status.kind == "" and dialog.status.text == ""
    assert dialog.save_button.isEnabled()  # pressing it is how a user asks what is missing
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.status.kind == "error" and "invalid endpoint name ''" in dialog.status.text
    assert not dialog.save_button.isEnabled() and dialog.result() != QDialog.DialogCode.Accepted


def test_add_endpoint_shows_errors_once_a_field_is_typed_in_or_left(ctx: AppContext,
                                                                    qtbot) -> None:
    dialog = EndpointDialog(ctx, keyring=(True, ""))
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.name, "local")
    assert dialog.status.kind == "error" and "http://" in dialog.status.text  # the URL next
    left = EndpointDialog(ctx, keyring=(True, ""))
    qtbot.addWidget(left)
    left.name.editingFinished.emit()  # tabbed through the name without typing
    assert left.status.kind == "error" and "invalid endpoint name" in left.status.text


def test_a_name_with_a_trailing_space_is_refused_in_the_form(ctx: AppContext, store: Store,
                                                             qtbot) -> None:
    dialog = NewModelDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.name.setText("Review-Sentiment ")
    assert dialog.status.kind == "error"
    assert "remove the trailing space" in dialog.status.text
    assert not dialog.ok_button.isEnabled()


def test_a_name_differing_only_in_case_is_refused_by_the_form(ctx: AppContext, store: Store,
                                                              qtbot) -> None:
    registry.create_model(store, "review-sentiment")
    dialog = NewModelDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.name.setText("Review-Sentiment")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "regardless of case" in dialog.status.text, timeout=WAIT_MS)
    assert "model review-sentiment already exists" in dialog.status.text
    assert [m.name for m in registry.list_models(store)] == ["review-sentiment"]
    wait_idle(qtbot, ctx)


# -- charts --------------------------------------------------------------------------------


def view_y(plot) -> tuple[float, float]:
    plot.getViewBox().updateAutoRange()
    return tuple(plot.getViewBox().viewRange()[1])


def traffic(errors: list[float], requests: list[float]) -> MonitorData:
    x = [NOW + 60 * i for i in range(len(errors))]
    series = VersionSeries(version=1, x=x, per_minute=requests, p50_ms=[20.0] * len(x),
                           p95_ms=[30.0] * len(x), error_rate=errors,
                           cost_per_minute=[0.001] * len(x))
    return MonitorData("triage", "production", 3600, 60, NOW, NOW + 3600, {}, [series],
                       DriftReport("triage", "production", 1, None, 3600, "no reference"),
                       DriftThresholds())


@pytest.mark.parametrize("errors", [[0.0] * 8, [0.0, 0.01, 0.0, 0.02, 0.0, 0.0, 0.0, 0.0]])
def test_monitor_rates_never_go_below_zero(qtbot, errors) -> None:
    chart = TrafficChart()
    qtbot.addWidget(chart)
    chart.resize(700, 600)
    chart.show()
    chart.set_data(traffic(errors, [1, 2, 1, 1, 2, 1, 1, 1]))
    for key in ("error_rate", "per_minute", "cost", "latency"):
        low, high = view_y(chart.plots[key])
        assert low >= 0 and high > low, (key, low, high)


def tick_values(axis, low: float, high: float) -> list[float]:
    return [v for _, values in axis.tickValues(low, high, 300) for v in values]


@pytest.mark.parametrize(("low", "high"), [(0, 2), (0, 1), (-0.1, 2.1), (0, 7), (0, 350)])
def test_histogram_counts_have_whole_number_ticks(qtbot, low, high) -> None:
    histogram = LatencyHistogram()
    qtbot.addWidget(histogram)
    axis = histogram.plot_widget.getPlotItem().getAxis("left")
    ticks = tick_values(axis, low, high)
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert all(low <= t <= high for t in ticks)


def test_histogram_of_a_few_rows_shows_no_half_rows(qtbot) -> None:
    histogram = LatencyHistogram()
    qtbot.addWidget(histogram)
    histogram.resize(500, 300)
    histogram.show()
    histogram.set_latencies([10.0, 12.0, 12.5, 30.0], p50=12.2, p95=27.0)  # counts 1 and 2
    plot = histogram.plot_widget.getPlotItem()
    low, high = view_y(plot)
    assert low >= 0
    ticks = tick_values(plot.getAxis("left"), low, high)
    assert 1.0 in ticks and all(float(t).is_integer() for t in ticks), ticks
    assert not chart_style.is_empty(plot)


def test_empty_charts_say_so_instead_of_showing_a_meaningless_axis(qtbot) -> None:
    histogram = LatencyHistogram()
    qtbot.addWidget(histogram)
    histogram.set_latencies([])
    plot = histogram.plot_widget.getPlotItem()
    assert chart_style.is_empty(plot)
    assert plot.empty_note.toPlainText() == "No answered rows to time"
    assert not plot.getAxis("left").style["showValues"]
    assert not plot.getAxis("bottom").style["showValues"]  # no made-up 0-1 ms either

    chart = TrafficChart()
    qtbot.addWidget(chart)
    chart.set_data(MonitorData("triage", "production", 3600, 60, NOW, NOW + 3600, {}, [],
                               DriftReport("triage", "production", 1, None, 3600,
                                           "no reference"), DriftThresholds()))
    assert all(chart_style.is_empty(plot) for plot in chart.plots.values())
    chart.set_data(traffic([0.0] * 3, [1, 1, 1]))  # and back once there is traffic
    assert not any(chart_style.is_empty(plot) for plot in chart.plots.values())
    assert all(plot.getAxis("left").style["showValues"] for plot in chart.plots.values())


def test_empty_time_series_panels_say_so(qtbot) -> None:
    from mlops_desk.core.timeseries import ChartData

    chart = TimeSeriesChart()
    qtbot.addWidget(chart)
    chart.set_data(ChartData(series=[], markers=[], n_runs=0, models_with_runs=0))
    qtbot.waitUntil(lambda: not chart.drawing)
    assert all(chart_style.is_empty(plot) for plot in chart.plots.values())


def test_no_chart_offers_the_matplotlib_export(qtbot) -> None:
    histogram = LatencyHistogram()  # any chart: each styles its plots through chart_style
    qtbot.addWidget(histogram)
    names = [exporter.Name for exporter in pg.exporters.listExporters()]
    assert "Matplotlib Window" not in names
    assert "Image File (PNG, TIF, JPG, ...)" in names  # the others stay


# -- the notice, the drift rule --------------------------------------------------------------


def test_a_notice_hides_by_itself_and_an_error_stays(qtbot) -> None:
    banner = Banner()
    qtbot.addWidget(banner)
    banner.show_message("Imported tickets: 41 rows.", "ok", hide_after_ms=50)
    assert banner.isVisible() and banner.hiding
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=2_000)
    banner.show_message("Imported again.", "ok", hide_after_ms=50)
    banner.show_message("Something is wrong.", "error")  # a new message stops the timer
    qtbot.wait(150)
    assert banner.isVisible() and not banner.hiding


def test_the_drift_panel_states_the_rule_beside_a_small_p(qtbot) -> None:
    panel = DriftPanel()
    qtbot.addWidget(panel)
    report = DriftReport("triage", "production", 2, 9, 3600, "ok", n_reference=300,
                         n_production=299, psi=0.04, chi2=21.0, chi2_df=2, chi2_p=2.97e-05,
                         label_counts={"bug": [150, 120], "question": [150, 179]})
    panel.set_report(report, DriftThresholds())
    assert "No drift" in panel.verdict.text and "p 2.97e-05" in panel.labels_line.text()
    rule = panel.rule_line.text()
    assert "only when" in rule and "p < 0.01" in rule and "PSI ≥ 0.1" in rule
    assert "KS D ≥ 0.1" in rule and rule.count(".") <= 4  # one sentence (decimals aside)


# -- New run remembers ----------------------------------------------------------------------


def open_start_dialog(page, qtbot):
    dialog = page.open_start_dialog()
    qtbot.waitUntil(lambda: dialog.choices is not None, timeout=WAIT_MS)
    return dialog


def test_new_run_remembers_the_last_dataset_and_settings_per_model(
        runs_page, fake_workspace, qtbot) -> None:
    dialog = open_start_dialog(runs_page, qtbot)
    default_version = dialog.version_box.currentData()
    other = 1 if default_version == 2 else 2
    assert dialog.use_cache.isChecked() and dialog.concurrency.value() == 0
    dialog.version_box.setCurrentIndex(dialog.version_box.findData(other))
    dialog.concurrency.setValue(3)
    dialog.use_cache.setChecked(False)
    dialog.limit.setValue(5)
    dialog.scorer.setCurrentText("contains")
    with qtbot.waitSignal(dialog.run_created, timeout=WAIT_MS) as created:
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    wait_finished(qtbot, runs_page, created.args[0])

    again = open_start_dialog(runs_page, qtbot)
    assert again.model_box.currentText() == "reviews"
    assert again.version_box.currentData() == other
    assert again.dataset_box.currentData() == fake_workspace.dataset.name
    assert (again.concurrency.value(), again.use_cache.isChecked(), again.limit.value(),
            again.scorer.currentText()) == (3, False, 5, "contains")
    again.reject()


def test_a_cancelled_dialog_remembers_nothing(runs_page, fake_workspace, qtbot) -> None:
    dialog = open_start_dialog(runs_page, qtbot)
    dialog.concurrency.setValue(7)
    dialog.reject()
    again = open_start_dialog(runs_page, qtbot)
    assert again.concurrency.value() == 0 and math.isclose(again.limit.value(), 0)
    again.reject()
