"""Export from the window: each page writes a real, audited file; Ctrl+E; a failed write.

The registry is the report tests' one (two real runs through the loopback server, injection
payloads, a stored key). Only QFileDialog's static call is replaced, through the
``ask_save_path`` seam of ``ui/report_export``: everything after it (the format from the
name or the filter, the pool task, PDF rendering in that thread, the atomic write and the
audit event) is the real thing.
"""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QPushButton

from mlops_desk.core.errors import BadInput
from mlops_desk.core.reports.export import ACTION, EXTENSIONS, verify_export
from mlops_desk.ui import report_export
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.main_window import MainWindow
from mlops_desk.ui.pages.audit import BETWEEN, AuditPage
from mlops_desk.ui.pages.models import ModelsPage
from mlops_desk.ui.pages.runs import COMPARE, DETAIL, RunsPage
from mlops_desk.ui.report_export import FILTERS
from tests.gui.conftest import WAIT_MS, show_page, wait_idle
from tests.reports.exports import pdf_text
from tests.reports.world import HTML_PAYLOAD, Reported


class SaveDialog:
    """Stands in for QFileDialog.getSaveFileName: answers one path, records what it was
    offered (the caption, the suggested file, the filters and the preselected one)."""

    def __init__(self, answer: Path | str, chosen_filter: str | None = None):
        self.answer, self.chosen_filter = str(answer), chosen_filter
        self.calls: list[tuple[str, str, list[str], str]] = []

    def __call__(self, _parent, caption, start, filters, selected):
        self.calls.append((caption, start, filters, selected))
        return self.answer, self.chosen_filter or selected


@pytest.fixture
def save_as(monkeypatch) -> Iterator:
    def install(answer: Path | str, chosen_filter: str | None = None) -> SaveDialog:
        dialog = SaveDialog(answer, chosen_filter)
        monkeypatch.setattr(report_export, "ask_save_path", dialog)
        return dialog

    yield install


@pytest.fixture
def report_ctx(reported: Reported, tmp_path: Path, qtbot) -> Iterator[AppContext]:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    context = AppContext(reported.store, settings=settings)
    yield context
    context.tasks.shutdown()
    wait_idle(qtbot, context)


def exports(store) -> list[tuple[str, str]]:
    """(subject, details) of every report.exported event."""
    return store.db.execute("SELECT subject, details FROM audit WHERE action = ?",
                            [ACTION]).fetchall()


def finish(qtbot, ctx: AppContext, path: Path) -> None:
    wait_idle(qtbot, ctx)
    qtbot.waitUntil(path.exists, timeout=WAIT_MS)


def runs_page(qtbot, ctx: AppContext) -> RunsPage:
    return show_page(qtbot, ctx, RunsPage(ctx), (1300, 800))


def select(qtbot, page: RunsPage, run_ids: list[int], view: int) -> None:
    page.select_runs(run_ids)
    qtbot.waitUntil(lambda: page.stack.currentIndex() == view, timeout=WAIT_MS)
    wait_idle(qtbot, page.ctx)


def test_run_page_exports_html_named_by_the_extension(qtbot, report_ctx, reported, save_as,
                                                      tmp_path):
    page = runs_page(qtbot, report_ctx)
    select(qtbot, page, [reported.run_a], DETAIL)
    target = tmp_path / "out" / "triage run.HTML"
    target.parent.mkdir()
    dialog = save_as(target, FILTERS["json"])  # the extension wins over the picked filter
    messages = []
    report_ctx.status_message.connect(messages.append)
    qtbot.mouseClick(page.detail.export_button, Qt.MouseButton.LeftButton)
    finish(qtbot, report_ctx, target)

    caption, start, filters, selected = dialog.calls[0]
    assert caption == "Export the run report"
    assert Path(start).name == f"run-{reported.run_a}.html"  # first time: html, home folder
    assert filters == [FILTERS[f] for f in ("html", "pdf", "csv", "xlsx", "md", "json")]
    assert selected == FILTERS["html"]
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<script" not in text
    assert HTML_PAYLOAD not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    record, chain = verify_export(reported.store, target)
    assert record is not None and chain.ok
    assert (record.kind, record.format, record.subject) == ("run", "html",
                                                            f"run:{reported.run_a}")
    assert any(f"written to {target}" in m and f"audit event {record.event_id}" in m
               for m in messages)
    # The next export starts in the same folder with the same format.
    assert report_ctx.settings.value(report_export.FOLDER_KEY) == str(target.parent)
    assert list(target.parent.iterdir()) == [target]  # no temporary file left behind


