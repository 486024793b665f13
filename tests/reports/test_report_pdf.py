"""PDF reports: real text (title, metrics), charts as images, numbered pages, no secrets."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader

from mlops_desk.core.reports import export
from mlops_desk.ui.report_pdf import render_pdf
from tests.reports.exports import subjects
from tests.reports.world import TITLE, Reported


def words(pages) -> str:
    # pypdf separates words with tabs and breaks lines where the layout did.
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def test_pdfs_hold_selectable_text_charts_page_numbers_and_no_secret(
        reported: Reported, tmp_path: Path, qapp) -> None:
    readers = {}
    for kind, subject in subjects(reported).items():
        path = tmp_path / f"{kind}.pdf"
        done = export.export_report(reported.store, kind, subject, path, render_pdf=render_pdf)
        assert done.format == "pdf" and path.read_bytes().startswith(b"%PDF-")
        readers[kind] = PdfReader(path)
    pages = readers["run"].pages
    run_text = words(pages)
    assert TITLE in run_text
    assert "Accuracy 40.0%" in run_text  # 4 of 10 rows right, as in the HTML
    assert readers["run"].metadata.title == TITLE
    assert len(pages) >= 2
    # QTextDocument.print_ numbers each page at its foot.
    assert [p.extract_text().split()[-1] for p in pages] == \
        [str(n) for n in range(1, len(pages) + 1)]
    # The confusion matrix and the latency histogram, drawn as pictures.
    assert sum(len(p.images) for p in pages) == 2
    assert "McNemar" in words(readers["compare"].pages[:1])
    assert "Model card: triage" in words(readers["model"].pages[:1])
    audit_text = words(readers["audit"].pages)
    assert "Audit log intact" in audit_text and "endpoint.edit" in audit_text
    # The run report shows the endpoint (credentials left out), the audit report its edits:
    # neither its secrets.
    for text in (run_text, audit_text):
        assert not [s for s in reported.secrets if s in text]
    assert "Base URL or target http://127.0.0.1:" in run_text  # credentials left out
