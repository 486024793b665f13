"""The SQLite store: one file, WAL, one connection per thread, versioned schema.

Errors split as in qutebrowser's ``misc/sql.py``: *known* failures (locked, full,
read-only, not a database, written by a newer version) become one-line
``StoreError``s; anything else is a bug and propagates.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_desk.core.errors import StoreError
from mlops_desk.core.schema import MIGRATIONS
from mlops_desk.core.store_check import APPLICATION_ID, check_registry, mark_as_registry

if TYPE_CHECKING:
    import sqlite_utils

APP_NAME = "mlops-desk"
BUSY_TIMEOUT_S = 10.0
SCHEMA_VERSION = len(MIGRATIONS)


def _sqlite_utils():
    """sqlite_utils, imported without the pandas and numpy it loads whenever it can.

    It uses them only to pick column types for tables it creates from their values, and
    ours are created by the migrations. They cost every command ~0.35 s of start-up, and
    the window ~70,000 objects that each full garbage collection walks (~20 ms more on a
    2-core machine). An entry of None in ``sys.modules`` makes an import fail; pandas and
    numpy import normally afterwards (datasets, charts). This runs at the first opening of
    a store, on the main thread, before any pool thread could import them meanwhile.
    """
    if "sqlite_utils.db" in sys.modules:
        import sqlite_utils

        return sqlite_utils
    blocked = [name for name in ("pandas", "numpy") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import sqlite_utils
    finally:
        for name in blocked:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]
    return sqlite_utils


def default_db_path() -> Path:
    """``MLOPS_DESK_DB`` if set, else ``registry.db`` in the platform's user-data dir."""
    env = os.environ.get("MLOPS_DESK_DB")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return platformdirs.user_data_path(APP_NAME, appauthor=False) / "registry.db"


