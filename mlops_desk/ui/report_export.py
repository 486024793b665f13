"""Export a report from a page: the save dialog, the background task, progress, the result.

A page gives each Export control a ``ReportExporter`` and a function that names what the
page shows (a ``ReportSubject``, or None when it shows nothing to export). Triggering it
asks for a file (the format comes from the name's extension, else from the picked filter),
then runs core's ``export_report`` in the task pool with a progress dialog that can cancel
it. PDF is rendered in that pool thread too: ``report_pdf`` draws with QTextDocument,
QPdfWriter and QImage only (no QWidget, no QPixmap), which Qt allows outside the GUI
thread. The last folder and format are remembered in the window's settings; Ctrl+E
(``export_current``) triggers the first exporter of the current page that has a subject.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressDialog,
    QToolButton,
    QWidget,
)

from mlops_desk.core.errors import BadInput
from mlops_desk.core.reports.export import (
    EXTENSIONS,
    FORMATS,
    Exported,
    ExportProgress,
    check_format,
    export_report,
)
from mlops_desk.ui import theme
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.loader import guarded
from mlops_desk.ui.workers import TaskHandle

FILTERS = {
    "html": "HTML, one self-contained page (*.html *.htm)",
    "pdf": "PDF (*.pdf)",
    "csv": "CSV, one line per row (*.csv)",
    "xlsx": "Excel workbook, rows and summary (*.xlsx)",
    "md": "Markdown summary (*.md *.markdown)",
    "json": "JSON, the report's facts (*.json)",
}
SUFFIX = {"html": ".html", "pdf": ".pdf", "csv": ".csv", "xlsx": ".xlsx", "md": ".md",
          "json": ".json"}
NOUNS = {"run": "run report", "compare": "comparison report", "model": "model card",
         "audit": "audit report"}
FOLDER_KEY = "reports/folder"
PROGRESS_DELAY_MS = 400  # a quick export finishes before its progress dialog would show
_UNSAFE = re.compile(r"[^\w.-]+")  # what a file name should not hold (slashes, spaces...)


@dataclass(frozen=True)
class ReportSubject:
    kind: str  # run | compare | model | audit
    subject: dict[str, Any] = field(hash=False)
    name: str  # the suggested file name, without its extension


def run_subject(run: Any, live: bool) -> ReportSubject | None:
    """A finished run's report (a live run has no final figures yet)."""
    if run is None or live:
        return None
    return ReportSubject("run", {"run_id": run.id}, f"run-{run.id}")


def compare_subject(run_a: Any, run_b: Any) -> ReportSubject:
    return ReportSubject("compare", {"run_ids": [run_a.id, run_b.id]},
                         f"compare-{run_a.id}-{run_b.id}")


def model_subject(name: str | None) -> ReportSubject | None:
    return None if name is None else ReportSubject("model", {"model": name}, f"model-{name}")


def file_stem(name: str) -> str:
    """A suggested file name: letters, digits, dot, dash and underscore only."""
    return _UNSAFE.sub("-", name).strip("-.") or "report"


def formats_for(kind: str) -> list[str]:
    """The formats this kind of report has, in the order the picker lists them."""
    allowed = []
    for fmt in FORMATS:
        try:
            check_format(kind, fmt)
        except BadInput:
            continue
        allowed.append(fmt)
    return allowed


def chosen_file(path: str, selected_filter: str, kind: str) -> tuple[Path, str]:
    """The file and its format: the extension's when it names one, else the picked
    filter's (whose extension is then added). A format the kind lacks is refused."""
    file = Path(path)
    fmt = EXTENSIONS.get(file.suffix.lower())
    if fmt is None:
        fmt = next((f for f, text in FILTERS.items() if text == selected_filter), "html")
        file = file.with_name(file.name + SUFFIX[fmt])
    check_format(kind, fmt)
    return file, fmt


def ask_save_path(parent: QWidget, caption: str, start: str, filters: list[str],
                  selected: str) -> tuple[str, str]:
    """QFileDialog's static call: (path or '', the chosen filter). Tests replace this."""
    return QFileDialog.getSaveFileName(parent, caption, start, ";;".join(filters), selected)


def run_export(store, kind: str, subject: dict[str, Any], path: Path, fmt: str, *,
               on_progress: Callable[[ExportProgress], None], cancel: Any) -> Exported:
    """The pool task: core's export, with the Qt PDF renderer when PDF is asked for."""
    render_pdf = None
    if fmt == "pdf":
        from mlops_desk.ui.report_pdf import render_pdf
    return export_report(store, kind, subject, path, fmt, render_pdf=render_pdf,
                         on_progress=on_progress, cancel=cancel)