def test_run_page_takes_the_format_from_the_filter_when_the_name_has_none(
        qtbot, report_ctx, reported, save_as, tmp_path):
    page = runs_page(qtbot, report_ctx)
    select(qtbot, page, [reported.run_a], DETAIL)
    save_as(tmp_path / "summary", FILTERS["md"])
    page.detail.exporter.trigger()
    finish(qtbot, report_ctx, tmp_path / "summary.md")
    text = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert text.startswith("#") and "triage:1" in text and HTML_PAYLOAD not in text
    assert report_ctx.settings.value("reports/format/run") == "md"


def test_comparison_view_exports_xlsx(qtbot, report_ctx, reported, save_as, tmp_path):
    page = runs_page(qtbot, report_ctx)
    select(qtbot, page, [reported.run_a, reported.run_b], COMPARE)
    target = tmp_path / "compare.xlsx"
    dialog = save_as(target)
    qtbot.mouseClick(page.compare_view.export_button, Qt.MouseButton.LeftButton)
    finish(qtbot, report_ctx, target)

    assert Path(dialog.calls[0][1]).name == f"compare-{reported.run_a}-{reported.run_b}.html"
    rows = pd.read_excel(io.BytesIO(target.read_bytes()), sheet_name="rows")
    assert len(rows) == len(reported.ws.rows)
    summary = pd.read_excel(io.BytesIO(target.read_bytes()), sheet_name="summary")
    assert "McNemar p-value" in set(summary["fact"])
    assert exports(reported.store)[-1][0] == f"compare:{reported.run_a}:{reported.run_b}"


def test_models_page_exports_the_model_card_as_pdf_from_a_pool_thread(
        qtbot, report_ctx, reported, save_as, tmp_path):
    page = show_page(qtbot, report_ctx, ModelsPage(report_ctx), (1200, 800))
    page.select_model("triage")
    qtbot.waitUntil(lambda: page.details is not None, timeout=WAIT_MS)
    assert page.export_action.isEnabled()
    target = tmp_path / "card.pdf"
    dialog = save_as(target)
    page.export_action.trigger()
    finish(qtbot, report_ctx, target)

    caption, start, filters, _ = dialog.calls[0]
    assert caption == "Export the model card" and Path(start).name == "model-triage.html"
    assert FILTERS["csv"] not in filters and FILTERS["xlsx"] not in filters  # no per-row table
    assert target.read_bytes().startswith(b"%PDF")
    text = pdf_text(target)
    assert "triage" in text and reported.api_key not in text
    assert verify_export(reported.store, target)[0].subject == "model:triage"


def test_audit_page_exports_its_time_range(qtbot, report_ctx, reported, save_as, tmp_path):
    page = show_page(qtbot, report_ctx, AuditPage(report_ctx), (1200, 800))
    page.range_box.setCurrentIndex(BETWEEN)
    wait_idle(qtbot, report_ctx)
    since, until = page.time_range()
    target = tmp_path / "audit.json"
    dialog = save_as(target)
    qtbot.mouseClick(page.export_button, Qt.MouseButton.LeftButton)
    finish(qtbot, report_ctx, target)

    last_day = page.to_date.date().toString("yyyy-MM-dd")
    assert Path(dialog.calls[0][1]).name == f"audit-{since}-to-{last_day}.html"
    report = json.loads(target.read_text(encoding="utf-8"))
    assert report["kind"] == "audit" and report["range"]["since"].startswith(since)
    assert report["range"]["until"].startswith(until)
    # The export's own event shows on the page once it is in place.
    qtbot.waitUntil(lambda: page.model.rowCount() > 0 and
                    page.model.event(0).action == ACTION, timeout=WAIT_MS)


def test_ctrl_e_exports_what_the_current_page_shows(qtbot, reported, tmp_path, save_as):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(reported.store, settings=settings)
    qtbot.addWidget(window, before_close_func=lambda w: wait_idle(qtbot, w.ctx))
    window.resize(1300, 800)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    wait_idle(qtbot, window.ctx)
    dialog = save_as(tmp_path / "by-shortcut.md")

    window.show_page("Overview")
    wait_idle(qtbot, window.ctx)
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert dialog.calls == []
    assert "Nothing to export on this page" in window.statusBar().currentMessage()

    page = window.show_page("Runs")
    wait_idle(qtbot, window.ctx)
    select(qtbot, page, [reported.run_b], DETAIL)
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    finish(qtbot, window.ctx, tmp_path / "by-shortcut.md")
    assert dialog.calls[0][0] == "Export the run report"
    assert verify_export(reported.store, tmp_path / "by-shortcut.md")[0].subject == \
        f"run:{reported.run_b}"
    # Ctrl+1..8 still reach the first eight pages, and the Audit page is the ninth.
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_9, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page.title == "Audit"
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page.title == "Models"
    wait_idle(qtbot, window.ctx)


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in: read-only for a user; root ignores
    permissions, so there sysfs, where nobody may create a file."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    return Path("/sys")


