"""The Endpoints page: add and edit endpoints, keys in the keyring or an env var, test them."""

from __future__ import annotations

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from mlops_desk.core import registry
from mlops_desk.core.secrets import KEYRING_SERVICE
from mlops_desk.core.store import Store
from mlops_desk.ui.dialogs.endpoint_edit import ENV, KEEP, KEYRING, EndpointDialog
from mlops_desk.ui.main_window import MainWindow
from mlops_desk.ui.pages.endpoints import EndpointsPage
from tests.gui.conftest import wait_idle
from tests.support.fake_openai import FakeOpenAIServer
from tests.support.fixtures import fake_openai_fixture  # noqa: F401
from tests.support.memory_keyring import MemoryKeyring

KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def page(window: MainWindow, qtbot) -> EndpointsPage:
    page = window.show_page("EndpointsPage")
    wait_idle(qtbot, window.ctx)
    return page


def save(dialog: EndpointDialog, qtbot) -> None:
    assert dialog.save_button.isEnabled(), dialog.status.text
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted)


def test_add_an_endpoint_with_a_keyring_key_and_test_it(
        page: EndpointsPage, store: Store, fake_openai: FakeOpenAIServer,
        memory_keyring: MemoryKeyring, qtbot) -> None:
    fake_openai.api_key = KEY  # the server now insists on the key
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    assert dialog.key_radios[KEYRING].isEnabled()
    dialog.name.setText("fake")
    dialog.base_url.setText("ftp://nowhere")
    assert dialog.status.kind == "error" and "http://" in dialog.status.text
    dialog.base_url.setText(fake_openai.base_url)
    dialog.key_radios[KEYRING].setChecked(True)
    assert "enter the API key" in dialog.status.text
    qtbot.keyClicks(dialog.key_text, KEY)
    dialog.timeout.setValue(5)
    dialog.concurrency.setValue(4)
    dialog.add_price("fake-model", 0.15, 0.6)
    save(dialog, qtbot)

    endpoint = registry.get_endpoint(store, "fake")
    assert (endpoint.api_key_ref, endpoint.timeout_s, endpoint.max_concurrency) == (
        "keyring", 5.0, 4)
    assert endpoint.prices == {"fake-model": [0.15, 0.6]}
    assert memory_keyring.passwords[(KEYRING_SERVICE, "fake")] == KEY
    assert KEY not in str(store.db.execute("SELECT * FROM endpoints").fetchall())

    qtbot.waitUntil(lambda: page.current is not None and page.current.name == "fake")
    assert "OS keyring" in page.details.toPlainText()
    qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    assert not page.test_button.isEnabled() and "Testing fake" in page.result.text
    qtbot.waitUntil(lambda: page.result.kind == "ok", timeout=10_000)
    assert "fake is reachable: answered in" in page.result.text
    assert page.model_ids.text() == "Model ids: fake-model"
    assert page.test_button.isEnabled()


def test_a_wrong_key_or_a_dead_server_is_reported(
        page: EndpointsPage, store: Store, fake_openai: FakeOpenAIServer, qtbot,
        monkeypatch) -> None:
    fake_openai.api_key = KEY
    monkeypatch.setenv("FAKE_KEY", "sk-wrong-key-000000")
    registry.add_endpoint(store, "fake", base_url=fake_openai.base_url, api_key_ref="env:FAKE_KEY")
    registry.add_endpoint(store, "gone", base_url="http://127.0.0.1:9/v1", timeout_s=2)
    page.refresh()
    qtbot.waitUntil(lambda: page.endpoint_list.count() == 2)
    page.endpoint_list.setCurrentRow(0)
    page.test_connection()
    qtbot.waitUntil(lambda: page.result.kind == "error", timeout=10_000)
    assert "fake is not reachable: HTTP 401" in page.result.text
    assert "sk-wrong" not in page.result.text
    page.endpoint_list.setCurrentRow(1)
    assert page.result.kind == ""  # the other endpoint's result is not shown here
    page.test_connection()
    qtbot.waitUntil(lambda: page.result.kind == "error", timeout=10_000)
    assert "gone is not reachable: cannot connect to http://127.0.0.1:9/v1" in page.result.text


