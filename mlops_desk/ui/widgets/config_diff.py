"""Side-by-side diff of two version configs: prompt, template, parameters, parser.

``diff_rows`` is plain Python (difflib line opcodes per field); ``ConfigDiffView`` renders
it as one HTML table so both sides scroll together. Backgrounds are the palette's base colour
tinted towards red (removed) or green (added), so they suit light and dark themes.
"""

from __future__ import annotations

import difflib
import html
import json
from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QTextBrowser, QWidget

from mlops_desk.core.registry import Version, diff_configs
from mlops_desk.ui import theme

FIELDS = (("endpoint", "Endpoint"), ("model_id", "Model id"), ("parser", "Parser"),
          ("params", "Parameters"), ("system_prompt", "System prompt"),
          ("template", "Prompt template"))


@dataclass(frozen=True)
class DiffRow:
    field: str
    kind: str  # equal | replace | delete | insert
    left: str | None  # None: no line on this side
    right: str | None


def field_lines(config: dict[str, Any], key: str) -> list[str]:
    value = config.get(key)
    if key == "params":
        text = json.dumps(value or {}, indent=2, sort_keys=True, ensure_ascii=False)
    else:
        text = "" if value is None else str(value)
    return text.splitlines() or [""]


def diff_rows(a: dict[str, Any], b: dict[str, Any]) -> list[DiffRow]:
    rows: list[DiffRow] = []
    for key, _ in FIELDS:
        left, right = field_lines(a, key), field_lines(b, key)
        matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                rows += [DiffRow(key, tag, left[i], right[j])
                         for i, j in zip(range(i1, i2), range(j1, j2), strict=True)]
                continue
            span = max(i2 - i1, j2 - j1)
            for k in range(span):
                lhs = left[i1 + k] if i1 + k < i2 else None
                rhs = right[j1 + k] if j1 + k < j2 else None
                rows.append(DiffRow(key, tag, lhs, rhs))
    return rows


class ConfigDiffView(QTextBrowser):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        theme.code_font(self)
        self.setOpenLinks(False)
        self.rows: list[DiffRow] = []
        self.changed_fields: list[str] = []
        self.clear_diff()

    def clear_diff(self, hint: str = "Select two versions (Ctrl+click) to compare them.") -> None:
        self.rows, self.changed_fields = [], []
        self.setHtml(f"<p>{html.escape(hint)}</p>")

    def show_diff(self, a: Version, b: Version) -> None:
        self.rows = diff_rows(a.config, b.config)
        self.changed_fields = [name for name, _, _ in diff_configs(a.config, b.config)]
        self.setHtml(self._render(a, b))

    def _render(self, a: Version, b: Version) -> str:
        palette = QGuiApplication.palette()
        base = palette.color(QPalette.ColorRole.Base)
        removed = theme.tint(base, QColor(220, 50, 47), 0.28).name()
        added = theme.tint(base, QColor(40, 170, 70), 0.28).name()
        filler = theme.tint(base, palette.color(QPalette.ColorRole.Mid), 0.25).name()
        heading = palette.color(QPalette.ColorRole.AlternateBase).name()
        if self.changed_fields:
            summary = (f"<b>{len(self.changed_fields)} change(s)</b>: "
                       + html.escape(", ".join(self.changed_fields)))
        else:
            summary = "<b>Identical configuration</b> (only notes, tags or dates differ)."
        parts = [
            f"<p>{summary}</p>",
            "<table width='100%' cellspacing='0' cellpadding='3' style='border-collapse:collapse'>",
            f"<tr><th width='50%' align='left'>{html.escape(a.ref)} · {a.fingerprint[:10]}</th>"
            f"<th width='50%' align='left'>{html.escape(b.ref)} · {b.fingerprint[:10]}</th></tr>",
        ]
        titles = dict(FIELDS)
        current = None
        for row in self.rows:
            if row.field != current:
                current = row.field
                mark = " (changed)" if any(f == current or f.startswith(current + ".")
                                           for f in self.changed_fields) else ""
                parts.append(f"<tr><td colspan='2' bgcolor='{heading}'><b>"
                             f"{titles[current]}{mark}</b></td></tr>")
            left_bg = filler if row.left is None else (removed if row.kind != "equal" else "")
            right_bg = filler if row.right is None else (added if row.kind != "equal" else "")
            parts.append("<tr>" + _cell(row.left, left_bg) + _cell(row.right, right_bg) + "</tr>")
        parts.append("</table>")
        return "".join(parts)


def _cell(text: str | None, bgcolor: str) -> str:
    colour = f" bgcolor='{bgcolor}'" if bgcolor else ""
    body = html.escape(text) if text else "&nbsp;"
    return (f"<td{colour} style='white-space:pre-wrap; font-family:monospace'>{body}</td>")
