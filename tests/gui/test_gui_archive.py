"""Archive and restore from the list column of the Endpoints, Models and Datasets pages:
hidden by default, greyed and marked with "Show archived", refused while deployed."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette

from mlops_desk.core import audit, datasets, deploy, registry
from mlops_desk.core.store import Store
from mlops_desk.ui.main_window import MainWindow
from mlops_desk.ui.widgets.item_list import ARCHIVED_MARK, FilterableList
from tests.deploy.world import World, build_world
from tests.gui.conftest import wait_idle


@pytest.fixture
def world(store: Store, tmp_path: Path) -> World:
    world = build_world(store, tmp_path)  # endpoint fake, model triage, dataset gate-set
    registry.add_endpoint(store, "spare", base_url="http://127.0.0.1:9/v1")
    registry.create_model(store, "spare-model")
    return world


def texts(item_list: FilterableList) -> list[str]:
    """The items a user sees (not hidden), as shown."""
    rows = (item_list.list.item(r) for r in range(item_list.list.count()))
    return [item.text() for item in rows if not item.isHidden()]


def open_list(window: MainWindow, qtbot, page_name: str) -> tuple:
    page = window.show_page(page_name)
    wait_idle(qtbot, window.ctx)
    return page, page.item_list


@pytest.mark.parametrize(("page_name", "kind", "name", "others"), [
    ("ModelsPage", "model", "spare-model", ["triage"]),
    ("EndpointsPage", "endpoint", "spare", ["fake"]),
    ("DatasetsPage", "dataset", "gate-set", []),
])
def test_archive_hide_show_and_restore(window: MainWindow, world: World, qtbot,
                                       page_name: str, kind: str, name: str,
                                       others: list[str]) -> None:
    _page, items = open_list(window, qtbot, page_name)
    assert sorted(texts(items)) == sorted([name, *others])
    assert not items.show_archived.isChecked()  # hidden by default
    items.select(name, notify=True)
    assert items.archive_button.text() == "Archive" and items.archive_button.isEnabled()
    qtbot.mouseClick(items.archive_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: name not in texts(items))
    wait_idle(qtbot, window.ctx)
    assert texts(items) == others
    assert f"{kind.capitalize()} {name} archived" in window.statusBar().currentMessage()
    assert audit.list_events(world.store)[-1]["action"] == f"{kind}.archive"
    assert items.current_key != name  # the selection left the hidden item

    items.show_archived.setChecked(True)
    assert f"{name}{ARCHIVED_MARK}" in texts(items)
    row = next(r for r in range(items.list.count()) if items.list.item(r).text().startswith(name))
    item = items.list.item(row)
    assert item.font().italic() and item.toolTip().startswith("Archived")
    greyed = items.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    assert item.foreground().color() == greyed
    items.select(name, notify=True)
    assert items.archive_button.text() == "Restore"
    qtbot.mouseClick(items.archive_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: name in texts(items))
    wait_idle(qtbot, window.ctx)
    assert audit.list_events(world.store)[-1]["action"] == f"{kind}.restore"
    items.show_archived.setChecked(False)
    assert name in texts(items) and items.archive_button.text() in ("Archive", "Restore")


def test_archiving_a_deployed_model_is_refused_with_the_reason(window: MainWindow,
                                                               world: World, qtbot) -> None:
    deploy.deploy(world.store, "triage", 2, "staging")
    _page, items = open_list(window, qtbot, "ModelsPage")
    items.select("triage", notify=True)
    with qtbot.waitSignal(window.ctx.error) as shown:
        qtbot.mouseClick(items.archive_button, Qt.MouseButton.LeftButton)
    assert "model triage cannot be archived while it is deployed" in shown.args[0]
    assert "triage:2 serves staging" in shown.args[0]
    wait_idle(qtbot, window.ctx)
    assert "triage" in texts(items) and items.archive_button.isEnabled()
    assert not registry.get_model(world.store, "triage").archived
    assert window.error_banner.isVisible()


def test_an_archived_endpoint_is_not_offered_for_new_versions(window: MainWindow,
                                                              world: World, qtbot) -> None:
    from mlops_desk.core import archive

    archive.set_archived(world.store, "endpoint", "spare")
    page, items = open_list(window, qtbot, "ModelsPage")
    items.select("triage", notify=True)
    qtbot.waitUntil(lambda: page.details is not None and page.details.model.name == "triage")
    dialog = page.open_new_version_dialog()
    offered = [dialog.endpoint.itemText(i) for i in range(dialog.endpoint.count())]
    assert offered == ["fake"]
    dialog.reject()
    assert datasets.get_dataset(world.store, "gate-set").n_rows == 40


def test_the_deployments_page_leaves_archived_models_out(window: MainWindow, world: World,
                                                         qtbot) -> None:
    from mlops_desk.core import archive

    archive.set_archived(world.store, "model", "spare-model")
    page = window.show_page("DeploymentsPage")
    qtbot.waitUntil(lambda: page.item_list.list.count() > 0)
    wait_idle(qtbot, window.ctx)
    assert texts(page.item_list) == ["triage"]  # it serves nothing and cannot be deployed


def test_asking_for_an_archived_model_by_name_shows_archived(window: MainWindow, world: World,
                                                            qtbot) -> None:
    from mlops_desk.core import archive

    archive.set_archived(world.store, "model", "spare-model")
    page, items = open_list(window, qtbot, "ModelsPage")
    assert "spare-model" not in " ".join(texts(items))
    page.select_model("spare-model")  # e.g. from a run of it on another page
    assert items.show_archived.isChecked() and items.current_key == "spare-model"
    assert items.archive_button.text() == "Restore"
    wait_idle(qtbot, window.ctx)
