"""CSV and XLSX of the per-row table.

The XLSX has the rows on a ``rows`` sheet with a frozen, bold header and fitted column
widths, and a ``summary`` sheet with the report's facts (title, subject, export time, audit
head, metrics or deltas). CSV holds only the rows: a trailing comment would break CSV
readers; its export event in the audit log records what it is.

Both are written in one pass by the standard library (``csv``) and ``xlsx`` (a small
SpreadsheetML writer): pandas' and openpyxl's writers took several seconds for a
10,000-row run; pandas and openpyxl read the files back in the tests. The cells come
scrubbed and neutralised from ``row_table``.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from mlops_desk.core.reports.row_table import finish
from mlops_desk.core.reports.xlsx import Sheet, write_xlsx

MAX_WIDTH = 60


def render_csv(columns: list[str], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    # utf-8 with a BOM so spreadsheet programs pick the right encoding on open.
    return buffer.getvalue().encode("utf-8-sig")


def render_xlsx(columns: list[str], rows: list[list[Any]], report: dict[str, Any]) -> bytes:
    widths = [_width(name, (row[i] for row in rows[:500])) for i, name in enumerate(columns)]
    summary = finish([[key, value] for key, value in summary_rows(report)])
    return write_xlsx([Sheet("rows", columns, rows, widths),
                       Sheet("summary", ["fact", "value"], summary, [28, 70])])


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


def _width(name: str, values) -> float:
    longest = max([len(name), *(len(str(v)) for v in values if v is not None)])
    return float(min(MAX_WIDTH, max(8, longest + 2)))