def test_an_unwritable_folder_gives_one_line_and_writes_nothing(qtbot, report_ctx, reported,
                                                               save_as, tmp_path):
    page = runs_page(qtbot, report_ctx)
    select(qtbot, page, [reported.run_a], DETAIL)
    folder = unwritable_folder(tmp_path)
    before = set(os.listdir(folder))
    events = len(exports(reported.store))
    save_as(folder / "run.html")
    errors = []
    report_ctx.error.connect(errors.append)
    page.detail.exporter.trigger()
    qtbot.waitUntil(lambda: bool(errors), timeout=WAIT_MS)
    wait_idle(qtbot, report_ctx)

    assert len(errors) == 1 and "\n" not in errors[0]
    assert errors[0].startswith("Could not export the run report: cannot write ")
    assert "ermission denied" in errors[0]
    assert set(os.listdir(folder)) == before  # neither the file nor a temporary one
    assert len(exports(reported.store)) == events  # and no export recorded
    assert page.detail.export_button.isEnabled()  # ready to try another folder


def test_a_format_the_kind_lacks_is_refused_in_one_line(qtbot, report_ctx, reported, save_as,
                                                        tmp_path):
    page = show_page(qtbot, report_ctx, AuditPage(report_ctx), (1200, 800))
    save_as(tmp_path / "audit.csv")
    errors = []
    report_ctx.error.connect(errors.append)
    page.exporter.trigger()
    assert errors == ["Could not export the audit report: csv holds per-row results, which "
                      "only a run or a comparison has; export the audit report as html, pdf, "
                      "md or json"]
    assert not (tmp_path / "audit.csv").exists()


names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
                min_size=1, max_size=40)


@given(name=names, suffix=st.sampled_from(["", ".html", ".HTM", ".pdf", ".csv", ".xlsx", ".md",
                                           ".markdown", ".json", ".txt", ".tar.gz"]),
       picked=st.sampled_from(sorted(FILTERS)), kind=st.sampled_from(["run", "compare", "model",
                                                                       "audit"]))
def test_the_chosen_file_and_format_agree(name, suffix, picked, kind) -> None:
    path = f"/reports/{name}{suffix}"
    try:
        file, fmt = report_export.chosen_file(path, FILTERS[picked], kind)
    except BadInput as exc:
        assert str(exc).startswith(("csv holds per-row results", "xlsx holds per-row results"))
        assert kind in ("model", "audit")
        return
    assert EXTENSIONS[file.suffix.lower()] == fmt  # the file says what it holds
    assert fmt in report_export.formats_for(kind)
    if Path(path).suffix.lower() in EXTENSIONS:
        assert file == Path(path)  # a name with a known extension is kept as typed
    else:
        assert fmt == picked and file == Path(path + report_export.SUFFIX[picked])


@given(st.text(max_size=60))
def test_suggested_file_names_are_plain(name) -> None:
    stem = report_export.file_stem(name)
    assert stem and "/" not in stem and "\\" not in stem and " " not in stem
    assert not stem.startswith((".", "-"))


def test_cancel_in_the_progress_dialog_writes_and_records_nothing(qtbot, report_ctx, reported,
                                                                  save_as, tmp_path):
    page = show_page(qtbot, report_ctx, ModelsPage(report_ctx), (1200, 800))
    page.select_model("triage")
    qtbot.waitUntil(lambda: page.details is not None, timeout=WAIT_MS)
    # One pool thread, held busy: the export waits in the queue, so Cancel comes first.
    report_ctx.tasks.pool.setMaxThreadCount(1)
    gate = threading.Event()
    report_ctx.tasks.start(gate.wait, 10)
    events = len(exports(reported.store))
    save_as(tmp_path / "card.html")
    messages = []
    report_ctx.status_message.connect(messages.append)
    page.export_action.trigger()
    assert page.exporter.busy and not page.export_action.isEnabled()
    cancel = page.exporter.progress.findChild(QPushButton)
    assert cancel.text() == "Cancel"
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    gate.set()
    wait_idle(qtbot, report_ctx)

    assert messages[-1] == "Export of the model card cancelled; nothing was written."
    assert not (tmp_path / "card.html").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".card.html")]
    assert len(exports(reported.store)) == events
    assert page.exporter.progress is None and page.export_action.isEnabled()
