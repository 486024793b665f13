"""The SQLite store: pragmas, connections per thread, migrations, and known errors."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from mlops_desk.core import audit, registry
from mlops_desk.core import store as store_module
from mlops_desk.core.errors import StoreError
from mlops_desk.core.store import Store


def test_pragmas_wal_foreign_keys_and_busy_timeout(store: Store) -> None:
    conn = store.db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    assert store.schema_version() == store_module.SCHEMA_VERSION


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute(
            "INSERT INTO versions (model_id, number, fingerprint, config, created_at, created_by)"
            " VALUES (999, 1, 'x', '{}', 'now', 'me')"
        )


def test_each_thread_gets_its_own_connection_and_close_closes_all(store: Store) -> None:
    seen = []
    worker = threading.Thread(target=lambda: seen.append(store.db.conn))
    worker.start()
    worker.join()
    assert seen[0] is not store.db.conn
    store.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        seen[0].execute("SELECT 1")


def test_concurrent_writers_wait_for_each_other(store: Store) -> None:
    # Each change reads (the audit head) then writes: deferred transactions would fail
    # with "database is locked" at once; BEGIN IMMEDIATE makes them queue instead.
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(5):
                registry.create_model(store, f"m{n}-{i}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.close_thread_connection()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(registry.list_models(store)) == 20
    assert audit.verify(store).ok


def test_newer_schema_is_refused_and_the_file_left_alone(db_path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE future (x)")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    before = db_path.read_bytes()
    with pytest.raises(StoreError, match="newer MLOps Desk") as err:
        Store(db_path)
    assert "\n" not in str(err.value)
    assert db_path.read_bytes() == before
    assert not db_path.with_name(db_path.name + "-wal").exists()


def _with_extra_migration(monkeypatch, step) -> int:
    """Pretend this release adds ``step``; returns the schema number it brings."""
    migrations = [*store_module.MIGRATIONS, step]
    monkeypatch.setattr(store_module, "MIGRATIONS", migrations)
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", len(migrations))
    return len(migrations)


def test_backup_is_made_before_migrating(db_path, monkeypatch) -> None:
    first = Store(db_path)
    old_version = first.schema_version()
    registry.create_model(first, "kept")
    first.close()

    def added(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE added_later (x)")

    new_version = _with_extra_migration(monkeypatch, added)
    migrated = Store(db_path)
    try:
        assert migrated.schema_version() == new_version
        assert migrated.db["added_later"].exists()
        assert [m.name for m in registry.list_models(migrated)] == ["kept"]
    finally:
        migrated.close()

    backup = db_path.with_name(f"registry.db.bak-schema{old_version}")
    conn = sqlite3.connect(backup)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == old_version
        assert conn.execute("SELECT name FROM models").fetchall() == [("kept",)]
        assert not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'added_later'").fetchone()
    finally:
        conn.close()


def test_a_v1_database_migrates_to_the_current_schema(db_path, monkeypatch) -> None:
    with monkeypatch.context() as mp:
        mp.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:1])
        mp.setattr(store_module, "SCHEMA_VERSION", 1)
        Store(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute("INSERT INTO models (name, kind, created_at) VALUES ('old', 'generation', 'x')")
    conn.commit()
    conn.close()
    current = Store(db_path)
    try:
        assert current.schema_version() == store_module.SCHEMA_VERSION
        assert registry.get_model(current, "old").kind == "generation"
    finally:
        current.close()
    assert db_path.with_name("registry.db.bak-schema1").exists()


def test_a_failed_migration_leaves_the_old_schema(db_path, monkeypatch) -> None:
    Store(db_path).close()

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("bug in a migration")

    with monkeypatch.context() as mp:
        _with_extra_migration(mp, broken)
        with pytest.raises(RuntimeError):
            Store(db_path)
    again = Store(db_path)
    try:
        assert again.schema_version() == store_module.SCHEMA_VERSION
        assert not again.db["half_done"].exists()
    finally:
        again.close()


def test_not_a_database_is_one_line(db_path) -> None:
    db_path.write_bytes(b"this is a spreadsheet, honest\n" * 200)
    with pytest.raises(StoreError, match="not an MLOps Desk database") as err:
        Store(db_path)
    assert "\n" not in str(err.value)


def test_missing_folder_is_created(tmp_path) -> None:
    store = Store(tmp_path / "a" / "b" / "registry.db")
    try:
        assert store.path.exists()
    finally:
        store.close()


def test_opening_a_store_leaves_pandas_and_numpy_unloaded(tmp_path) -> None:
    """sqlite_utils would import them (its column types for their values); blocked while it
    imports, they cost neither start-up time nor a bigger heap, and still import later."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from mlops_desk.core.store import Store\n"
        f"store = Store({str(tmp_path / 'r.db')!r})\n"
        "store.db['models'].count\n"
        "assert 'pandas' not in sys.modules and 'numpy' not in sys.modules, 'loaded'\n"
        "import pandas, numpy\n"
        "assert 'pandas' in sys.modules\n"
        "store.db.execute('select 1')\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
