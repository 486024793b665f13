"""Tables of a two-run comparison: metric deltas and the rows that flipped."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QColor

from mlops_desk.ui import format as fmt
from mlops_desk.ui.models.run_queries import Comparison, FlippedRow
from mlops_desk.ui.models.run_table import Column, RecordTableModel

GOOD, BAD = QColor(30, 140, 60), QColor(200, 40, 40)

# (metric key, label, kind, higher is better)
COMPARED = (
    ("accuracy", "Accuracy", "pct", True),
    ("accuracy_ci_low", "Accuracy, CI low", "pct", True),
    ("accuracy_ci_high", "Accuracy, CI high", "pct", True),
    ("macro_f1", "Macro F1", "ratio", True),
    ("micro_f1", "Micro F1", "ratio", True),
    ("error_rate", "Error rate", "pct", False),
    ("latency_p50_ms", "Latency p50", "ms", False),
    ("latency_p95_ms", "Latency p95", "ms", False),
    ("latency_p99_ms", "Latency p99", "ms", False),
    ("rows_per_s", "Rows / s", "num", True),
    ("total_cost", "Total cost", "usd", False),
    ("cost_per_1k", "Cost / 1k rows", "usd", False),
    ("n_rows", "Rows", "int", None),
    ("n_errors", "Errors", "int", False),
)


@dataclass(frozen=True)
class MetricDelta:
    key: str
    label: str
    kind: str
    better_up: bool | None
    a: float | None
    b: float | None
    delta: float | None


def format_value(kind: str, value: float | None, *, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return fmt.DASH
    sign = "+" if signed and value > 0 else ""
    if kind == "pct":
        return f"{sign}{value * 100:.1f} pts" if signed else fmt.percent(value)
    if kind == "ms":
        return f"{sign}{value:,.1f} ms"
    if kind == "usd":
        return f"{sign}${value:,.4f}"
    if kind == "int":
        return f"{sign}{value:,.0f}"
    if kind == "ratio":
        return f"{sign}{value:.3f}"
    return f"{sign}{value:,.1f}"


def metric_deltas(comparison: Comparison) -> list[MetricDelta]:
    a, b = comparison.a.metrics or {}, comparison.b.metrics or {}
    deltas = comparison.result.get("deltas", {})
    return [MetricDelta(key, label, kind, better, a.get(key), b.get(key), deltas.get(key))
            for key, label, kind, better in COMPARED if key in a or key in b]


def _delta_color(d: MetricDelta) -> Any:
    if d.delta is None or d.better_up is None or d.delta == 0:
        return None
    return GOOD if (d.delta > 0) == d.better_up else BAD


class CompareMetricsModel(RecordTableModel[MetricDelta]):
    columns = (
        Column("Metric", lambda d: d.label, sort=lambda d: d.label),
        Column("A", lambda d: format_value(d.kind, d.a), sort=lambda d: d.a, align_right=True),
        Column("B", lambda d: format_value(d.kind, d.b), sort=lambda d: d.b, align_right=True),
        Column("B − A", lambda d: format_value(d.kind, d.delta, signed=True),
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
