"""Known database failures reach the user as one line and exit 2; nothing is lost."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from mlops_desk.core import store as store_module
from tests.conftest import Cli


def models(cli: Cli) -> list[str]:
    return [m["name"] for m in json.loads(cli.ok("model", "list", "--json").out)]


def test_not_a_database(cli: Cli, db_path: Path) -> None:
    db_path.write_bytes(b"name,age\nada,36\n" * 100)
    result = cli("model", "list")
    assert result.code == 2 and len(result.err_lines) == 1
    assert "not an MLOps Desk database" in result.err


def test_a_newer_schema_is_refused(cli: Cli, db_path: Path) -> None:
    cli.ok("model", "create", "triage")
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    before = db_path.read_bytes()
    result = cli("model", "list")
    assert result.code == 2 and len(result.err_lines) == 1 and "newer" in result.err
    assert db_path.read_bytes() == before


def test_a_locked_database(cli: Cli, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.ok("model", "create", "kept")
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 0.2)  # the real one is 10 s
    other = sqlite3.connect(db_path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        result = cli("model", "create", "blocked")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert result.code == 2 and len(result.err_lines) == 1 and "locked" in result.err
    assert models(cli) == ["kept"]
    cli.ok("model", "create", "later")
    assert models(cli) == ["kept", "later"]
    assert cli.ok("audit", "verify").code == 0


def test_a_read_only_database(cli: Cli, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.ok("model", "create", "kept")
    if os.geteuid() == 0:
        # root ignores file modes; make SQLite itself refuse writes, as it does for a 0444 file
        connect = store_module.Store._connect

        def read_only(self):
            conn = connect(self)
            conn.execute("PRAGMA query_only = ON")
            return conn

        monkeypatch.setattr(store_module.Store, "_connect", read_only)
    else:
        db_path.chmod(0o444)
    result = cli("model", "create", "blocked")
    assert result.code == 2 and len(result.err_lines) == 1 and "read-only" in result.err
    monkeypatch.undo()
    db_path.chmod(0o644)
    assert models(cli) == ["kept"]


def test_a_folder_that_cannot_hold_the_database(cli: Cli, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for db in (blocker / "registry.db", blocker / "sub" / "registry.db"):
        result = cli("model", "list", db=db)
        assert result.code == 2 and len(result.err_lines) == 1, result
