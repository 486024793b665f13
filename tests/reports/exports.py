"""Helpers: export every kind in every format it has, and read the files back."""

from __future__ import annotations

from pathlib import Path

from mlops_desk.core.reports import export
from tests.reports.world import Reported


def subjects(r: Reported) -> dict[str, dict]:
    return {"run": {"run_id": r.run_a}, "compare": {"run_ids": [r.run_a, r.run_b]},
            "model": {"model": "triage"}, "audit": {}}


def formats_of(kind: str) -> list[str]:
    return [f for f in export.FORMATS if kind in ("run", "compare") or f not in
            export.ROW_FORMATS]


def export_all(r: Reported, directory: Path, *, with_pdf: bool = False) -> dict[tuple, Path]:
    """(kind, format) -> the exported file, for every kind and format (PDF if asked)."""
    render_pdf = None
    if with_pdf:
        from mlops_desk.ui.report_pdf import render_pdf
    files = {}
    for kind, subject in subjects(r).items():
        for fmt in formats_of(kind):
            if fmt == "pdf" and not with_pdf:
                continue
            path = directory / f"{kind}.{fmt}"
            export.export_report(r.store, kind, subject, path, render_pdf=render_pdf)
            files[(kind, fmt)] = path
    return files


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)