def test_without_a_keyring_the_dialog_offers_an_environment_variable(
        window: MainWindow, store: Store, qtbot) -> None:
    keyring.set_keyring(fail.Keyring())  # what headless Linux has; conftest restores it
    page = window.show_page("EndpointsPage")
    qtbot.waitUntil(lambda: page.keyring is not None)
    assert "environment variable" in page.keyring_note.text()
    dialog = page.open_add_dialog()
    assert not dialog.key_radios[KEYRING].isEnabled()
    assert "cannot be used" in dialog.keyring_note.text()
    dialog.name.setText("openai")
    dialog.base_url.setText("https://api.openai.com/v1")
    dialog.key_radios[ENV].setChecked(True)
    dialog.env_var.setText("NOT A NAME")
    assert dialog.status.kind == "error" and "environment variable name" in dialog.status.text
    dialog.env_var.setText("OPENAI_API_KEY")
    save(dialog, qtbot)
    assert registry.get_endpoint(store, "openai").api_key_ref == "env:OPENAI_API_KEY"
    qtbot.waitUntil(lambda: page.current is not None and page.current.name == "openai")
    assert "$OPENAI_API_KEY" in page.details.toPlainText()


def test_edit_an_endpoint(page: EndpointsPage, store: Store, qtbot) -> None:
    registry.add_endpoint(store, "local", base_url="http://127.0.0.1:11434/v1",
                          api_key_ref="env:LOCAL_KEY", prices={"*": [1.0, 2.0]})
    page.refresh()
    qtbot.waitUntil(lambda: page.current is not None)
    dialog = page.open_edit_dialog()
    assert dialog.name.isReadOnly() and not dialog.kind.isEnabled()
    assert dialog.key_choice == KEEP and dialog.env_var.text() == "LOCAL_KEY"
    assert dialog.prices.rowCount() == 1
    dialog.base_url.setText("http://127.0.0.1:8000/v1")
    dialog.rpm.setValue(120)
    dialog.prices.item(0, 2).setText("abc")
    assert "prices must be numbers" in dialog.status.text
    dialog.prices.item(0, 2).setText("2.5")
    save(dialog, qtbot)
    endpoint = registry.get_endpoint(store, "local")
    assert (endpoint.base_url, endpoint.rpm, endpoint.api_key_ref) == (
        "http://127.0.0.1:8000/v1", 120, "env:LOCAL_KEY")
    assert endpoint.prices == {"*": [1.0, 2.5]}
    qtbot.waitUntil(lambda: "8000" in page.details.toPlainText())


def test_a_url_with_a_password_is_refused_and_an_old_one_shown_masked(
        page: EndpointsPage, store: Store, qtbot) -> None:
    dialog = page.open_add_dialog()
    dialog.name.setText("creds")
    dialog.base_url.setText("http://alice:hunter2pw@127.0.0.1:9/v1")
    assert dialog.status.kind == "error" and not dialog.save_button.isEnabled()
    assert "contains a user name or password" in dialog.status.text
    assert "keyring or an environment variable" in dialog.status.text
    assert "hunter2pw" not in dialog.status.text
    dialog.reject()

    registry.add_endpoint(store, "old", base_url="http://127.0.0.1:9/v1")
    with store.transaction() as db:  # what an older MLOps Desk let through
        db.execute("UPDATE endpoints SET base_url = 'http://alice:hunter2pw@127.0.0.1:9/v1'")
    page.refresh()
    qtbot.waitUntil(lambda: page.current is not None and page.current.name == "old")
    assert "http://alice:***@127.0.0.1:9/v1" in page.details.toPlainText()
    assert "hunter2pw" not in page.details.toPlainText()
    edit = page.open_edit_dialog()
    assert edit.base_url.text() == "http://alice:***@127.0.0.1:9/v1"
    assert not edit.save_button.isEnabled()  # saving asks for the URL without the password
    edit.base_url.setText("http://127.0.0.1:9/v1")
    save(edit, qtbot)
    assert registry.get_endpoint(store, "old").base_url == "http://127.0.0.1:9/v1"


def test_a_python_endpoint_needs_a_target(page: EndpointsPage, store: Store, qtbot) -> None:
    dialog = page.open_add_dialog()
    dialog.kind.setCurrentText("python")
    assert not dialog.key_box.isVisibleTo(dialog)
    dialog.name.setText("local-model")
    dialog.target.setText("no_colon")
    assert "module:function" in dialog.status.text
    dialog.target.setText("json:dumps")
    save(dialog, qtbot)
    assert registry.get_endpoint(store, "local-model").target == "json:dumps"
    qtbot.waitUntil(lambda: page.current is not None and page.current.name == "local-model")
    page.test_connection()
    qtbot.waitUntil(lambda: page.result.kind == "ok")
    assert page.model_ids.text() == "Model ids: json:dumps"
