"""`mlops-desk report ...`: every kind and format, one-line errors, and `report verify`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.reports.exports import formats_of
from tests.reports.world import Reported

ARGS = {"run": ["run", "1"], "compare": ["compare", "1", "2"], "model": ["model", "triage"],
        "audit": ["audit"]}


def export_events(reported: Reported) -> list[dict]:
    rows = reported.store.db.execute(
        "SELECT subject, details FROM audit WHERE action = 'report.exported' ORDER BY id")
    return [{"subject": subject, **json.loads(details)} for subject, details in rows]


def test_every_kind_exports_in_each_of_its_formats_and_is_audited(
        reported: Reported, cli: Cli, tmp_path: Path) -> None:
    written = []
    for kind, args in ARGS.items():
        for fmt in formats_of(kind):
            if fmt == "pdf":
                continue  # test_report_pdf covers it; it needs a Qt application
            path = tmp_path / f"{kind}-report.{fmt}"
            out = cli.ok("report", *args, "-o", str(path)).out
            assert out.startswith(f"{kind} report written to {path} ({fmt}, ")
            written.append((kind, fmt, path))
    events = export_events(reported)
    assert [(e["kind"], e["format"]) for e in events] == [(k, f) for k, f, _ in written]
    for event, (_, _, path) in zip(events, written, strict=True):
        assert event["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert event["file"] == path.name and event["bytes"] == path.stat().st_size
    assert [e["subject"] for e in events[:1]] == ["run:1"]
    assert {e["subject"] for e in events} == {"run:1", "compare:1:2", "model:triage", "audit"}


def test_format_option_wins_over_the_extension_and_json_has_a_schema_version(
        reported: Reported, cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    result = json.loads(cli.ok("report", "run", "1", "--format", "json", "-o", str(path),
                               "--json").out)
    assert result["format"] == "json" and result["path"] == str(path)
    data = json.loads(path.read_text())
    assert data["schema_version"] == 1 and data["kind"] == "run"
    assert data["audit_head"]["event_id"] == result["event_id"] - 1
    assert {m["key"]: m["value"] for m in data["metrics"]}["accuracy"] == pytest.approx(0.4)


def test_report_verify_tells_an_untouched_file_from_an_edited_one(
        reported: Reported, cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "run.html"
    cli.ok("report", "run", "1", "-o", str(path))
    event_id = export_events(reported)[-1]
    ok = cli.ok("report", "verify", str(path)).out
    assert ok.startswith("run.html: the run report of run:1 exported as html (run.html) by ")
    assert "unchanged since, audit log intact" in ok
    copy = tmp_path / "renamed-copy.html"
    copy.write_bytes(path.read_bytes())
    assert cli("report", "verify", str(copy)).code == 0  # the content counts, not the name

    path.write_text(path.read_text().replace("40.0%", "99.0%"))
    edited = cli("report", "verify", str(path))
    assert edited.code == 1 and edited.out == ""
    assert edited.err_lines == ["mlops-desk: error: run.html was edited after export or was not "
                                "exported from this registry: no report export in the audit "
                                "log has its sha256"]
    stranger = tmp_path / "other.md"
    stranger.write_text("# not from here\n")
    assert cli("report", "verify", str(stranger)).code == 1
    assert event_id["kind"] == "run"


@pytest.mark.parametrize(("args", "message"), [
    (["model", "triage", "-o", "m.csv"], "csv holds per-row results, which only a run or a "
                                         "comparison has"),
    (["audit", "--format", "xlsx", "-o", "a.out"], "xlsx holds per-row results"),
    (["run", "1", "-o", "r.docx"], "cannot tell the report format from 'r.docx'"),
    (["run", "99", "-o", "r.html"], "no run with id 99"),
    (["compare", "1", "99", "-o", "c.html"], "no run with id 99"),
    (["model", "nope", "-o", "m.html"], "no model named 'nope'"),
    (["audit", "--since", "last tuesday", "-o", "a.md"], "bad start date 'last tuesday'"),
    (["audit", "--since", "2026-12-02", "--until", "2026-12-01", "-o", "a.md"],
     "is not before the end"),
    (["run", "1", "-o", "no-such-dir/r.html"], "does not exist"),
    (["run", "1"], "the following arguments are required: -o/--output"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
        reported: Reported, cli: Cli, tmp_path: Path, monkeypatch, args, message) -> None:
    monkeypatch.chdir(tmp_path)
    before = len(export_events(reported))
    result = cli("report", *args)
    assert result.code == 2 and len(result.err_lines) == 1, result.err
    assert result.err.startswith("mlops-desk: error: ") and message in result.err
    assert len(export_events(reported)) == before
    # No report and no leftover temporary file: only the database (and its WAL files).
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("registry.db")] == []


def test_audit_range_selects_events_and_verify_result_is_reported(
        reported: Reported, cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "audit.json"
    cli.ok("report", "audit", "--since", "2000-01-01", "--until", "2000-01-02", "-o", str(path))
    empty = json.loads(path.read_text())
    assert empty["n_events"] == 0 and empty["events"] == [] and empty["verify"]["ok"]
    cli.ok("report", "audit", "--since", "2000-01-01", "-o", str(path))
    full = json.loads(path.read_text())
    assert full["n_events"] == full["verify"]["n_events"] == len(full["events"]) > 10
    assert [e["id"] for e in full["events"]] == list(range(1, full["n_events"] + 1))


def test_an_export_record_forged_in_the_audit_log_is_not_trusted(
        reported: Reported, cli: Cli, tmp_path: Path, db_path: Path) -> None:
    from tests.core.test_audit import tamper

    path = tmp_path / "run.md"
    cli.ok("report", "run", "1", "-o", str(path))
    path.write_text(path.read_text().replace("40.0%", "99.0%"))
    forged = hashlib.sha256(path.read_bytes()).hexdigest()
    # The attacker also rewrites the export event so that it names the edited file.
    tamper(db_path, "UPDATE audit SET details = json_set(details, '$.sha256', ?) "
                    "WHERE action = 'report.exported'", params=[forged])
    result = cli("report", "verify", str(path))
    assert result.code == 1 and len(result.err_lines) == 1
    assert "matches export event" in result.err and "audit log is broken at event" in result.err
    assert "cannot be trusted" in result.err
