"""export_report: the long-work protocol (progress, cancel) and the audit head in every file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_desk.core.reports import export
from tests.reports.exports import export_all
from tests.reports.world import Reported


class Cancelled:
    cancelled = True


def test_progress_is_reported_and_cancel_writes_and_records_nothing(
        reported: Reported, tmp_path: Path) -> None:
    seen: list[export.ExportProgress] = []
    done = export.export_report(reported.store, "run", {"run_id": reported.run_a},
                                tmp_path / "run.json", on_progress=seen.append)
    assert [p.done for p in seen] == [0, 1, 2, 3, 4] and {p.total for p in seen} == {4}
    assert seen[-1].message == "wrote run.json" and done.event_id > 0
    events = reported.store.db.execute("SELECT count(*) FROM audit").fetchone()[0]
    with pytest.raises(export.ExportCancelled, match="nothing was written"):
        export.export_report(reported.store, "run", {"run_id": reported.run_a},
                             tmp_path / "again.json", cancel=Cancelled())
    assert not (tmp_path / "again.json").exists()
    assert reported.store.db.execute("SELECT count(*) FROM audit").fetchone()[0] == events


def test_every_text_format_shows_the_audit_head_at_export_time(reported: Reported,
                                                               tmp_path: Path) -> None:
    files = export_all(reported, tmp_path)
    hashes = dict(reported.store.db.execute("SELECT id, hash FROM audit"))
    events = dict(reported.store.db.execute(
        "SELECT json_extract(details, '$.file'), id FROM audit "
        "WHERE action = 'report.exported'"))
    for (kind, fmt), path in files.items():
        if fmt in ("csv", "xlsx"):
            continue  # CSV has no place for it; XLSX: test_report_tables reads its summary
        head = hashes[events[path.name] - 1]  # the newest event before this export's own
        assert head in path.read_text(encoding="utf-8"), (kind, fmt)
