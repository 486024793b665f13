"""Content from models, datasets and people cannot script, fetch or leak through a report."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.reports.exports import export_all
from tests.reports.world import HTML_PAYLOAD, SCRIPT_PAYLOAD, Reported

EXTERNAL = ("http:", "https:", "//", "ftp:", "file:", "data:text/html", "javascript:")
URL_ATTRIBUTES = {"src", "href", "xlink:href", "action", "formaction", "background", "poster",
                  "srcset", "data"}


class PageAudit(HTMLParser):
    """Every tag, attribute and text node of a page, for checks on what it would run."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.handlers: list[tuple[str, str]] = []
        self.external: list[tuple[str, str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append((tag, name))
            if name in URL_ATTRIBUTES and (value or "").strip().lower().startswith(EXTERNAL):
                self.external.append((tag, name, value or ""))

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def audit_page(path: Path) -> PageAudit:
    page = PageAudit()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def test_html_runs_nothing_and_fetches_nothing_whatever_the_content(
        reported: Reported, tmp_path: Path) -> None:
    files = export_all(reported, tmp_path)
    pages = {kind: audit_page(path) for (kind, fmt), path in files.items() if fmt == "html"}
    assert set(pages) == {"run", "compare", "model", "audit"}
    for kind, page in pages.items():
        assert "script" not in page.tags, kind
        assert "iframe" not in page.tags and "object" not in page.tags, kind
        assert page.handlers == [], kind
        assert page.external == [], kind
        assert "img" not in page.tags, kind  # charts are inline SVG, not fetched images
        assert "link" not in page.tags, kind  # no external style sheet either
    # The payloads are there, as text a reader can see.
    run_text = "".join(pages["run"].text)
    assert HTML_PAYLOAD in run_text and SCRIPT_PAYLOAD in run_text
    assert HTML_PAYLOAD in "".join(pages["compare"].text)
    assert f"better {HTML_PAYLOAD}" in "".join(pages["model"].text)  # a person's deploy reason
    assert HTML_PAYLOAD in "".join(pages["audit"].text)
    assert "<svg" in files[("run", "html")].read_text() and "<svg" in \
        files[("model", "html")].read_text()


def test_markdown_renders_payloads_as_text(reported: Reported, tmp_path: Path) -> None:
    files = export_all(reported, tmp_path)
    for (kind, fmt), path in files.items():
        if fmt != "md":
            continue
        text = path.read_text(encoding="utf-8")
        assert "<img" not in text and "<script" not in text and "<a " not in text, kind
    run_md = files[("run", "md")].read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;" in run_md
    # A pipe in an answer stays inside its cell: every table row has the header's columns.
    rows = [line for line in run_md.splitlines() if line.startswith("| 6 |")]
    assert rows and rows[0].replace("\\|", "").count("|") == 6


def test_no_stored_key_or_url_credential_in_any_format(
        reported: Reported, tmp_path: Path) -> None:
    """Every format but PDF (whose text is compressed: test_report_pdf reads it)."""
    files = export_all(reported, tmp_path)
    assert len(files) == 16
    for (kind, fmt), path in files.items():
        data = path.read_bytes()
        if fmt == "xlsx":  # a zip: look inside its sheets
            import zipfile

            with zipfile.ZipFile(path) as book:
                data = b"".join(book.read(name) for name in book.namelist())
        for secret in reported.secrets:
            assert secret.encode() not in data, (kind, fmt)
    # The endpoint really has those credentials: the reports dropped them, not the world.
    row = reported.store.db.execute("SELECT base_url FROM endpoints").fetchone()[0]
    assert reported.url_password in row and reported.url_query_key in row
    assert "alice:" not in files[("run", "html")].read_text()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_row_formats_are_refused_for_model_and_audit(reported: Reported, tmp_path: Path,
                                                      fmt: str) -> None:
    from mlops_desk.core.errors import BadInput
    from mlops_desk.core.reports import export

    with pytest.raises(BadInput, match="per-row results"):
        export.export_report(reported.store, "model", {"model": "triage"},
                             tmp_path / f"m.{fmt}")
    assert list(tmp_path.glob("m.*")) == []
