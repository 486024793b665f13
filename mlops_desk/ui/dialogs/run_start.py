"""The start-run dialog: pick a version and a dataset, set the run's options, start.

Choices load in a task; "Start" records the run with ``runner.create_run`` in a task too,
so a bad choice (a template column the dataset lacks, a bad scorer) is reported inside
the dialog, which stays open. On success it emits ``run_created(run_id)`` and closes;
the Runs page then executes the run. The dialog remembers, per model, the last version,
dataset and options a run was started with (in the window's settings), and the last model.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mlops_desk.core.run_choices import RunChoices, load_run_choices
from mlops_desk.core.runner import RunOptions
from mlops_desk.core.scoring import SCORERS
from mlops_desk.core.user_input import int_or_none
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.item_models.run_queries import create_run
from mlops_desk.ui.loader import guarded

DEFAULT_SCORER = "(version default)"
SEND_ONLINE, SEND_BATCH = "Online (now)", "Batch API (up to 24 h, lower price)"
SETTINGS_GROUP = "newRun"


class StartRunDialog(QDialog):
    run_created = Signal(int)
    choices_loaded = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, *,
                 version: str | None = None, dataset: str | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("New run")
        self.setMinimumWidth(460)
        self._wanted_version, self._wanted_dataset = version, dataset
        self.choices: RunChoices | None = None
        self._creating = False

        self.model_box = QComboBox()
        self.version_box = QComboBox()
        self.dataset_box = QComboBox()
        self.concurrency = QSpinBox()
        self.concurrency.setRange(0, 1024)
        self.concurrency.setSpecialValueText("endpoint default")
        self.concurrency.setToolTip("Requests in flight at once; the engine halves it on 429s "
                                    "and grows it back")
        self.use_cache = QCheckBox("Reuse cached answers for identical requests")
        self.use_cache.setChecked(True)
        self.limit = QSpinBox()
        self.limit.setRange(0, 10_000_000)
        self.limit.setSpecialValueText("all rows")
        self.limit.setToolTip("Only the first N rows of the dataset (0: all)")
        self.scorer = QComboBox()
        self.scorer.setEditable(True)
        self.scorer.addItems([DEFAULT_SCORER, *[s for s in SCORERS if s != "judge"]])
        self.scorer.setToolTip("label, contains, regex, json[:FIELD], number[:tol=X] or "
                               "judge:MODEL:N (a version that grades the answers)")
        self.send_mode = QComboBox()
        self.send_mode.addItems([SEND_ONLINE, SEND_BATCH])
        self.send_mode.setToolTip("Batch API: the endpoint's own batch engine answers within "
                                  "24 h at its batch price; the run is followed in the "
                                  "background and survives closing the app")
        self.message = QLabel("Loading versions and datasets…")
        self.message.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Model", self.model_box)
        form.addRow("Version", self.version_box)
        form.addRow("Dataset", self.dataset_box)
        form.addRow("Concurrency", self.concurrency)
        form.addRow("Cache", self.use_cache)
        form.addRow("Row limit", self.limit)
        form.addRow("Scorer", self.scorer)
        form.addRow("Send", self.send_mode)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.addButton("Start run",
                                                   QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setEnabled(False)
        self.buttons.accepted.connect(self._start)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

        self.model_box.currentTextChanged.connect(self._fill_versions)
        self.version_box.currentIndexChanged.connect(self._show_default_concurrency)
        ctx.tasks.start(load_run_choices, ctx.store, on_done=guarded(self, self._choices),
                        on_error=guarded(self, self._show_error))

    # -- choices -----------------------------------------------------------------------
    def _choices(self, choices: RunChoices) -> None:
        self.choices = choices
        for name, n_rows in choices.datasets:  # before the models: a model picks its dataset
            self.dataset_box.addItem(f"{name} ({n_rows:,} rows)", name)
        self.model_box.addItems(sorted(choices.versions))
        last_model = self.ctx.settings.value(f"{SETTINGS_GROUP}/lastModel", "", type=str)
        if not self._wanted_version and last_model in choices.versions:
            self.model_box.setCurrentText(last_model)
        if self._wanted_version and ":" in self._wanted_version:
            model, _, number = self._wanted_version.rpartition(":")
            self.model_box.setCurrentText(model)
            wanted = int_or_none(number)
            index = self.version_box.findData(wanted) if wanted is not None else -1
            if index >= 0:
                self.version_box.setCurrentIndex(index)
        if self._wanted_dataset:
            index = self.dataset_box.findData(self._wanted_dataset)
            if index >= 0:
                self.dataset_box.setCurrentIndex(index)
        ready = bool(choices.versions) and bool(choices.datasets)
        self.start_button.setEnabled(ready)
        if not choices.versions:
            self.message.setText("No versions yet: register a version on the Models page first.")
        elif not choices.datasets:
            self.message.setText("No datasets yet: import one on the Datasets page first.")
        else:
            self.message.setText("")
        self.choices_loaded.emit()

    def _fill_versions(self, model: str) -> None:
        self.version_box.clear()
        if self.choices is None:
            return
        for v in self.choices.versions.get(model, []):
            note = f" — {v.note}" if v.note else ""
            archived = " (archived)" if v.archived else ""
            self.version_box.addItem(f"{v.number}{note}{archived}", v.number)
        self._recall(model)

    # -- remembered choices --------------------------------------------------------------
    def _key(self, model: str, name: str) -> str:
        return f"{SETTINGS_GROUP}/models/{model}/{name}"

    def _recall(self, model: str) -> None:
        """The version, dataset and options of the last run started for ``model``."""
        settings = self.ctx.settings
        if not settings.contains(self._key(model, "dataset")):
            return
        for box, key in ((self.version_box, "version"), (self.dataset_box, "dataset")):
            value = settings.value(self._key(model, key), None,
                                   type=int if key == "version" else str)
            index = box.findData(value)
            if index >= 0:
                box.setCurrentIndex(index)
        self.concurrency.setValue(settings.value(self._key(model, "concurrency"), 0, type=int))
        self.use_cache.setChecked(settings.value(self._key(model, "useCache"), True, type=bool))
        self.limit.setValue(settings.value(self._key(model, "limit"), 0, type=int))
        self.scorer.setCurrentText(
            settings.value(self._key(model, "scorer"), DEFAULT_SCORER, type=str))

    def _remember(self) -> None:
        settings, model = self.ctx.settings, self.model_box.currentText()
        settings.setValue(f"{SETTINGS_GROUP}/lastModel", model)
        for key, value in (("version", self.version_box.currentData()),
                           ("dataset", self.dataset_box.currentData()),
                           ("concurrency", self.concurrency.value()),
                           ("useCache", self.use_cache.isChecked()),
                           ("limit", self.limit.value()),
                           ("scorer", self.scorer.currentText())):
            settings.setValue(self._key(model, key), value)

    def _show_default_concurrency(self) -> None:
        version = self._version_choice()
        if version is not None and self.choices is not None:
            default = self.choices.concurrency.get(version.endpoint)
            self.concurrency.setSpecialValueText(
                f"endpoint default ({default})" if default else "endpoint default")

    def _version_choice(self):
        if self.choices is None:
            return None
        number = self.version_box.currentData()
        for v in self.choices.versions.get(self.model_box.currentText(), []):
            if v.number == number:
                return v
        return None

    # -- starting ----------------------------------------------------------------------
    def options(self) -> RunOptions:
        scorer = self.scorer.currentText().strip()
        return RunOptions(
            concurrency=self.concurrency.value() or None,
            use_cache=self.use_cache.isChecked(),
            limit=self.limit.value() or None,
            scorer=None if scorer in ("", DEFAULT_SCORER) else scorer,
        )

    def _start(self) -> None:
        if self._creating or self.version_box.currentData() is None:
            return
        self._creating = True
        self.start_button.setEnabled(False)
        self.message.setText("Checking…")
        self.ctx.tasks.start(create_run, self.ctx.store, self.model_box.currentText(),
                             self.version_box.currentData(), self.dataset_box.currentData(),
                             self.options(), batch=self.send_mode.currentText() == SEND_BATCH,
                             on_done=guarded(self, self._created),
                             on_error=guarded(self, self._show_error))

    def _created(self, run_id: int) -> None:
        self._creating = False
        self._remember()
        self.run_created.emit(run_id)
        self.accept()

    def _show_error(self, message: str) -> None:
        self._creating = False
        self.start_button.setEnabled(self.choices is not None)
        self.message.setText(f"<span style='color:#c62828'>{message}</span>")
