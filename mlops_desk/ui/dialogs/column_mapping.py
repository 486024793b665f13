"""Import a dataset file: preview its first rows, map its columns, name the snapshot.

The file is read in a task (``read_table`` imports pandas lazily and may take a while);
a bad file shows ``BadInput``'s one-line explanation instead of a preview. A text file that
is not UTF-8 (an Excel export in cp1252, say) leaves the Encoding box enabled with the
encoding that fits marked as suggested; choosing one reads the preview again. The import
itself also runs in a task with a progress bar, and the dialog closes only when it succeeded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QProgressBar,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mlops_desk.core import datasets, work
from mlops_desk.core.dataset_io import UnknownEncoding, read_table
from mlops_desk.core.errors import BadInput
from mlops_desk.core.names import check_name
from mlops_desk.core.store import Store
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.item_models.rows_table import DatasetRowsModel
from mlops_desk.ui.loader import LatestLoad, guarded
from mlops_desk.ui.widgets.status_line import StatusLine
from mlops_desk.ui.widgets.table_columns import readable_table

PREVIEW_ROWS = 20
NONE = "(none)"
# Column names that usually hold the answer, tried in this order.
EXPECTED_GUESSES = ("expected", "label", "labels", "answer", "target", "gold", "class",
                    "category", "sentiment", "output", "y")
# Row identifiers tell a model nothing: they start unchecked (the user can still tick them).
ID_COLUMNS = {"id", "_id", "idx", "index", "row_id", "uuid", "key"}
TEXT_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson")  # the formats an encoding applies to
AUTOMATIC = "Automatic (UTF-8, or the file's byte order mark)"
# (codec, what it is) offered besides automatic detection; cp1252 first: Excel on Windows.
ENCODINGS = (
    ("cp1252", "Windows Western European (Excel)"),
    ("latin-1", "ISO 8859-1; reads any byte"),
    ("utf-8", "Unicode"),
    ("cp1250", "Windows Central European"),
    ("cp1251", "Windows Cyrillic"),
    ("mac-roman", "classic Mac OS"),
)


@dataclass(frozen=True)
class FilePreview:
    columns: list[str]
    rows: list[tuple[int, dict[str, Any]]]
    n_rows: int
    encoding: str | None = None


@dataclass(frozen=True)
class EncodingNeeded:
    """The file is not UTF-8: the user chooses; ``suggestion`` decodes it."""

    message: str
    suggestion: str


def read_preview(path: Path, encoding: str | None = None) -> FilePreview | EncodingNeeded:
    """Read the whole file (that is how bad files are caught) and keep the first rows."""
    try:
        table = read_table(path, encoding)
    except UnknownEncoding as exc:
        return EncodingNeeded(str(exc), exc.suggestion)
    return FilePreview(table.columns, list(enumerate(table.rows[:PREVIEW_ROWS])),
                       len(table.rows), table.encoding)


def import_file(store: Store, path: Path, name: str, *, input_cols: list[str],
                expected_col: str | None, encoding: str | None = None,
                on_progress, cancel) -> tuple[datasets.Dataset, bool]:
    """``datasets.import_dataset`` as a task; a cancel rolls the whole import back."""
    return datasets.import_dataset(store, path, name, input_cols=input_cols,
                                   expected_col=expected_col, encoding=encoding,
                                   on_progress=on_progress, cancel=cancel)


def default_name(path: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-._")[:64]
    return name if name and name[0].isalnum() else f"dataset-{name}".strip("-")[:64]


def guess_expected(columns: list[str]) -> str | None:
    lowered = {c.casefold(): c for c in columns}
    return next((lowered[g] for g in EXPECTED_GUESSES if g in lowered), None)


class ColumnMappingDialog(QDialog):
    imported = Signal(object, bool)  # (Dataset, created)

    def __init__(self, ctx: AppContext, path: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx, self.path = ctx, Path(path)
        self.preview: FilePreview | None = None
        self.checks: dict[str, QCheckBox] = {}
        self._read_load = LatestLoad(ctx, self)
        self._read_task = None
        self._import_task = None
        self.setWindowTitle(f"Import {self.path.name}")
        self.resize(820, 620)

        self.file_label = QLabel(f"<b>{self.path.name}</b>  ·  reading…")
        self.preview_model = DatasetRowsModel(self)
        self.preview_table = QTableView()
        self.preview_table.setModel(self.preview_model)
        self.preview_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview_table.setAlternatingRowColors(True)
        self.preview_table.verticalHeader().setDefaultSectionSize(24)
        self.preview_fitter = readable_table(self.preview_table, maximum=260)

        self.inputs_box = QGroupBox("Input columns (sent to the model)")
        self.inputs_grid = QGridLayout(self.inputs_box)
        self.expected = QComboBox()
        self.expected.setToolTip("The column with the right answer; runs score against it.")
        self.name = QLineEdit(default_name(self.path))
        self.encoding = QComboBox()
        self.encoding.addItem(AUTOMATIC, None)
        for codec, what in ENCODINGS:
            self.encoding.addItem(f"{codec} — {what}", codec)
        self.encoding.setToolTip("How the file's bytes become text. Automatic reads UTF-8 "
                                 "and files that start with a byte order mark.")
        form = QFormLayout()
        form.addRow("Encoding", self.encoding)
        form.addRow("Expected column", self.expected)
        form.addRow("Dataset name", self.name)
        form.setRowVisible(self.encoding, self.path.suffix.lower() in TEXT_SUFFIXES)

        self.progress = QProgressBar()
        self.progress.hide()
        self.status = StatusLine()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton("Import",
                                                    QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setDefault(True)
        self.import_button.setEnabled(False)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.file_label)
        layout.addWidget(self.preview_table, 1)
        layout.addWidget(self.inputs_box)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)

        self.expected.currentTextChanged.connect(self._expected_changed)
        self.name.textChanged.connect(self.validate)
        self.encoding.currentIndexChanged.connect(self._read)
        self._read()

    # -- preview -------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """The file was read (or found bad): the form shows its final state."""
        return self._read_task is not None and not self._read_task.running

    @property
    def chosen_encoding(self) -> str | None:
        """The encoding the user chose; None: detect (UTF-8 or a byte order mark)."""
        return self.encoding.currentData()

    def choose_encoding(self, codec: str | None) -> None:
        self.encoding.setCurrentIndex(self.encoding.findData(codec))

    def _read(self) -> None:
        """(Re-)read the file with the chosen encoding; the newest read wins."""
        self._clear_mapping()
        self.file_label.setText(f"<b>{self.path.name}</b>  ·  reading…")
        self.status.set("info", "Reading the file…")
        self._read_task = self._read_load.start(read_preview, self.path, self.chosen_encoding,
                                                on_done=self._previewed,
                                                on_error=self._unreadable)

    def _clear_mapping(self) -> None:
        self.preview = None
        self.import_button.setEnabled(False)
        self.preview_model.reset([], [])
        for box in self.checks.values():
            self.inputs_grid.removeWidget(box)
            box.deleteLater()
        self.checks.clear()
        self.expected.blockSignals(True)
        self.expected.clear()
        self.expected.blockSignals(False)

    def _set_form_enabled(self, enabled: bool) -> None:
        for widget in (self.preview_table, self.inputs_box, self.expected, self.name):
            widget.setEnabled(enabled)

    def _unreadable(self, message: str) -> None:
        self.file_label.setText(f"<b>{self.path.name}</b>  ·  cannot be imported")
        self.status.set("error", message)
        self.import_button.setEnabled(False)
        self._set_form_enabled(False)

    def _needs_encoding(self, needed: EncodingNeeded) -> None:
        """Not UTF-8: keep the Encoding box open, with the one that fits marked."""
        self._unreadable(needed.message)
        self.file_label.setText(f"<b>{self.path.name}</b>  ·  choose its encoding")
        for i in range(1, self.encoding.count()):
            codec = self.encoding.itemData(i)
            text = self.encoding.itemText(i).removesuffix(" (suggested)")
            self.encoding.setItemText(i, text + (" (suggested)" if codec == needed.suggestion
                                                 else ""))
        self.encoding.setFocus()

    def _previewed(self, preview: FilePreview | EncodingNeeded) -> None:
        if isinstance(preview, EncodingNeeded):
            self._needs_encoding(preview)
            return
        self._set_form_enabled(True)
        self.preview = preview
        shown = min(len(preview.rows), preview.n_rows)
        encoding = f"  ·  {preview.encoding}" if preview.encoding else ""
        self.file_label.setText(f"<b>{self.path.name}</b>  ·  {preview.n_rows:,} rows, "
                                f"{len(preview.columns)} columns{encoding}  ·  "
                                f"first {shown} shown")
        self.preview_model.reset(preview.columns, preview.rows)
        self.preview_fitter.fit()
        guess = guess_expected(preview.columns)
        for i, column in enumerate(preview.columns):
            box = QCheckBox(column)
            box.setChecked(column != guess and column.casefold() not in ID_COLUMNS)
            box.toggled.connect(self.validate)
            self.checks[column] = box
            self.inputs_grid.addWidget(box, i // 4, i % 4)
        self.expected.blockSignals(True)
        self.expected.addItems([NONE, *preview.columns])
        self.expected.setCurrentText(guess or NONE)
        self.expected.blockSignals(False)
        self._expected_changed(self.expected.currentText())

    def _expected_changed(self, expected: str) -> None:
        for column, box in self.checks.items():
            is_expected = column == expected
            if is_expected:
                box.setChecked(False)
            box.setEnabled(not is_expected)
        self.validate()

    # -- mapping -------------------------------------------------------------------
    @property
    def input_cols(self) -> list[str]:
        return [c for c, box in self.checks.items() if box.isChecked()]

    @property
    def expected_col(self) -> str | None:
        text = self.expected.currentText()
        return None if text in ("", NONE) else text

    def validate(self) -> bool:
        if self.preview is None:
            return False
        try:
            if not self.input_cols:
                raise BadInput("choose at least one input column")
            check_name(self.name.text(), "dataset")
        except BadInput as exc:
            self.status.set("error", str(exc))
            self.import_button.setEnabled(False)
            return False
        scored = (f"scored against {self.expected_col!r}" if self.expected_col
                  else "no expected column: outputs will not be scored")
        self.status.set("ok", f"{len(self.input_cols)} input column(s); {scored}.")
        self.import_button.setEnabled(True)
        return True

    # -- import --------------------------------------------------------------------
    def submit(self) -> None:
        if not self.validate():
            return
        self.import_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.status.set("info", "Importing: reading, validating and storing the snapshot…")
        self._import_task = self.ctx.tasks.start(
            import_file, self.ctx.store, self.path, self.name.text(),
            input_cols=self.input_cols, expected_col=self.expected_col,
            encoding=self.chosen_encoding,
            on_progress=guarded(self, self._progressed), on_done=guarded(self, self._imported),
            on_error=guarded(self, self._failed))

    def _progressed(self, value: work.Progress) -> None:
        self.progress.setRange(0, max(value.total, 1))
        self.progress.setValue(value.done)

    def _imported(self, result: tuple[datasets.Dataset, bool]) -> None:
        dataset, created = result
        self.progress.hide()
        self.ctx.datasets_changed.emit()
        self.imported.emit(dataset, created)
        self.accept()

    def _failed(self, message: str) -> None:
        self.progress.hide()
        self.status.set("error", message)
        self.import_button.setEnabled(True)
