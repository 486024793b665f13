"""The Endpoints page: where inference happens, and whether it answers right now."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QWidget,
)

from mlops_desk.core import registry, secrets
from mlops_desk.core.endpoint_check import CheckResult, check_endpoint
from mlops_desk.core.registry import Endpoint
from mlops_desk.core.store import Store
from mlops_desk.ui import theme
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.dialogs.endpoint_edit import EndpointDialog
from mlops_desk.ui.loader import LatestLoad, StaleFlag, guarded
from mlops_desk.ui.pages.archiving import Archiver
from mlops_desk.ui.pages.base import Page, vbox
from mlops_desk.ui.widgets.item_list import FilterableList
from mlops_desk.ui.widgets.status_line import StatusLine

MAX_IDS_SHOWN = 40


def check_named_endpoint(store: Store, name: str) -> CheckResult:
    """Look the endpoint up and call it (in a worker: this waits on the network)."""
    return check_endpoint(registry.get_endpoint(store, name))


def endpoint_html(e: Endpoint) -> str:
    def row(name: str, value: str) -> str:
        return f"<tr><td><b>{name}</b></td><td>{value}</td></tr>"

    where = (row("Base URL", html.escape(e.display_url or "")) if e.kind == "openai"
             else row("Python target", f"<code>{html.escape(e.target or '')}</code>"))
    prices = "<br>".join(f"{html.escape(m)}: ${p[0]:g} in / ${p[1]:g} out per 1M tokens"
                         for m, p in e.prices.items()) or "none (costs are not computed)"
    limits = ", ".join(x for x in (f"{e.rpm:,} requests/min" if e.rpm else "",
                                   f"{e.tpm:,} tokens/min" if e.tpm else "") if x) or "none"
    archived = (" (archived)</h3><p><i>Archived: hidden from lists; versions that use it "
                "keep working. Restore it to edit it.</i></p>" if e.archived else "</h3>")
    return "".join([
        f"<h3>{html.escape(e.name)}{archived}<table cellpadding='2'>",
        row("Kind", e.kind), where,
        row("API key", html.escape(secrets.describe(e.api_key_ref))
            if e.kind == "openai" else "not needed"),
        row("Timeout", f"{e.timeout_s:g} s"),
        row("Max concurrency", str(e.max_concurrency)),
        row("Rate limits", limits),
        row("Prices", prices),
        "</table>",
    ])


class EndpointsPage(Page):
    title = "Endpoints"
    icon_name = "endpoints"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self._list_load = LatestLoad(ctx, self)
        self._stale = StaleFlag(self, self.refresh)
        self.endpoints: dict[str, Endpoint] = {}
        self.dialog: EndpointDialog | None = None
        self._check_task = None
        self.last_check: CheckResult | None = None
        self._select_after_load: str | None = None
        self.keyring: tuple[bool, str] | None = None  # keyring_status(), once known
        self._keyring_task = None

        self.item_list = FilterableList("Endpoints", "Filter endpoints (Ctrl+F)",
                                        "Add endpoint…", archivable="endpoint")
        self.item_list.current_changed.connect(self._endpoint_changed)
        self.archiver = Archiver(ctx, self, "endpoint", self.item_list,
                                 ctx.registry_changed.emit)
        self.add_button = self.item_list.button
        self.add_button.clicked.connect(self.open_add_dialog)
        self.filter_edit = self.item_list.filter_edit
        self.endpoint_list = self.item_list.list

        self.details = QTextBrowser()
        self.details.setOpenLinks(False)
        self.edit_button = QPushButton(theme.icon("edit"), "Edit…")
        self.edit_button.clicked.connect(self.open_edit_dialog)
        self.test_button = QPushButton(theme.icon("plug"), "Test connection")
        self.test_button.setToolTip("Ask the endpoint which models it serves (GET /models)")
        self.test_button.clicked.connect(self.test_connection)
        buttons = QHBoxLayout()
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.test_button)
        buttons.addStretch(1)
        self.result = StatusLine()
        self.model_ids = QLabel()
        self.model_ids.setWordWrap(True)
        self.model_ids.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.keyring_note = QLabel()
        self.keyring_note.setObjectName("hint")
        self.keyring_note.setWordWrap(True)
        right = vbox((self.details, 1), buttons, self.result, self.model_ids,
                     self.keyring_note)
        self.splitter = self.split_list_and_details(self.item_list, right, "endpointsSplitter")

        ctx.registry_changed.connect(self._stale.mark)
        self._show(None)

    # -- Page interface ------------------------------------------------------------
    def activated(self) -> None:
        if self.keyring is None and self._keyring_task is None:
            # Finding a keyring backend can wait on D-Bus: ask once, off the GUI thread.
            self._keyring_task = self.ctx.tasks.start(
                secrets.keyring_status, on_done=guarded(self, self._keyring_known))
        self._stale.activated()

    def _keyring_known(self, status: tuple[bool, str]) -> None:
        self.keyring = status
        usable, why = status
        self.keyring_note.setText("" if usable else
                                  f"Keys: {why}. Endpoints can read their key from an "
                                  "environment variable instead.")

    def refresh(self) -> None:
        self._stale.stale = False
        self._list_load.start(registry.list_endpoints, self.ctx.store, on_done=self._listed)

    # -- list ----------------------------------------------------------------------
    @property
    def current(self) -> Endpoint | None:
        return self.endpoints.get(self.item_list.current_key)

    def _listed(self, found: list[Endpoint]) -> None:
        keep, self._select_after_load = self._select_after_load, None
        self.endpoints = {e.name: e for e in found}
        self.item_list.set_items(  # keep, else the current endpoint, else the first
            [(e.name, e.name, f"{e.kind}: {e.display_url or e.target}", None, e.archived)
             for e in found], keep)
        self._show(self.current)

    def _endpoint_changed(self, *_args) -> None:
        self._show(self.current)

    def _show(self, endpoint: Endpoint | None) -> None:
        self.edit_button.setEnabled(endpoint is not None)
        self.test_button.setEnabled(endpoint is not None)
        self.model_ids.clear()
        if self.last_check is None or endpoint is None or self.last_check.endpoint != endpoint.name:
            self.result.clear()
        if endpoint is None:
            self.details.setHtml(
                "<h3>No endpoint selected</h3><p>An endpoint is where inference happens: any "
                "OpenAI-compatible server (OpenAI, Azure, Ollama, vLLM, LM Studio…) or a local "
                "Python function. Add one to register model versions against it.</p>")
            return
        self.details.setHtml(endpoint_html(endpoint))
        self.edit_button.setEnabled(not endpoint.archived)
        if self.last_check is not None and self.last_check.endpoint == endpoint.name:
            self._show_check(self.last_check)

    # -- dialogs -------------------------------------------------------------------
    def _open(self, dialog: EndpointDialog) -> EndpointDialog:
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = dialog
        dialog.saved.connect(self._saved)
        dialog.open()
        return dialog

    def open_add_dialog(self) -> EndpointDialog:
        return self._open(EndpointDialog(self.ctx, None, self, keyring=self.keyring))

    def open_edit_dialog(self) -> EndpointDialog | None:
        if self.current is None:
            return None
        return self._open(EndpointDialog(self.ctx, self.current, self, keyring=self.keyring))

    def _saved(self, endpoint: Endpoint) -> None:
        self._select_after_load = endpoint.name
        self.ctx.status_message.emit(f"Endpoint {endpoint.name} saved.")

    # -- connection test -----------------------------------------------------------
    def test_connection(self) -> None:
        endpoint = self.current
        if endpoint is None or (self._check_task is not None and self._check_task.running):
            return
        self.test_button.setEnabled(False)
        self.model_ids.clear()
        where = endpoint.display_url or endpoint.target
        self.result.set("info", f"Testing {endpoint.name} ({where})…")
        self._check_task = self.ctx.tasks.start(
            check_named_endpoint, self.ctx.store, endpoint.name,
            on_done=guarded(self, self._checked), on_error=guarded(self, self._check_failed))

    def _checked(self, result: CheckResult) -> None:
        self.last_check = result
        self.test_button.setEnabled(self.current is not None)
        if self.current is not None and self.current.name == result.endpoint:
            self._show_check(result)

    def _show_check(self, result: CheckResult) -> None:
        if result.reachable:
            count = len(result.model_ids)
            latency = result.latency_ms or 0.0
            took = f"{latency:.0f} ms" if latency >= 1 else "under 1 ms"
            self.result.set("ok", f"{result.endpoint} is reachable: answered in {took} "
                                  f"with {count} model id(s).")
            shown = ", ".join(result.model_ids[:MAX_IDS_SHOWN])
            more = f" … and {count - MAX_IDS_SHOWN} more" if count > MAX_IDS_SHOWN else ""
            self.model_ids.setText(f"Model ids: {shown}{more}" if count else "")
        else:
            self.result.set("error", f"{result.endpoint} is not reachable: {result.error}")
            self.model_ids.clear()

    def _check_failed(self, message: str) -> None:
        self.test_button.setEnabled(self.current is not None)
        self.result.set("error", message)
