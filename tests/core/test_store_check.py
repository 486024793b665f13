"""Foreign SQLite files are refused untouched; damaged registries are named as such."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mlops_desk.core import registry
from mlops_desk.core.errors import StoreError
from mlops_desk.core.store import Store
from mlops_desk.core.store_check import APPLICATION_ID, DamagedDatabase, ForeignDatabase


def write_sqlite(path: Path, *statements: str) -> bytes:
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return path.read_bytes()


def assert_refused_untouched(path: Path, before: bytes, error: type[StoreError]) -> str:
    with pytest.raises(error) as err:
        Store(path)
    assert "\n" not in str(err.value)
    assert path.read_bytes() == before
    siblings = sorted(p.name for p in path.parent.iterdir())
    assert siblings == [path.name], "no backup, no WAL, nothing left beside it"
    return str(err.value)


def registry_file(path: Path) -> None:
    store = Store(path)
    registry.create_model(store, "kept")
    store.close()


def header(path: Path, pragma: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {pragma}").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize("statements", [
    # another program's file that happens to have a table called meta
    ["CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
     "INSERT INTO meta VALUES ('owner', 'someone else')"],
    ["CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)", "INSERT INTO notes VALUES (1, 'x')"],
    ["CREATE VIEW v AS SELECT 1"],
    # counts its own migrations in user_version, as many programs do
    ["CREATE TABLE meta (k, v)", "CREATE TABLE items (x)", "PRAGMA user_version = 1"],
    # any other application id is someone else's, whatever the tables
    ["CREATE TABLE models (x)", "PRAGMA application_id = 1234"],
], ids=["meta-table", "other-table", "only-a-view", "own-user-version", "other-app-id"])
def test_a_foreign_database_is_refused_and_left_byte_identical(
        db_path: Path, statements: list[str]) -> None:
    before = write_sqlite(db_path, *statements)
    message = assert_refused_untouched(db_path, before, ForeignDatabase)
    assert "not an MLOps Desk database" in message and "left untouched" in message


def test_an_empty_file_becomes_a_registry_marked_as_ours(db_path: Path) -> None:
    db_path.write_bytes(b"")
    registry_file(db_path)
    assert header(db_path, "application_id") == APPLICATION_ID
    store = Store(db_path)  # and it opens again as ours
    try:
        assert [m.name for m in registry.list_models(store)] == ["kept"]
    finally:
        store.close()


def test_a_registry_from_before_the_mark_is_recognised_and_stamped(db_path: Path) -> None:
    registry_file(db_path)
    write_sqlite(db_path, "PRAGMA application_id = 0")
    Store(db_path).close()
    assert header(db_path, "application_id") == APPLICATION_ID


def test_a_registry_with_an_extra_table_still_opens(db_path: Path) -> None:
    registry_file(db_path)
    write_sqlite(db_path, "CREATE TABLE my_notes (x)")
    Store(db_path).close()


@pytest.mark.parametrize("marked", [True, False], ids=["marked", "from-before-the-mark"])
def test_a_registry_missing_a_table_is_damaged(db_path: Path, marked: bool) -> None:
    registry_file(db_path)
    before = write_sqlite(db_path, "DROP TABLE run_results",
                          *([] if marked else ["PRAGMA application_id = 0"]))
    message = assert_refused_untouched(db_path, before, DamagedDatabase)
    assert "damaged" in message and "run_results" in message


def test_a_registry_missing_a_column_is_damaged(db_path: Path) -> None:
    registry_file(db_path)
    before = write_sqlite(db_path, "ALTER TABLE runs DROP COLUMN reason")
    message = assert_refused_untouched(db_path, before, DamagedDatabase)
    assert "runs" in message and "reason" in message


def test_a_dropped_audit_table_is_left_to_the_audit_check(db_path: Path) -> None:
    registry_file(db_path)
    write_sqlite(db_path, "DROP TABLE audit")
    store = Store(db_path)  # opens, so that verifying the audit log can report it
    try:
        # Every change appends an audit event, so it fails as damaged, and is rolled back.
        with pytest.raises(StoreError, match="damaged: its audit table is missing"):
            registry.create_model(store, "later")
        assert [m.name for m in registry.list_models(store)] == ["kept"]
    finally:
        store.close()


def test_a_failed_commit_during_migration_keeps_its_own_error(db_path: Path, monkeypatch) -> None:
    """A COMMIT that fails (disk I/O on /dev/null, say) ends the transaction; the rollback
    must not then raise "no transaction is active" and hide the error the user can act on."""
    from mlops_desk.core import store as store_module

    def commit_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("COMMIT")
        raise sqlite3.OperationalError("disk I/O error")

    migrations = [commit_then_fail]
    monkeypatch.setattr(store_module, "MIGRATIONS", migrations)
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", len(migrations))
    with pytest.raises(StoreError, match="disk I/O error"):
        Store(db_path)


def test_a_migration_that_cannot_be_replayed_only_skips_the_check(
        db_path: Path, monkeypatch, caplog: pytest.LogCaptureFixture) -> None:
    from mlops_desk.core import store as store_module

    def needs_a_file(conn: sqlite3.Connection) -> None:
        if conn.execute("PRAGMA database_list").fetchone()[2] == "":  # the scratch copy
            raise RuntimeError("this migration needs the real file")
        conn.execute("CREATE TABLE added_later (x)")

    migrations = [*store_module.MIGRATIONS, needs_a_file]
    monkeypatch.setattr(store_module, "MIGRATIONS", migrations)
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", len(migrations))
    registry_file(db_path)  # created at the newest schema: nothing to replay yet
    store = Store(db_path)  # replaying fails: the registry still opens
    try:
        assert [m.name for m in registry.list_models(store)] == ["kept"]
    finally:
        store.close()
    assert "cannot replay the migrations" in caplog.text
