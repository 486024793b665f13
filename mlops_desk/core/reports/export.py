"""Export a report to a file, record it in the audit log, and recognise it later.

``export_report`` builds the report's facts from what is stored, renders one format,
writes the file atomically (a temporary file in the same folder, then ``os.replace``: a
reader sees the old file or the whole new one) and appends a ``report.exported`` audit
event with the kind, subject, format, file name, size and sha256 of the bytes written.
``find_export`` looks a file's sha256 up among those events: a file edited after export
(or never exported from this registry) has no event.

Long work follows the core protocol (``core.work``): ``on_progress`` gets one ``Progress``
per stage, ``cancel`` (a ``CancelToken``) is checked between stages, and
failures are one-line ``MlopsError``s. PDF needs Qt, which core must not import: the
caller passes ``render_pdf`` (``mlops_desk.ui.report_pdf.render_pdf``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlops_desk.core import audit, work
from mlops_desk.core.errors import BadInput
from mlops_desk.core.store import Store

FORMATS = ("html", "pdf", "csv", "xlsx", "md", "json")
ROW_FORMATS = ("csv", "xlsx")  # per-row tables: only a run or a comparison has rows
EXTENSIONS = {".html": "html", ".htm": "html", ".pdf": "pdf", ".csv": "csv", ".xlsx": "xlsx",
              ".md": "md", ".markdown": "md", ".json": "json"}
ACTION = "report.exported"


ExportProgress = work.Progress  # one stage of an export: done of total, and what


@dataclass(frozen=True)
class Exported:
    path: str
    kind: str
    subject: str
    format: str
    sha256: str
    size: int
    event_id: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ExportCancelled(work.Cancelled):
    """A cancelled export: nothing was written or recorded."""


def format_for(path: str | Path, fmt: str | None) -> str:
    """The format asked for, else the one the file name's extension names."""
    if fmt:
        if fmt not in FORMATS:
            raise BadInput(f"unknown report format {fmt!r}: use one of {', '.join(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise BadInput(f"cannot tell the report format from {Path(path).name!r}: name the file "
                       f"with one of {', '.join(sorted(EXTENSIONS))} or give the format")
    return EXTENSIONS[suffix]


def check_format(kind: str, fmt: str) -> None:
    if fmt in ROW_FORMATS and kind not in ("run", "compare"):
        raise BadInput(f"{fmt} holds per-row results, which only a run or a comparison has; "
                       f"export the {kind} report as html, pdf, md or json")


def build_report(store: Store, kind: str, subject: dict[str, Any]) -> dict[str, Any]:
    """The report's facts; ``subject`` holds run_id, run_ids, model or since/until."""
    if kind == "run":
        from mlops_desk.core.reports.run_report import build_run_report

        return build_run_report(store, subject["run_id"])
    if kind == "compare":
        from mlops_desk.core.reports.compare_report import build_compare_report

        return build_compare_report(store, *subject["run_ids"])
    if kind == "model":
        from mlops_desk.core.reports.model_card import build_model_card

        return build_model_card(store, subject["model"])
    if kind == "audit":
        from mlops_desk.core.reports.audit_report import build_audit_report

        return build_audit_report(store, since=subject.get("since"), until=subject.get("until"))
    raise BadInput(f"unknown report kind {kind!r}")


def render(store: Store, report: dict[str, Any], fmt: str, subject: dict[str, Any],
           render_pdf: Callable[[dict[str, Any]], bytes] | None = None) -> bytes:
    """The file's bytes in ``fmt``."""
    if fmt == "html":
        from mlops_desk.core.reports.render_html import render_html

        return render_html(report).encode("utf-8")
    if fmt == "md":
        from mlops_desk.core.reports.render_markdown import render_markdown

        return render_markdown(report).encode("utf-8")
    if fmt == "json":
        return (json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode()
    if fmt == "pdf":
        if render_pdf is None:
            raise BadInput("PDF export needs the Qt renderer, which is not available here")
        return render_pdf(report)
    from mlops_desk.core.reports import render_tables, row_table

    if report["kind"] == "run":
        columns, rows = row_table.run_rows(store, subject["run_id"])
    else:
        columns, rows = row_table.compare_rows(store, *subject["run_ids"])
    if fmt == "csv":
        return render_tables.render_csv(columns, rows)
    return render_tables.render_xlsx(columns, rows, report)


def export_report(store: Store, kind: str, subject: dict[str, Any], path: str | Path,
                  fmt: str | None = None, *,
                  render_pdf: Callable[[dict[str, Any]], bytes] | None = None,
                  on_progress: work.OnProgress | None = None,
                  cancel: work.CancelToken | None = None) -> Exported:
    """Build, render, write atomically, audit. The file appears only if all of it worked."""
    path = Path(path)
    fmt = format_for(path, fmt)
    check_format(kind, fmt)
    if not path.parent.is_dir():
        raise BadInput(f"cannot write {path}: folder {path.parent} does not exist")
    if path.is_dir():
        raise BadInput(f"cannot write {path}: it is a folder")

    def step(n: int, message: str) -> None:
        if work.is_cancelled(cancel):
            raise ExportCancelled("report export cancelled; nothing was written")
        work.report(on_progress, n, 4, message)

    step(0, "reading the registry")
    report = build_report(store, kind, subject)
    step(1, f"rendering {fmt}")
    data = render(store, report, fmt, subject, render_pdf)
    step(2, f"writing {path.name}")
    digest = hashlib.sha256(data).hexdigest()
    tmp = _write_temp(path, data)
    try:
        step(3, "recording the export in the audit log")
        event_id = audit.append(store, ACTION, report["subject"], {
            "kind": kind, "format": fmt, "sha256": digest, "file": path.name,
            "bytes": len(data), "audit_head": report["audit_head"]["hash"]})
        try:
            os.replace(tmp, path)
        except OSError as exc:  # the event stays (the log is append-only); no file has its hash
            raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    work.report(on_progress, 4, 4, f"wrote {path.name}")
    return Exported(str(path), kind, report["subject"], fmt, digest, len(data), event_id)


def _write_temp(path: Path, data: bytes) -> str:
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is meant to be shared
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
    return tmp


# -- verification ------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRecord:
    event_id: int
    ts: str
    user: str
    subject: str
    kind: str
    format: str
    file: str
    sha256: str


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}") from None
    return digest.hexdigest()


def find_export(store: Store, path: str | Path) -> ExportRecord | None:
    """The export event whose sha256 is the file's, or None (edited, or not from here)."""
    digest = file_sha256(path)
    row = store.db.execute(
        "SELECT id, ts, user, subject, details FROM audit WHERE action = ? "
        "AND json_extract(details, '$.sha256') = ? ORDER BY id LIMIT 1",
        [ACTION, digest]).fetchone()
    if row is None:
        return None
    details = json.loads(row[4])
    return ExportRecord(row[0], row[1], row[2], row[3], details.get("kind", "?"),
                        details.get("format", "?"), details.get("file", "?"), digest)


def verify_export(store: Store, path: str | Path) -> tuple[ExportRecord | None, Any]:
    """(the file's export record or None, the audit chain's check): a record in a broken
    chain proves nothing, so callers report both."""
    return find_export(store, path), audit.verify(store)
