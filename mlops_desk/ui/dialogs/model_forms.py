"""Small registry forms: create a model; edit a version's note and tags."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QLineEdit, QWidget

from mlops_desk.core import registry
from mlops_desk.core.errors import BadInput
from mlops_desk.core.registry import Version
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.dialogs.deploy_base import DeployTaskDialog
from mlops_desk.ui.dialogs.new_version import parse_tags


class _TaskDialog(DeployTaskDialog):
    """A form whose OK runs one task and closes only when it succeeds."""

    def announce(self) -> None:
        self.ctx.registry_changed.emit()


class NewModelDialog(_TaskDialog):
    created = Signal(str)  # the model name

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(ctx, "New model", "Create model", parent)
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. ticket-triage")
        self.kind = QComboBox()
        self.kind.addItems(registry.MODEL_KINDS)
        self.labels = QLineEdit()
        self.labels.setPlaceholderText("comma-separated, e.g. positive, negative, neutral")
        self.description = QLineEdit()
        self.form.addRow("Name", self.name)
        self.form.addRow("Kind", self.kind)
        self.form.addRow("Labels", self.labels)
        self.form.addRow("Description", self.description)
        self.kind.currentTextChanged.connect(self._kind_changed)
        for edit in (self.name, self.labels):
            edit.textChanged.connect(self.validate)
        self.resize(460, 0)
        self.validate()

    def _kind_changed(self, kind: str) -> None:
        self.labels.setEnabled(kind == "classification")
        self.validate()

    def validate(self) -> bool:
        try:
            registry.check_name(self.name.text(), "model")
            if self.labels.isEnabled():
                registry.parse_labels(self.labels.text())
        except BadInput as exc:
            self.status.set("error" if self.name.text() else "info",
                            str(exc) if self.name.text() else "Give the model a name.")
            self.ok_button.setEnabled(False)
            return False
        self.status.clear()
        self.ok_button.setEnabled(True)
        return True

    def submit(self) -> None:
        if not self.validate():
            return
        labels = registry.parse_labels(self.labels.text()) if self.labels.isEnabled() else []
        self.run(registry.create_model, self.ctx.store, self.name.text(),
                 kind=self.kind.currentText(), labels=labels,
                 description=self.description.text().strip())

    def done_with(self, model) -> None:
        self.created.emit(model.name)


class VersionMetaDialog(_TaskDialog):
    """Notes and tags stay editable; the config never does."""

    saved = Signal(object)  # the Version

    def __init__(self, ctx: AppContext, version: Version, parent: QWidget | None = None):
        super().__init__(ctx, f"Note and tags of {version.ref}", "Save", parent)
        self.version = version
        self.note = QLineEdit(version.note)
        self.tags = QLineEdit(", ".join(version.tags))
        self.tags.setPlaceholderText("comma-separated")
        self.form.addRow("Note", self.note)
        self.form.addRow("Tags", self.tags)
        self.resize(460, 0)

    def submit(self) -> None:
        self.run(registry.set_version_meta, self.ctx.store, self.version.model,
                 self.version.number, note=self.note.text().strip(),
                 tags=parse_tags(self.tags.text()))

    def done_with(self, version) -> None:
        self.saved.emit(version)
