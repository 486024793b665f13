"""The Audit page: the change log with search and a time range, its chain check, and export.

Every query is a task (``core.audit_search``); the page reloads each time it is shown, since
every change anywhere appends events. Verify runs ``audit.verify`` (the whole chain against
the key and the checkpoint) and shows its one-line verdict and the head hash; a broken
event is marked in the table. Export writes the audit report of the shown time range
(the search words narrow the table only: the report lists the whole range).
"""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, timedelta

from PySide6.QtCore import QDate, QDateTime, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mlops_desk.core import audit
from mlops_desk.core.audit_search import EventSearch, search_events
from mlops_desk.ui import theme
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.item_models.audit_events import DETAILS, AuditEventsModel
from mlops_desk.ui.loader import LatestLoad, StaleFlag, guarded
from mlops_desk.ui.pages.base import Page
from mlops_desk.ui.report_export import ReportExporter, ReportSubject, export_button
from mlops_desk.ui.widgets.status_line import StatusLine
from mlops_desk.ui.widgets.table_columns import readable_table

SEARCH_DELAY_MS = 250
# (label, how far back) for the range picker; None: all time; "dates": the two date fields.
RANGES = (("All time", None), ("Last 24 hours", timedelta(days=1)),
          ("Last 7 days", timedelta(days=7)), ("Last 30 days", timedelta(days=30)),
          ("Between dates (UTC)", "dates"))
BETWEEN = len(RANGES) - 1


class AuditPage(Page):
    title = "Audit"
    icon_name = "audit"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self._load = LatestLoad(ctx, self)
        self._verify = LatestLoad(ctx, self)
        self.search_result: EventSearch | None = None
        self._stale = StaleFlag(self, self.reload)
        for signal in (ctx.registry_changed, ctx.datasets_changed, ctx.runs_changed,
                       ctx.deployments_changed):
            signal.connect(self._stale.mark)
        self._build()

    def _build(self) -> None:
        heading = QLabel(self.title)
        theme.page_title(heading)
        self.verify_button = QPushButton(theme.icon("ok"), "Verify")
        self.verify_button.setToolTip("Check the whole hash chain against the audit key and "
                                      "the checkpoint kept outside the database")
        self.verify_button.clicked.connect(self.verify)
        self.exporter = ReportExporter(self.ctx, self, self.report_subject)
        self.exporter.exported.connect(lambda _result: self.reload())
        self.export_button = export_button(
            self.exporter, tooltip="Export the audit report of this time range as HTML, PDF, "
                                   "Markdown or JSON (Ctrl+E)")
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addStretch(1)
        top.addWidget(self.verify_button)
        top.addWidget(self.export_button)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search action, subject, user, details or event id")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.reload)
        self.search.textChanged.connect(self._search_timer.start)
        self.range_box = QComboBox()
        for text, _ in RANGES:
            self.range_box.addItem(text)
        self.range_box.currentIndexChanged.connect(self._range_changed)
        today = QDateTime.currentDateTimeUtc().date()
        self.from_date = self._date_edit(today.addDays(-30))
        self.to_date = self._date_edit(today)
        self.count_label = QLabel()
        self.count_label.setObjectName("hint")
        filters = QHBoxLayout()
        filters.addWidget(self.search, 2)
        filters.addWidget(self.range_box)
        filters.addWidget(self.from_date)
        self.to_label = QLabel("to")
        filters.addWidget(self.to_label)
        filters.addWidget(self.to_date)
        filters.addWidget(self.count_label, 1, Qt.AlignmentFlag.AlignRight)
        self._range_changed(0)

        self.verdict = StatusLine()
        self.verdict.label.setTextFormat(Qt.TextFormat.RichText)  # the head in <code>
        self.verdict.set("info", "Not verified yet: Verify checks every event of the log.")
        self.model = AuditEventsModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        readable_table(self.table, stretch=DETAILS)  # sized to content, tooltips on cut cells
        self.problem = StatusLine()  # a bad date range or a failed query
        self.problem.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addLayout(top)
        layout.addWidget(self.verdict)
        layout.addLayout(filters)
        layout.addWidget(self.problem)
        layout.addWidget(self.table, 1)

    def _date_edit(self, value: QDate) -> QDateEdit:
        edit = QDateEdit(value)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.dateChanged.connect(lambda _d: self.reload())
        return edit

    # -- Page interface ----------------------------------------------------------------
    def activated(self) -> None:
        self._stale.refresh()  # any change elsewhere appended events: always reload

    def focus_filter(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    # -- the range and the search --------------------------------------------------------
    def _range_changed(self, index: int) -> None:
        between = index == BETWEEN
        for widget in (self.from_date, self.to_label, self.to_date):
            widget.setVisible(between)
        if self.isVisible():
            self.reload()

    def time_range(self) -> tuple[str | None, str | None]:
        """(since, until) as core takes them: UTC, ``until`` exclusive."""
        back = RANGES[self.range_box.currentIndex()][1]
        if back == "dates":
            first = _py_date(self.from_date.date())
            last = _py_date(self.to_date.date())
            return first.isoformat(), (last + timedelta(days=1)).isoformat()
        if back is None:
            return None, None
        return (datetime.now(UTC) - back).isoformat(timespec="seconds"), None

    def reload(self) -> None:
        self._search_timer.stop()
        since, until = self.time_range()
        self._load.start(search_events, self.ctx.store, text=self.search.text(), since=since,
                         until=until, on_done=self._loaded,
                         on_error=guarded(self, self._load_failed))

    def _loaded(self, result: EventSearch) -> None:
        self.search_result = result
        self.problem.hide()
        self.model.set_events(result.events)
        shown = len(result.events)
        noun = "event" if result.total == 1 else "events"
        self.count_label.setText(f"{result.total:,} {noun}" if not result.truncated else
                                 f"newest {shown:,} of {result.total:,} {noun}")

    def _load_failed(self, message: str) -> None:
        self.problem.set("error", message)
        self.problem.show()
        self.model.set_events([])
        self.count_label.clear()

    # -- verify ------------------------------------------------------------------------
    def verify(self) -> None:
        self.verify_button.setEnabled(False)
        self.verdict.set("info", "Verifying the audit log…")
        self._verify.start(audit.verify, self.ctx.store, on_done=self._verified,
                           on_error=guarded(self, self._verify_failed))

    def _verified(self, result: audit.VerifyResult) -> None:
        self.verify_button.setEnabled(True)
        if result.ok:
            self.verdict.set("ok", f"{html.escape(result.summary())}.<br>"
                                   f"Head: <code>{result.head}</code>")
        else:
            self.verdict.set("error", html.escape(result.summary()))
        self.model.set_bad_id(result.first_bad_id if not result.ok else None)

    def _verify_failed(self, message: str) -> None:
        self.verify_button.setEnabled(True)
        self.verdict.set("error", html.escape(f"Could not verify the audit log: {message}"))

    # -- export ------------------------------------------------------------------------
    def report_subject(self) -> ReportSubject:
        since, until = self.time_range()
        if since is None:
            name = "audit"
        else:
            end = (date.fromisoformat(until[:10]) - timedelta(days=1)).isoformat() \
                if until else datetime.now(UTC).date().isoformat()
            name = f"audit-{since[:10]}-to-{end}"
        return ReportSubject("audit", {"since": since, "until": until}, name)


def _py_date(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())
