"""Before the store migrates or writes a file: is it an MLOps Desk registry, and is it whole?

A registry is marked by ``PRAGMA application_id`` (SQLite's header field for exactly
this) and by ``PRAGMA user_version``, the number of migrations applied. A file with
another application's id, or with tables but no migrations, is someone else's data: it
is refused and never written to (not even the WAL switch). A registry whose tables or
columns fall short of what its migrations create is damaged and refused, rather than
failing later on the first query with a traceback.

Registries made before the id existed carry id 0; they are told apart from foreign files
by their tables (at least half of ours), and stamped with the id once they check out.
Missing triggers are not checked here: the audit log's own verification reports those.

What a registry should hold is learnt by replaying the migrations on a scratch in-memory
database, so a migration must touch nothing but the connection it is given. One that
cannot be replayed there only costs this check (logged); SQLite's "no such table" still
reaches the user as a damaged database (``store.known_error``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from mlops_desk.core.errors import StoreError
from mlops_desk.core.logs import get_logger

APPLICATION_ID = 0x4D4C4F44  # "MLOD"
# Losing the audit table is tampering that `audit verify` reports (exit 1); the store must
# still open so that the check can run. Every other command then fails on it as damaged.
_CHECKED_BY_AUDIT = frozenset({"audit"})

Migration = Callable[[sqlite3.Connection], None]


class ForeignDatabase(StoreError):
    """The file holds another program's data; it was left untouched."""


class DamagedDatabase(StoreError):
    """A registry with tables or columns missing."""


def check_registry(conn: sqlite3.Connection, path: Path | str,
                   migrations: tuple[Migration, ...]) -> None:
    """Raise ``ForeignDatabase`` or ``DamagedDatabase``; only reads the file.

    ``migrations`` are the ones the file says it has applied (``user_version`` of them).
    """
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id not in (0, APPLICATION_ID):
        raise ForeignDatabase(f"{path} is not an MLOps Desk database: it belongs to another "
                              f"application (id {app_id:#x}); it was left untouched")
    present = _columns(conn)
    if not migrations:
        if present or _has_schema_objects(conn):
            raise ForeignDatabase(
                f"{path} is not an MLOps Desk database: it already holds other data "
                f"(tables: {_names(present)}); it was left untouched")
        return
    expected = expected_columns(migrations)
    if expected is None:
        return
    missing_tables = sorted(set(expected) - set(present) - _CHECKED_BY_AUDIT)
    if app_id == 0 and len(set(expected) & set(present)) * 2 < len(expected):
        raise ForeignDatabase(
            f"{path} is not an MLOps Desk database: its tables ({_names(present)}) are not "
            "a registry's; it was left untouched")
    if missing_tables:
        raise DamagedDatabase(f"database {path} is damaged: table(s) {', '.join(missing_tables)} "
                              "missing; restore it from a backup")
    for table, columns in expected.items():
        lost = sorted(columns - present.get(table, columns))
        if lost:
            raise DamagedDatabase(f"database {path} is damaged: table {table} lacks column(s) "
                                  f"{', '.join(lost)}; restore it from a backup")


def mark_as_registry(conn: sqlite3.Connection) -> None:
    """Stamp the application id (a header write; callers run it in a write transaction)."""
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")


@lru_cache(maxsize=8)
def expected_columns(migrations: tuple[Migration, ...]) -> dict[str, frozenset[str]] | None:
    """table -> columns that these migrations create, read from a scratch in-memory copy."""
    scratch = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for migration in migrations:
            migration(scratch)
        return {name: frozenset(cols) for name, cols in _columns(scratch).items()}
    except Exception:
        get_logger("store").exception("cannot replay the migrations to check a registry")
        return None
    finally:
        scratch.close()


def _columns(conn: sqlite3.Connection) -> dict[str, frozenset[str]]:
    columns: dict[str, set[str]] = {}
    for table, column in conn.execute(
            "SELECT m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c "
            "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"):
        columns.setdefault(table, set()).add(column)
    return {table: frozenset(names) for table, names in columns.items()}


def _has_schema_objects(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0


def _names(tables: dict[str, frozenset[str]], shown: int = 5) -> str:
    names = sorted(tables)
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return (", ".join(names[:shown]) + more) or "none"