def utcnow() -> str:
    """ISO-8601 UTC timestamp with microseconds; sorts as text."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def known_error(exc: BaseException, path: Path | str) -> StoreError | None:
    """Translate a sqlite3 error we know how to explain, or return None (a bug)."""
    if not isinstance(exc, sqlite3.Error):
        return None
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return StoreError(f"database {path} is locked by another program; close it and retry")
    if "disk is full" in text or "database or disk is full" in text:
        return StoreError(f"database {path}: the disk is full; free some space and retry")
    if "readonly" in text or "read-only" in text:
        return StoreError(f"database {path} is read-only; check the file's permissions")
    if "not a database" in text or "malformed" in text or "encrypted" in text:
        return StoreError(f"{path} is not an MLOps Desk database (or it is damaged)")
    if "unable to open" in text:
        return StoreError(
            f"cannot open database {path}; check that its folder exists and is writable"
        )
    if "disk i/o error" in text:
        return StoreError(f"database {path}: disk I/O error")
    if text.startswith("no such table"):
        # The store checks its tables on opening; one gone since then was dropped under us.
        return StoreError(f"database {path} is damaged: {exc}; restore it from a backup")
    return None


@contextlib.contextmanager
def translate_errors(path: Path | str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        err = known_error(exc, path)
        if err is None:
            raise
        raise err from exc


class Store:
    """Opens (creating or migrating) the registry database.

    ``store.db`` is a ``sqlite_utils.Database`` bound to the calling thread: a
    sqlite3 connection belongs to the thread that opened it.
    """

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path is not None else default_db_path()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        try:
            with translate_errors(self.path):
                self._prepare()
        except BaseException:
            self.close()  # a refused or broken file must not stay open (and locked)
            raise

    # -- connections -------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; transaction() opens them.
        # check_same_thread=False only so close() can close every thread's connection;
        # the thread-local in ``db`` still gives each thread its own.
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        with self._lock:
            self._connections.append(conn)
        return conn

    def data_version(self) -> int:
        """A number that changes when another connection commits (PRAGMA data_version): a
        cache of what the database says is stale when it differs from the last one seen."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    @property
    def conn(self) -> sqlite3.Connection:
        """The calling thread's raw connection."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = _sqlite_utils().Database(self.conn, execute_plugins=False)
            self._local.db = db
        return db

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """One atomic unit of work; nested calls become savepoints.

        The outermost level takes the write lock up front (BEGIN IMMEDIATE): a deferred
        transaction that reads and then writes fails at once with "database is locked"
        when another connection wrote in between, whatever the busy timeout.
        """
        db = self.db
        with translate_errors(self.path):
            if db.conn.in_transaction:
                with db.atomic():
                    yield db
                return
            db.conn.execute("BEGIN IMMEDIATE")
            self._local.after_commit = []
            try:
                yield db
            except BaseException:
                self._local.after_commit = None
                if db.conn.in_transaction:
                    db.conn.execute("ROLLBACK")
                raise
            try:
                db.conn.execute("COMMIT")
            except BaseException:
                self._local.after_commit = None
                if db.conn.in_transaction:
                    db.conn.execute("ROLLBACK")
                raise
        callbacks, self._local.after_commit = self._local.after_commit, None
        for callback in callbacks or ():
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the calling thread's current transaction has committed.

        For what must only follow a change that really happened (the audit checkpoint);
        a rollback drops it. Outside a transaction opened by ``transaction()`` it is dropped.
        """
        pending = getattr(self._local, "after_commit", None)
        if pending is not None:
            pending.append(callback)

    def close(self) -> None:
        """Close every connection this store opened (call from the owning app at exit)."""
        with self._lock:
            conns, self._connections = self._connections, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()

    def close_thread_connection(self) -> None:
        """Close the calling thread's connection (worker threads call this when done)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            with self._lock:
                if conn in self._connections:
                    self._connections.remove(conn)
            conn.close()
            self._local.conn = self._local.db = None

    # -- schema ------------------------------------------------------
    def _prepare(self) -> None:
        if not self.path.parent.exists():
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the folder for database {self.path}: "
                                 f"{exc.strerror or exc}") from None
        conn = self.conn
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            # Refuse before touching anything: not even WAL mode is switched on.
            raise StoreError(
                f"database {self.path} was written by a newer MLOps Desk (schema {version}, "
                f"this version knows {SCHEMA_VERSION}); upgrade MLOps Desk or use another "
                "database file", hint="--db PATH"
            )
        # Foreign or damaged files are refused here, before the backup, migration or WAL.
        check_registry(conn, self.path, tuple(MIGRATIONS[:version]))
        if version < SCHEMA_VERSION:
            if version > 0:
                self.backup(self.path.with_name(f"{self.path.name}.bak-schema{version}"))
            self._migrate(conn, version)
        elif conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
            # A registry from before the id: stamp it if that can be done now (not read-only,
            # nobody writing); else on a later start. Never wait for it.
            conn.execute("PRAGMA busy_timeout = 0")
            with contextlib.suppress(sqlite3.OperationalError):
                mark_as_registry(conn)
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal" and str(self.path) != ":memory:":
            raise StoreError(f"database {self.path}: cannot switch to WAL mode ({mode})")
        from mlops_desk.core import audit  # audit builds on this module

        audit.seal(self)  # a new or migrated registry gets its audit key now, not later

    def _migrate(self, conn: sqlite3.Connection, version: int) -> None:
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            conn.execute("BEGIN IMMEDIATE")
            try:
                migration(conn)
                conn.execute(f"PRAGMA user_version = {number}")
                mark_as_registry(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # a failed COMMIT (I/O error) may have ended it
                    conn.execute("ROLLBACK")
                raise

    def backup(self, target: Path) -> Path:
        """A consistent copy of the database (sqlite's online backup), e.g. before a migration."""
        dest = sqlite3.connect(target)
        try:
            self.conn.backup(dest)
        finally:
            dest.close()
        return target

    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

