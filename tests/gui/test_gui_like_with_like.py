"""Like with like in the GUI: the reference dataset on Overview and Models (and changing it),
one chart line per model and dataset named in the legend, stable model colours, and deploy
markers of two models neither merged nor printed over each other."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
import pytest

from mlops_desk.core import deploy, registry
from mlops_desk.core.reference import CHOSEN, reference_dataset
from mlops_desk.core.registry import Version
from mlops_desk.core.store import Store
from mlops_desk.ui.item_models.overview_table import ACCURACY, LATEST, REFERENCE
from mlops_desk.ui.main_window import MainWindow
from mlops_desk.ui.pages.charts import ALL
from tests.gui.conftest import WAIT_MS, config, wait_idle
from tests.gui.run_fixtures import charts_page_fixture  # noqa: F401
from tests.support.run_factory import make_test_dataset, make_test_run


def results(n_right: int, n: int) -> list[dict]:
    return [{"prediction": "bug" if i < n_right else "question", "expected": "bug"}
            for i in range(n)]


@pytest.fixture
def two_datasets(store: Store, triage: list[Version], tmp_path: Path):
    """triage v1 and v2 on a 200-row gate-sized set (90 %, 95.5 %), then v2 on an easy 30-row
    set (100 %) last: the easy run is the newest but must not stand for the model."""
    main = make_test_dataset(store, tmp_path, "main",
                             [{"text": f"t{i}", "expected": "bug"} for i in range(200)])
    easy = make_test_dataset(store, tmp_path, "easy",
                             [{"text": f"e{i}", "expected": "bug"} for i in range(30)])
    make_test_run(store, triage[0], main, results(180, 200))
    make_test_run(store, triage[1], main, results(191, 200))
    make_test_run(store, triage[1], easy, results(30, 30))
    return main, easy


def reload_charts(page, qtbot) -> None:
    page.reload()
    wait_idle(qtbot, page.ctx)
    qtbot.waitUntil(lambda: not page.chart.drawing, timeout=WAIT_MS)


def accuracy_lines(chart) -> list[pg.PlotDataItem]:
    return [item for item in chart.plots["accuracy"].listDataItems()
            if isinstance(item, pg.PlotDataItem) and item.name()]


def test_overview_shows_figures_on_the_reference_dataset(
        two_datasets, window: MainWindow, qtbot) -> None:
    page = window.show_page("OverviewPage")
    qtbot.waitUntil(lambda: page.loaded and page.model.rowCount() == 1, timeout=WAIT_MS)
    cell = page.model.index(0, ACCURACY).data()
    assert cell.startswith("95.5%")  # not the easy set's 100.0 %
    assert page.model.index(0, REFERENCE).data() == "main"
    assert "the dataset most of its runs used" in page.model.index(0, REFERENCE).data(
        pg.QtCore.Qt.ItemDataRole.ToolTipRole)
    assert page.model.index(0, LATEST).data().startswith("v2 · ")


def test_models_page_shows_and_changes_the_reference_dataset(
        store: Store, two_datasets, window: MainWindow, qtbot) -> None:
    page = window.show_page("ModelsPage")
    qtbot.waitUntil(lambda: page.details is not None and page.versions.rowCount() == 2,
                    timeout=WAIT_MS)
    box = page.reference_box
    assert box.currentText() == "By rule: main"
    assert "most of its runs" in page.reference_note.text()
    assert [page.versions.index(r, 7).data() for r in range(2)] == ["90.0%", "95.5%"]

    box.setCurrentIndex(box.findData("easy"))
    box.activated.emit(box.currentIndex())  # what a user's pick sends
    qtbot.waitUntil(lambda: page.details is not None and page.details.reference is not None
                    and page.details.reference.dataset == "easy", timeout=WAIT_MS)
    wait_idle(qtbot, page.ctx)
    assert reference_dataset(store, "triage").source == CHOSEN
    assert box.currentText() == "easy"
    # v1 never ran on easy: a dash, with a tooltip saying why, not v1's figure on main.
    assert [page.versions.index(r, 7).data() for r in range(2)] == ["–", "100.0%"]
    assert "reference dataset easy" in page.versions.index(0, 7).data(
        pg.QtCore.Qt.ItemDataRole.ToolTipRole)
    overview = window.show_page("OverviewPage")
    qtbot.waitUntil(lambda: overview.model.rowCount() == 1
                    and overview.model.index(0, REFERENCE).data() == "easy", timeout=WAIT_MS)

    page = window.show_page("ModelsPage")
    box.setCurrentIndex(0)  # back to the rule
    box.activated.emit(0)
    qtbot.waitUntil(lambda: reference_dataset(store, "triage").source != CHOSEN,
                    timeout=WAIT_MS)
    wait_idle(qtbot, page.ctx)


def test_charts_draw_a_line_per_dataset_named_in_the_legend(
        charts_page, two_datasets, qtbot) -> None:
    reload_charts(charts_page, qtbot)
    chart = charts_page.chart
    # The default: each model on its reference dataset, one line.
    assert [line.name() for line in accuracy_lines(chart)] == ["triage · main (reference)"]
    assert chart.point_count() == 2

    charts_page.set_filters(dataset=ALL)
    wait_idle(qtbot, charts_page.ctx)
    qtbot.waitUntil(lambda: not chart.drawing, timeout=WAIT_MS)
    names = [line.name() for line in accuracy_lines(chart)]
    assert names == ["triage · main (reference)", "triage · easy"]
    legend = chart.legend.text()
    assert "triage · main (reference)" in legend and "triage · easy" in legend
    solid, dashed = (line.opts["pen"] for line in accuracy_lines(chart))
    assert solid.color() == dashed.color()  # one model, one colour
    assert solid.style() != dashed.style()  # told apart by the dash
    assert "2 lines" in charts_page.status.text()


def test_a_model_keeps_its_colour_when_another_appears(
        charts_page, store: Store, two_datasets, tmp_path: Path, qtbot) -> None:
    reload_charts(charts_page, qtbot)
    before = accuracy_lines(charts_page.chart)[0].opts["pen"].color().name()
    # A model whose name sorts first and whose runs are newest: it takes the first place.
    registry.create_model(store, "alpha", labels=["bug", "question"])
    version, _ = registry.register_version(store, "alpha", config(model_id="m9"))
    make_test_run(store, version, two_datasets[0], results(100, 200))
    reload_charts(charts_page, qtbot)
    lines = {line.name(): line.opts["pen"].color().name()
             for line in accuracy_lines(charts_page.chart)}
    assert list(lines) == ["alpha · main (reference)", "triage · main (reference)"]
    assert lines["triage · main (reference)"] == before
    assert lines["alpha · main (reference)"] != before


def test_deploy_markers_of_two_models_are_neither_merged_nor_overlapping(
        charts_page, store: Store, triage: list[Version], two_datasets, qtbot) -> None:
    registry.create_model(store, "spam", labels=["bug", "question"])
    spam, _ = registry.register_version(store, "spam", config(model_id="m7"))
    make_test_run(store, spam, two_datasets[0], results(150, 200))
    # Minutes apart: one line per model, their labels stacked.
    deploy.deploy(store, "triage", 2, "staging", reason="t", force=True)
    deploy.deploy(store, "spam", 1, "staging", reason="s", force=True)
    deploy.deploy(store, "triage", 1, "production", reason="t", force=True)
    reload_charts(charts_page, qtbot)
    chart = charts_page.chart
    deploys = [(m, lane) for m, lane in zip(chart._markers, chart.marker_lanes, strict=True)
               if m.kind == "deploy"]
    assert sorted((m.model, m.label) for m, _ in deploys) == [
        ("spam", "v1 → staging"), ("triage", "v2 → staging; v1 → production")]
    assert len({lane for _, lane in deploys}) == 2 and None not in {lane for _, lane in deploys}
    charts_page.grab()  # paint, so the labels have their place
    labels = [item.label for item in chart.plots["accuracy"].items
              if isinstance(item, pg.InfiniteLine) and item.label is not None
              and "→" in item.label.format]
    assert len(labels) == 2
    first, second = (label.sceneBoundingRect() for label in labels)
    assert not first.intersects(second)
    colours = {label.format: label.color.name() for label in labels}
    assert len(set(colours.values())) == 2  # each in its model's colour
