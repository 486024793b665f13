"""The drift panel: production traffic against the deployed version's reference run.

Shows the verdict (a warning strip when drifting), the statistics next to the thresholds
that raise the alarm, and the label distribution of both sides. The audit event for a
drift is written by core (``monitoring.record_drift``, on a fixed window), not here.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mlops_desk.core.monitoring import DriftReport, DriftThresholds
from mlops_desk.ui import format as fmt
from mlops_desk.ui import theme
from mlops_desk.ui.item_models.monitor_drift import DriftLabelsModel
from mlops_desk.ui.widgets.status_line import StatusLine
from mlops_desk.ui.widgets.table_columns import column_fitter, readable_table

_KIND = {"ok": "ok", "drift": "warning"}


def fit_rows(view: QTableView, rows: int, most: int = 4) -> None:
    """As tall as its rows (up to ``most``, then it scrolls): no empty box under two rows.
    Room for the sideways scroll bar too when the columns are wider than the panel, so the
    last row is not hidden under it."""
    fitter = column_fitter(view)
    if fitter is not None:
        fitter.fit()  # the column widths now, not on the next event-loop turn
    shown = max(1, min(rows, most))
    wide = view.horizontalHeader().length() > view.viewport().width()
    view.setFixedHeight(view.horizontalHeader().sizeHint().height()
                        + shown * view.verticalHeader().defaultSectionSize()
                        + 2 * view.frameWidth()
                        + (view.horizontalScrollBar().sizeHint().height() if wide else 0))


def _p(value: float | None) -> str:
    return fmt.DASH if value is None else f"{value:.3g}"


def verdict_text(report: DriftReport) -> str:
    ref = f"v{report.version}" if report.version is not None else ""
    if report.status == "drift":  # the page's banner carries the full reasons
        signals = [name for name, key in (("output labels", "output labels drifted"),
                                          ("input length", "input length drifted"))
                   if any(r.startswith(key) for r in report.reasons)]
        return (f"Drift in {report.environment} ({ref}, reference run "
                f"{report.reference_run_id}): {' and '.join(signals) or 'see above'}.")
    if report.status == "ok":
        return (f"No drift in {report.environment} ({ref}): traffic looks like reference run "
                f"{report.reference_run_id}.")
    if report.status == "nothing deployed":
        return f"Nothing is deployed to {report.environment}: deploy a version to compare."
    if report.status == "no reference":
        return (f"{report.environment} serves {ref}, which has no completed run to compare "
                "traffic with.")
    return "Not enough data yet: " + "; ".join(report.reasons)


class DriftPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.report: DriftReport | None = None
        title = QLabel("Drift")
        theme.section_title(title)
        self.verdict = StatusLine()
        self.labels_line = QLabel(fmt.DASH)
        self.length_line = QLabel(fmt.DASH)
        self.samples_line = QLabel(fmt.DASH)
        for label in (self.labels_line, self.length_line, self.samples_line):
            label.setWordWrap(True)
        figures = QFormLayout()
        figures.addRow("Output labels", self.labels_line)
        figures.addRow("Input length", self.length_line)
        figures.addRow("Samples", self.samples_line)
        self.rule_line = QLabel()  # why a tiny p can sit next to "No drift"
        self.rule_line.setObjectName("hint")
        self.rule_line.setWordWrap(True)
        self.counts = DriftLabelsModel(self)
        self.table = QTableView()
        self.table.setModel(self.counts)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        readable_table(self.table, minimum=40)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.verdict)
        layout.addLayout(figures)
        layout.addWidget(self.rule_line)
        layout.addWidget(self.table)
        layout.addStretch(1)

    @property
    def drifting(self) -> bool:
        return self.report is not None and self.report.drifting

    def set_report(self, report: DriftReport, thresholds: DriftThresholds) -> None:
        self.report = report
        t = thresholds
        self.verdict.set(_KIND.get(report.status, "info"), verdict_text(report))
        self.rule_line.setText(t.rule())
        if report.psi is not None:
            self.labels_line.setText(
                f"PSI {report.psi:.3f} (alarm ≥ {t.psi_min:g}) · χ² {report.chi2:.2f}, "
                f"df {report.chi2_df}, p {_p(report.chi2_p)} (alarm < {t.alpha:g})")
        else:
            self.labels_line.setText(f"{fmt.DASH} (needs labels and {t.min_samples} samples "
                                     "on each side)")
        if report.ks_d is not None:
            self.length_line.setText(f"KS D {report.ks_d:.3f} (alarm ≥ {t.ks_d_min:g}) · "
                                     f"p {_p(report.ks_p)} (alarm < {t.alpha:g})")
        else:
            self.length_line.setText(fmt.DASH)
        reference = (f"{report.n_reference:,} rows in reference run {report.reference_run_id}"
                     if report.reference_run_id else "no reference run")
        self.samples_line.setText(f"{reference} · {report.n_production:,} production requests")
        self.counts.set_counts(report.label_counts)
        fit_rows(self.table, self.counts.rowCount(), most=10)
