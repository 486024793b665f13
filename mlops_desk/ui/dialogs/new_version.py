""""New version from this one": clone a version's config, edit it, register it.

Validation runs on every keystroke (it is local and cheap: ``make_config`` + ``fingerprint``);
the dialog says when the edited config is identical to an existing version, because
registering it would only return that version. Registration runs in a task; the dialog stays
open until it succeeds, so a refusal is shown where the user can fix it.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from mlops_desk.core import registry
from mlops_desk.core.errors import BadInput
from mlops_desk.core.registry import Model, Version
from mlops_desk.ui import theme
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.loader import guarded
from mlops_desk.ui.widgets.status_line import StatusLine

PARSER_CHOICES = ("label", "text", "json", "json:answer", "regex:(\\w+)")


class _FieldError(BadInput):
    """A problem of one field, shown under that field as well as in the status line."""

    def __init__(self, line: StatusLine, message: str):
        super().__init__(message)
        self.line = line


def parse_tags(text: str) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))


def code_editor(text: str = "", height: int = 80) -> QPlainTextEdit:
    editor = QPlainTextEdit(text)
    theme.code_font(editor)
    editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    editor.setMinimumHeight(height)
    editor.setTabChangesFocus(True)
    return editor


class NewVersionDialog(QDialog):
    registered = Signal(object, bool)  # (Version, created)

    def __init__(self, ctx: AppContext, model: Model, source: Version | None,
                 versions: list[Version], endpoints: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx, self.model, self.source = ctx, model, source
        self._by_fingerprint = {v.fingerprint: v.number for v in versions}
        self.config: dict[str, Any] | None = None
        self._task = None
        base = source.config if source else {}
        self.setWindowTitle(f"New version of {model.name}" +
                            (f" from version {source.number}" if source else ""))
        self.resize(720, 680)

        self.endpoint = QComboBox()
        self.endpoint.addItems(endpoints)
        if base.get("endpoint") and base["endpoint"] not in endpoints:
            self.endpoint.addItem(base["endpoint"])  # its endpoint was renamed or removed
        if base.get("endpoint"):
            self.endpoint.setCurrentText(base["endpoint"])
        self.model_id = QLineEdit(base.get("model_id", ""))
        self.model_id.setPlaceholderText("e.g. gpt-4o-mini, or the id your server lists")
        self.model_id_error = StatusLine()  # the field's own problem, shown under it
        self.model_id_error.setObjectName("fieldError")
        self.model_id_error.hide()
        self.system_prompt = code_editor(base.get("system_prompt", ""), 90)
        self.template = code_editor(base.get("template", "{input}"), 70)
        self.columns_hint = QLabel()
        self.columns_hint.setObjectName("hint")
        self.params = code_editor(json.dumps(base.get("params") or {}, indent=2,
                                             sort_keys=True), 70)
        self.parser = QComboBox()
        self.parser.setEditable(True)
        self.parser.addItems(PARSER_CHOICES)
        self.parser.setCurrentText(base.get("parser", "label" if model.labels else "text"))
        self.parser.setToolTip("label · text · json · json:FIELD · regex:PATTERN")
        self.note = QLineEdit()
        self.note.setPlaceholderText("what changed and why (editable later)")
        self.tags = QLineEdit()
        self.tags.setPlaceholderText("comma-separated, e.g. candidate, cheaper")

        form = QFormLayout()
        form.addRow("Endpoint", self.endpoint)
        form.addRow("Model id", self.model_id)
        form.addRow("", self.model_id_error)
        form.addRow("System prompt", self.system_prompt)
        form.addRow("Prompt template", self.template)
        form.addRow("", self.columns_hint)
        form.addRow("Parameters (JSON)", self.params)
        form.addRow("Output parser", self.parser)
        form.addRow("Note", self.note)
        form.addRow("Tags", self.tags)

        self.status = StatusLine()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.register_button = self.buttons.addButton(
            "Register version", QDialogButtonBox.ButtonRole.AcceptRole)
        self.register_button.setDefault(True)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)

        for edit in (self.system_prompt, self.template, self.params):
            edit.textChanged.connect(self.validate)
        for line in (self.model_id,):
            line.textChanged.connect(self.validate)
        self.endpoint.currentTextChanged.connect(self.validate)
        self.parser.currentTextChanged.connect(self.validate)
        self.validate()

    # -- validation ----------------------------------------------------------------
    def build_config(self) -> dict[str, Any]:
        """The edited config, validated and normalised; raises BadInput with the reason."""
        if not self.endpoint.currentText():
            raise BadInput("add an endpoint first (Endpoints page)")
        if not self.model_id.text().strip():
            raise _FieldError(self.model_id_error, "Model id is required: the name the "
                                                   "endpoint serves, e.g. gpt-4o-mini")
        try:
            params = json.loads(self.params.toPlainText() or "{}")
        except json.JSONDecodeError as exc:
            raise BadInput(f"parameters are not valid JSON: {exc.msg} "
                           f"(line {exc.lineno}, column {exc.colno})") from None
        if not isinstance(params, dict):
            raise BadInput("parameters must be a JSON object, e.g. {\"temperature\": 0}")
        try:
            return registry.make_config(
                endpoint=self.endpoint.currentText(), model_id=self.model_id.text().strip(),
                system_prompt=self.system_prompt.toPlainText(),
                template=self.template.toPlainText(), params=params,
                parser=self.parser.currentText().strip())
        except (ValueError, TypeError) as exc:  # NaN or odd values in the parameters
            raise BadInput(f"parameters: {exc}") from None

    def validate(self) -> None:
        self.config = None
        self.model_id_error.hide()
        try:
            config = self.build_config()
        except BadInput as exc:
            self.status.set("error", str(exc))
            if isinstance(exc, _FieldError):
                exc.line.set("error", str(exc))
                exc.line.show()
            self.register_button.setEnabled(False)
            self.columns_hint.setText("")
            return
        columns = registry.template_columns(config["template"])
        self.columns_hint.setText("Dataset columns used: " +
                                  (", ".join("{" + c + "}" for c in columns) or "none"))
        fingerprint = registry.fingerprint(config)
        same = self._by_fingerprint.get(fingerprint)
        if same is not None:
            self.status.set("info", f"Identical to version {same}: change the prompt, template, "
                                    "parameters, parser or model id to make a new version.")
            self.register_button.setEnabled(False)
            return
        self.config = config
        parent = f"; parent: version {self.source.number}" if self.source else ""
        self.status.set("ok", f"New configuration, fingerprint {fingerprint[:10]}{parent}.")
        self.register_button.setEnabled(True)

    # -- registering ---------------------------------------------------------------
    def submit(self) -> None:
        self.validate()
        if self.config is None:
            return
        self.register_button.setEnabled(False)
        self.status.set("info", "Registering…")
        self._task = self.ctx.tasks.start(
            registry.register_version, self.ctx.store, self.model.name, self.config,
            note=self.note.text().strip(), tags=parse_tags(self.tags.text()),
            parent_number=self.source.number if self.source else None,
            on_done=guarded(self, self._registered), on_error=guarded(self, self._failed))

    def _registered(self, result: tuple[Version, bool]) -> None:
        version, created = result
        self.ctx.registry_changed.emit()
        self.registered.emit(version, created)
        self.accept()

    def _failed(self, message: str) -> None:
        self.status.set("error", message)
        self.register_button.setEnabled(True)
