"""One result row in full: input, messages sent, raw reply, prediction and score, each try.

Every text has a Copy button; the panel only draws a ``row_detail.RowDetail`` loaded off
the GUI thread.
"""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mlops_desk.core.row_detail import RowDetail
from mlops_desk.ui import format as fmt
from mlops_desk.ui import theme

# (key, caption): the order the panel shows them
SECTIONS = (
    ("input", "Input"), ("messages", "Messages sent"), ("output", "Raw response"),
    ("prediction", "Parsed prediction and score"), ("tries", "Tries"),
)


def section_texts(detail: RowDetail) -> dict[str, str]:
    """The text of each section (what Copy puts on the clipboard)."""
    data = detail.input
    input_text = (str(next(iter(data.values()))) if len(data) == 1
                  else "\n".join(f"{k}: {v}" for k, v in data.items()))
    messages = "\n\n".join(f"[{m.get('role')}]\n{m.get('content')}" for m in detail.messages)
    verdict = ("error" if detail.error_class else fmt.DASH if detail.correct is None
               else "right" if detail.correct else "wrong")
    score = fmt.DASH if detail.score is None else f"{detail.score:g}"
    prediction = (f"prediction: {fmt.DASH if detail.prediction is None else detail.prediction}"
                  f"\nexpected: {fmt.DASH if detail.expected is None else detail.expected}"
                  f"\nresult: {verdict} · score {score}"
                  + (f"\nerror: {detail.error_class}: {detail.error_message}"
                     if detail.error_class else ""))
    return {
        "input": input_text, "messages": messages,
        "output": detail.output if detail.output is not None else "(no response)",
        "prediction": prediction, "tries": tries_text(detail),
    }


def tries_text(detail: RowDetail) -> str:
    if detail.cached:
        return "answered from the response cache (no request sent)"
    lines = []
    for n, attempt in enumerate(detail.tries, 1):
        latency = fmt.millis(attempt.get("latency_ms"))
        if attempt.get("summary_of"):  # a row stored before tries were recorded
            n = f"1-{attempt['summary_of']}" if attempt["summary_of"] > 1 else 1
        outcome = (f"{attempt['error_class']}: {attempt.get('error') or ''}".rstrip(": ")
                   if attempt.get("error_class") else "answered")
        lines.append(f"try {n}: {latency} · {outcome}")
    return "\n".join(lines) or "(no tries recorded)"


class RowDetailPanel(QScrollArea):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.detail: RowDetail | None = None
        self._texts: dict[str, str] = {}
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        self.heading = QLabel()
        theme.section_title(self.heading)
        layout.addWidget(self.heading)
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        self.views: dict[str, QPlainTextEdit] = {}
        self.copy_buttons: dict[str, QToolButton] = {}
        for i, (key, caption) in enumerate(SECTIONS):
            label = QLabel(caption)
            view = QPlainTextEdit()
            view.setReadOnly(True)
            view.setMaximumHeight(110)
            button = QToolButton()
            button.setText("Copy")
            button.setToolTip(f"Copy the {caption.lower()} to the clipboard")
            button.clicked.connect(lambda _=False, k=key: self.copy(k))
            grid.addWidget(label, 2 * i, 0)
            grid.addWidget(button, 2 * i, 1)
            grid.addWidget(view, 2 * i + 1, 0, 1, 2)
            self.views[key], self.copy_buttons[key] = view, button
        layout.addLayout(grid)
        layout.addStretch(1)
        self.setWidget(body)

    def show_detail(self, detail: RowDetail) -> None:
        self.detail = detail
        self._texts = section_texts(detail)
        self.heading.setText(f"Row {detail.row_idx}")
        for key, view in self.views.items():
            view.setPlainText(self._texts[key])

    def clear(self) -> None:
        self.detail, self._texts = None, {}
        self.heading.setText("")
        for view in self.views.values():
            view.clear()

    def copy(self, key: str) -> None:
        if key in self._texts:
            QGuiApplication.clipboard().setText(self._texts[key])

    def text(self, key: str) -> str:
        return self._texts.get(key, "")
