"""CSV and XLSX of the per-row table (pandas for CSV, openpyxl's streaming writer for XLSX).

The XLSX has the rows on a ``rows`` sheet with a frozen header and fitted column widths,
and a ``summary`` sheet with the report's facts (title, subject, export time, audit head,
headline metrics or deltas). CSV holds only the rows: a trailing comment would break CSV
readers; its export event in the audit log records what it is.
"""

from __future__ import annotations

import io
from typing import Any

from mlops_desk.core.reports.row_table import neutralise

MAX_WIDTH = 60


def render_csv(columns: list[str], rows: list[list[Any]]) -> bytes:
    import pandas as pd

    frame = pd.DataFrame(rows, columns=columns)
    # utf-8 with a BOM so spreadsheet programs pick the right encoding on open.
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8-sig")


def render_xlsx(columns: list[str], rows: list[list[Any]], report: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    sheet = book.create_sheet("rows")
    sheet.freeze_panes = "A2"
    for i, name in enumerate(columns):
        sheet.column_dimensions[_letter(i)].width = _width(name, (row[i] for row in rows[:500]))
    sheet.append([_bold(sheet, name, bold, WriteOnlyCell) for name in columns])
    for row in rows:
        sheet.append([_xml_safe(v) for v in row])
    summary = book.create_sheet("summary")
    summary.column_dimensions["A"].width = 28
    summary.column_dimensions["B"].width = 70
    for key, value in summary_rows(report):
        summary.append([_bold(summary, key, bold, WriteOnlyCell), _xml_safe(neutralise(value))])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def summary_rows(report: dict[str, Any]) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        ("title", report["title"]), ("kind", report["kind"]), ("subject", report["subject"]),
        ("exported (UTC)", report["generated_at"]), ("generator", report["generator"]),
        ("schema version", report["schema_version"]),
        ("audit head event", report["audit_head"]["event_id"]),
        ("audit head hash", report["audit_head"]["hash"]),
    ]
    if report["kind"] == "run":
        rows += [("dataset", report["dataset"]["name"]),
                 ("dataset sha256", report["dataset"]["sha256"]),
                 ("version", report["version"]["ref"]),
                 ("fingerprint", report["version"]["fingerprint"])]
        rows += [(m["label"], m["value"]) for m in report["metrics"]]
    elif report["kind"] == "compare":
        rows += [("run A", f"{report['run_a']['id']} ({report['run_a']['version']})"),
                 ("run B", f"{report['run_b']['id']} ({report['run_b']['version']})"),
                 ("dataset", report["dataset"]["name"]),
                 ("McNemar p-value", report["mcnemar"]["p_value"]),
                 ("verdict", report["mcnemar"]["meaning"])]
        rows += [(f"{d['label']} (B - A)", d["delta"]) for d in report["deltas"]]
    return rows


def _xml_safe(value: Any) -> Any:
    """XLSX is XML: control characters (other than tab and newlines) are dropped."""
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _bold(sheet, value: Any, font, cell_type):
    cell = cell_type(sheet, value=value)
    cell.font = font
    return cell


def _width(name: str, values) -> float:
    longest = max([len(name), *(len(str(v)) for v in values if v is not None)])
    return float(min(MAX_WIDTH, max(8, longest + 2)))


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)
