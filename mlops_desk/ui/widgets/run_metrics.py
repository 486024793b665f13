"""A run's headline metrics as a grid of small captioned values."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from mlops_desk.core import metric_catalogue
from mlops_desk.ui import format as fmt
from mlops_desk.ui import theme

COLUMNS = 5


def _f1(value: float | None) -> str:
    return fmt.DASH if value is None else f"{value:.3f}"


def _rate(value: float | None) -> str:
    return fmt.DASH if value is None else f"{value:,.1f}"


def _tokens(m: dict[str, Any]) -> str:
    if m.get("tokens_in") is None and m.get("tokens_out") is None:
        return fmt.DASH
    return f"{m.get('tokens_in') or 0:,} in · {m.get('tokens_out') or 0:,} out"


def _card(key: str, show) -> tuple:
    """A card of one metric: its caption and tooltip are the catalogue's."""
    metric = metric_catalogue.info(key)
    return metric.label, lambda m: show(m.get(key)), metric.description


# (caption, formatter of the metrics dict, tooltip)
CARDS = (
    ("Accuracy (95% CI)", lambda m: fmt.accuracy_with_interval(
        m.get("accuracy"), m.get("accuracy_ci_low"), m.get("accuracy_ci_high")),
     "Share of scored rows answered right; the Wilson score interval shows how sure "
     "that is for this many rows. Failed rows count as wrong."),
    _card("macro_f1", _f1),
    _card("micro_f1", _f1),
    _card("error_rate", fmt.percent),
    ("Rows scored", lambda m: f"{m.get('n_scored', 0):,} of {m.get('n_rows', 0):,}",
     "Rows with an expected answer to score against"),
    _card("latency_p50_ms", fmt.millis),
    _card("latency_p95_ms", fmt.millis),
    _card("latency_p99_ms", fmt.millis),
    _card("rows_per_s", lambda value: f"{_rate(value)} rows/s"),
    _card("n_cached", lambda value: f"{value or 0:,}"),
    # Tokens first in its row: it shares the first column with the accuracy, the other wide
    # value, so the cards need less width together.
    ("Tokens", _tokens, "Prompt and completion tokens of sent rows"),
    _card("total_cost", fmt.cost),
    _card("cost_per_1k", fmt.cost),
)


# Wide but ordinary values: each card is as wide as its value for these, whatever it shows.
# A card that resized with its text would re-lay out the whole run view (and repaint its
# results table) each second while a run updates its metrics so far.
ROOMY = {"accuracy": 0.999, "accuracy_ci_low": 0.998, "accuracy_ci_high": 1.0,
         "macro_f1": 0.999, "micro_f1": 0.999, "error_rate": 0.999, "n_scored": 100_000,
         "n_rows": 100_000, "latency_p50_ms": 99_999, "latency_p95_ms": 99_999,
         "latency_p99_ms": 99_999, "rows_per_s": 9_999.9, "n_cached": 100_000,
         "total_cost": 999.99, "cost_per_1k": 99.99, "tokens_in": 9_999_999,
         "tokens_out": 999_999}


class RunMetricsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(8)
        self._values: dict[str, QLabel] = {}
        for i, (caption, render, tip) in enumerate(CARDS):
            # A framed card on the palette's alternate base, drawn by the native style: under
            # the style sheet, the relayout of its labels at each update of a live run took
            # up to 13 ms of the GUI thread (bench/bench_gui_stall.py).
            card = QFrame()
            card.setFrameShape(QFrame.Shape.StyledPanel)
            card.setBackgroundRole(QPalette.ColorRole.AlternateBase)
            card.setAutoFillBackground(True)
            card.setToolTip(tip)
            box = QVBoxLayout(card)
            box.setContentsMargins(8, 5, 8, 5)
            box.setSpacing(1)
            title = QLabel(caption)
            font = title.font()
            font.setPointSizeF(font.pointSizeF() * 0.9)
            title.setFont(font)
            title.setEnabled(False)  # the palette's muted text colour
            value = QLabel(fmt.DASH)
            theme.section_title(value)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            value.setMinimumWidth(value.fontMetrics().horizontalAdvance(render(ROOMY)) + 2)
            box.addWidget(title)
            box.addWidget(value)
            grid.addWidget(card, i // COLUMNS, i % COLUMNS)
            self._values[caption] = value
        for column in range(COLUMNS):
            grid.setColumnStretch(column, 1)

    def set_metrics(self, metrics: dict[str, Any] | None) -> None:
        metrics = metrics or {}
        for caption, render, _ in CARDS:
            self._values[caption].setText(render(metrics) if metrics else fmt.DASH)

    def value(self, caption: str) -> str:
        return self._values[caption].text()
