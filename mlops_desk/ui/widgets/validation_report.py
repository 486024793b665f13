"""A dataset's validation report as readable HTML: status, warnings first, then the facts."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtGui import QGuiApplication, QPalette

from mlops_desk.core.datasets import Dataset
from mlops_desk.ui import format as fmt
from mlops_desk.ui import theme

MAX_LABELS = 20


def report_html(dataset: Dataset) -> str:
    report: dict[str, Any] = dataset.validation or {}
    warnings = report.get("warnings") or []
    errors = report.get("errors") or []
    warn = theme.warning_color().name()
    bad = theme.error_color().name()
    good = theme.ok_color().name()
    if errors:
        status = f"<span style='color:{bad}'><b>Not usable</b></span>"
    elif warnings:
        status = (f"<span style='color:{warn}'><b>Usable, {len(warnings)} warning"
                  f"{'s' if len(warnings) != 1 else ''}</b></span>")
    else:
        status = f"<span style='color:{good}'><b>OK: no problems found</b></span>"
    expected = dataset.expected_col or "(none: outputs are not scored)"
    parts = [
        f"<h3>{html.escape(dataset.name)}</h3>",
        f"<p>{status}</p>",
        "<table cellpadding='2'>",
        _row("Rows", f"{dataset.n_rows:,}"),
        _row("Inputs", html.escape(", ".join(dataset.input_cols))),
        _row("Expected", html.escape(expected)),
        _row("Source", html.escape(dataset.source_name)),
        # Reports from before encodings were recorded (and XLSX, Parquet) have none.
        _row("Encoding", html.escape(report["encoding"])) if report.get("encoding") else "",
        _row("Imported", f"{fmt.timestamp(dataset.created_at)} by "
                         f"{html.escape(dataset.created_by)}"),
        _row("SHA-256", f"<code>{dataset.sha256[:16]}…</code>"),
        "</table>",
    ]
    if errors or warnings:
        parts.append("<p><b>Problems</b></p><ul>")
        parts += [f"<li><span style='color:{bad}'>error:</span> {html.escape(e)}</li>"
                  for e in errors]
        parts += [f"<li><span style='color:{warn}'>⚠</span> {html.escape(w)}</li>"
                  for w in warnings]
        parts.append("</ul>")
    missing = {c: n for c, n in (report.get("missing") or {}).items() if n}
    if missing:
        parts.append("<p><b>Missing values</b>: " + html.escape(
            ", ".join(f"{c} {n:,}" for c, n in missing.items())) + "</p>")
    parts.append(_labels_html(report.get("labels")))
    return "".join(parts)


def _row(name: str, value: str) -> str:
    return f"<tr><td><b>{name}</b></td><td>{value}</td></tr>"


def _labels_html(labels: dict[str, Any] | None) -> str:
    if not labels or not labels.get("n_distinct"):
        return ""
    if labels.get("kind") != "classes":
        return (f"<p><b>Expected values</b>: {labels['n_distinct']:,} distinct "
                "(free text, no class balance)</p>")
    counts: dict[str, int] = labels.get("counts") or {}
    total = sum(counts.values()) or 1
    bar = QGuiApplication.palette().color(QPalette.ColorRole.Highlight).name()
    rows = []
    for label, n in list(counts.items())[:MAX_LABELS]:
        width = max(1, round(160 * n / total))
        rows.append(f"<tr><td>{html.escape(label)}</td><td align='right'>{n:,}</td>"
                    f"<td align='right'>{n / total:.1%}</td>"
                    f"<td><table cellspacing='0' cellpadding='0'><tr>"
                    f"<td width='{width}' height='10' bgcolor='{bar}'></td></tr></table></td>"
                    "</tr>")
    more = (f"<p>… {len(counts) - MAX_LABELS} more classes</p>"
            if len(counts) > MAX_LABELS else "")
    return ("<p><b>Classes</b></p><table cellpadding='2'><tr><th align='left'>label</th>"
            "<th>rows</th><th>share</th><th></th></tr>" + "".join(rows) + "</table>" + more)
