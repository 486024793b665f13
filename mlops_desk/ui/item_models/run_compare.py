"""Tables of a two-run comparison: metric deltas and the rows that flipped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QColor

from mlops_desk.core import metric_catalogue
from mlops_desk.core.reports.compare_report import delta_rows
from mlops_desk.ui import format as fmt
from mlops_desk.ui.item_models.run_queries import Comparison, FlippedRow
from mlops_desk.ui.item_models.run_table import Column, RecordTableModel

GOOD, BAD = QColor(30, 140, 60), QColor(200, 40, 40)



@dataclass(frozen=True)
class MetricDelta:
    """One row of the comparison table; label, unit and direction come from the catalogue."""

    key: str
    label: str
    a: float | None
    b: float | None
    delta: float | None

    @property
    def info(self) -> metric_catalogue.MetricInfo:
        return metric_catalogue.info(self.key)


def metric_deltas(comparison: Comparison) -> list[MetricDelta]:
    """The headline metrics a report's comparison shows, in the same order."""
    a, b = comparison.a.metrics or {}, comparison.b.metrics or {}
    rows = delta_rows(a, b, comparison.result.get("deltas", {}))
    return [MetricDelta(r["key"], r["label"], r["a"], r["b"], r["delta"]) for r in rows]


def _delta_color(d: MetricDelta) -> Any:
    direction = d.info.direction(d.delta)
    return GOOD if direction == "better" else BAD if direction == "worse" else None


class CompareMetricsModel(RecordTableModel[MetricDelta]):
    columns = (
        Column("Metric", lambda d: d.label, sort=lambda d: d.label),
        Column("A", lambda d: d.info.format(d.a), sort=lambda d: d.a, align_right=True),
        Column("B", lambda d: d.info.format(d.b), sort=lambda d: d.b, align_right=True),
        Column("B − A", lambda d: d.info.format_delta(d.delta),
               sort=lambda d: d.delta, align_right=True, foreground=_delta_color),
    )


class FlippedRowsModel(RecordTableModel[FlippedRow]):
    columns = (
        Column("Row", lambda f: str(f.row_idx), sort=lambda f: f.row_idx, align_right=True),
        Column("Change", lambda f: "wrong → right" if f.to_right else "right → wrong",
               foreground=lambda f: GOOD if f.to_right else BAD),
        Column("Expected", lambda f: f.expected or fmt.DASH),
        Column("A predicted", lambda f: f.prediction_a or fmt.DASH),
        Column("B predicted", lambda f: f.prediction_b or fmt.DASH),
        Column("Input", lambda f: " ".join(f.input.split())[:300], tooltip=lambda f: f.input),
    )
