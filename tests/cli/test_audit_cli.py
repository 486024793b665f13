"""`audit verify`, `audit head` and `--expect-head`: one line and exit 1 for a broken log."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from mlops_desk.core import secrets
from tests.conftest import Cli


def registry_id(db_path: Path) -> str:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT value FROM meta WHERE key = 'registry_id'").fetchone()[0]
    finally:
        conn.close()


def attack(db_path: Path, *statements: str) -> None:
    conn = sqlite3.connect(db_path)
    try:
        conn.execute("DROP TRIGGER audit_append_only_update")
        conn.execute("DROP TRIGGER audit_append_only_delete")
        for sql in statements:
            conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def test_head_and_expect_head(cli: Cli) -> None:
    cli.ok("model", "create", "triage")
    cli.ok("model", "create", "summary")
    head = json.loads(cli.ok("audit", "head", "--json").out)
    assert head["count"] == 2 and len(head["head"]) == 64
    assert cli.ok("audit", "head").out.split() == [head["head"], "2", "events"]
    assert "intact: 2 events" in cli.ok("audit", "verify", "--expect-head", head["head"]).out

    cli.ok("model", "create", "later")
    grown = cli.ok("audit", "verify", "--expect-head", head["head"]).out
    assert "the expected head is event 2, 1 event added since" in grown

    wrong = cli("audit", "verify", "--expect-head", "0123456789abcdef" * 4)
    assert wrong.code == 1 and len(wrong.err_lines) == 1
    assert "is not in the log" in wrong.err
    bad = cli("audit", "verify", "--expect-head", "xyz")
    assert bad.code == 2 and len(bad.err_lines) == 1 and "64-character" in bad.err


def test_a_truncated_log_fails_verify_and_head(cli: Cli, db_path: Path) -> None:
    for name in ("a", "b", "c"):
        cli.ok("model", "create", name)
    attack(db_path, "DELETE FROM audit WHERE id = 3")
    for command in (("audit", "verify"), ("audit", "head")):
        result = cli(*command)
        assert result.code == 1 and len(result.err_lines) == 1 and not result.out
        assert "the newest event 3 was deleted" in result.err


def test_a_dropped_audit_table_is_one_line_and_exit_1(cli: Cli, db_path: Path) -> None:
    cli.ok("model", "create", "a")
    attack(db_path, "DROP TABLE audit")
    result = cli("audit", "verify")
    assert result.code == 1 and result.err_lines == [
        "mlops-desk: error: audit log broken: the registry is damaged: its audit table is missing"]
    change = cli("model", "create", "b")
    assert change.code == 2 and len(change.err_lines) == 1 and "damaged" in change.err


def test_a_missing_key_is_one_line_and_changes_are_refused(cli: Cli, db_path: Path) -> None:
    cli.ok("model", "create", "a")
    secrets.audit_key_file(registry_id(db_path)).unlink()
    result = cli("audit", "verify")
    assert result.code == 1 and len(result.err_lines) == 1
    assert "audit key of this registry is missing" in result.err
    assert "can no longer be checked against forgery" in result.err
    change = cli("model", "create", "b")
    assert change.code == 2 and len(change.err_lines) == 1 and "restore the key" in change.err
    assert [m["name"] for m in json.loads(cli.ok("model", "list", "--json").out)] == ["a"]