class ReportExporter(QObject):
    """The Export logic behind one page's controls (a button, a tool-bar action)."""

    exported = Signal(object)  # Exported, once the file is in place and audited
    busy_changed = Signal(bool)

    def __init__(self, ctx: AppContext, anchor: QWidget,
                 subject: Callable[[], ReportSubject | None]):
        super().__init__(anchor)
        self.ctx = ctx
        self.anchor = anchor  # whose visibility says whether the page shows this subject
        self.subject = subject
        self.handle: TaskHandle | None = None
        self.progress: QProgressDialog | None = None
        self._label = ""  # the progress dialog's first line: what goes where
        self._cancelled = False

    @property
    def busy(self) -> bool:
        return self.handle is not None and self.handle.running

    def available(self) -> bool:
        """Whether Ctrl+E may use this exporter: its view is shown and names a subject."""
        return self.anchor.isVisible() and not self.busy and self.subject() is not None

    # -- asking for the file -----------------------------------------------------------
    def trigger(self) -> bool:
        """Ask for a file and export to it; False when there is nothing to export."""
        if self.busy:
            return True
        what = self.subject()
        if what is None:
            self.ctx.status_message.emit("Nothing to export here yet.")
            return False
        formats = formats_for(what.kind)
        last = str(self.ctx.settings.value(f"reports/format/{what.kind}", "html"))
        fmt = last if last in formats else formats[0]
        folder = str(self.ctx.settings.value(FOLDER_KEY, str(Path.home())))
        start = str(Path(folder) / f"{file_stem(what.name)}{SUFFIX[fmt]}")
        path, selected = ask_save_path(self.anchor.window(), f"Export the {NOUNS[what.kind]}",
                                       start, [FILTERS[f] for f in formats], FILTERS[fmt])
        if not path:
            return True  # the user cancelled the dialog
        try:
            file, fmt = chosen_file(path, selected, what.kind)
        except BadInput as exc:
            self.ctx.error.emit(f"Could not export the {NOUNS[what.kind]}: {exc}")
            return True
        self.ctx.settings.setValue(FOLDER_KEY, str(file.parent))
        self.ctx.settings.setValue(f"reports/format/{what.kind}", fmt)
        self.start(what, file, fmt)
        return True

    # -- the export task ---------------------------------------------------------------
    def start(self, what: ReportSubject, file: Path, fmt: str) -> TaskHandle:
        self._cancelled = False
        self.progress = self._progress_dialog(what, file)
        self.handle = self.ctx.tasks.start(
            run_export, self.ctx.store, what.kind, what.subject, file, fmt,
            on_progress=guarded(self, self._progressed),
            on_done=guarded(self, lambda result: self._finished(what, result)),
            on_error=guarded(self, lambda message: self._failed(what, message)))
        self.busy_changed.emit(True)
        return self.handle

    def cancel(self) -> None:
        if self.busy:
            self._cancelled = True
            self.handle.cancel()

    def _progress_dialog(self, what: ReportSubject, file: Path) -> QProgressDialog:
        self._label = f"Exporting the {NOUNS[what.kind]} to {file.name}…"
        dialog = QProgressDialog(self._label, "Cancel", 0, 4, self.anchor.window())
        dialog.setWindowTitle("Export report")
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.setMinimumDuration(PROGRESS_DELAY_MS)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(self.cancel)
        dialog.setValue(0)
        return dialog

    def _progressed(self, step: ExportProgress) -> None:
        if self.progress is not None:
            self.progress.setMaximum(step.total)
            self.progress.setValue(step.done)
            self.progress.setLabelText(f"{self._label}\n{step.message[:1].upper()}{step.message[1:]}…")

    def _close_progress(self) -> None:
        if self.progress is not None:
            self.progress.canceled.disconnect(self.cancel)
            self.progress.close()
            self.progress.deleteLater()
            self.progress = None
        self.busy_changed.emit(False)

    def _finished(self, what: ReportSubject, result: Exported) -> None:
        self._close_progress()
        self.ctx.status_message.emit(
            f"{NOUNS[what.kind].capitalize()} written to {result.path} ({result.format}, "
            f"{result.size:,} bytes, audit event {result.event_id})")
        self.exported.emit(result)

    def _failed(self, what: ReportSubject, message: str) -> None:
        self._close_progress()
        if self._cancelled:
            self.ctx.status_message.emit(f"Export of the {NOUNS[what.kind]} cancelled; "
                                         "nothing was written.")
        else:
            self.ctx.error.emit(f"Could not export the {NOUNS[what.kind]}: {message}")


def export_button(exporter: ReportExporter, text: str = "Export…",
                  tooltip: str = "Export as HTML, PDF, CSV, XLSX, Markdown or JSON (Ctrl+E)"
                  ) -> QToolButton:
    """A tool button that triggers ``exporter`` and is disabled while it works."""
    button = QToolButton()
    button.setText(text)
    button.setIcon(theme.icon("export"))
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    button.setToolTip(tooltip)
    button.clicked.connect(exporter.trigger)
    exporter.busy_changed.connect(lambda busy: button.setEnabled(not busy))
    return button


def export_action(exporter: ReportExporter, parent: QObject, text: str = "Export…",
                  tooltip: str = "Export as HTML, PDF, Markdown or JSON (Ctrl+E)") -> QAction:
    """The same as a tool-bar action."""
    action = QAction(theme.icon("export"), text, parent)
    action.setToolTip(tooltip)
    action.triggered.connect(lambda _=False: exporter.trigger())
    exporter.busy_changed.connect(lambda busy: action.setEnabled(not busy))
    return action


def beside(title: QLabel, control: QWidget) -> QHBoxLayout:
    """A view's title with a control at its right end."""
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(title, 1)
    row.addWidget(control)
    return row


def export_current(page: QWidget | None) -> bool:
    """Ctrl+E: trigger the first exporter of ``page`` that shows something to export."""
    if page is None:
        return False
    for exporter in page.findChildren(ReportExporter):
        if exporter.available():
            return exporter.trigger()
    return False
