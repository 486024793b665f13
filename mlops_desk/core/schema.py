"""Schema migrations. ``PRAGMA user_version`` counts the ones applied.

Append a new function to ``MIGRATIONS`` for every change; never edit a shipped one.
Immutability of versions, datasets and the audit log is enforced by triggers, so
no code path (ours or a stray script) can rewrite them quietly.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable

V1 = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE endpoints (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('openai', 'python')),
    base_url TEXT,
    target TEXT,
    api_key_ref TEXT NOT NULL DEFAULT '',
    timeout_s REAL NOT NULL DEFAULT 60,
    max_concurrency INTEGER NOT NULL DEFAULT 8,
    rpm INTEGER,
    tpm INTEGER,
    prices TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE models (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('classification', 'extraction', 'generation')),
    labels TEXT NOT NULL DEFAULT '[]',
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);

CREATE TABLE versions (
    id INTEGER PRIMARY KEY,
    model_id INTEGER NOT NULL REFERENCES models(id),
    number INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    config TEXT NOT NULL,
    parent_id INTEGER REFERENCES versions(id),
    note TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',
    archived INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (model_id, number),
    UNIQUE (model_id, fingerprint)
);
CREATE TRIGGER versions_immutable BEFORE UPDATE OF model_id, number, fingerprint, config,
    parent_id, created_at, created_by ON versions
BEGIN SELECT RAISE(ABORT, 'a registered version cannot be edited; register a new one'); END;
CREATE TRIGGER versions_no_delete BEFORE DELETE ON versions
BEGIN SELECT RAISE(ABORT, 'a registered version cannot be deleted; archive it'); END;

CREATE TABLE datasets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL UNIQUE,
    n_rows INTEGER NOT NULL,
    columns TEXT NOT NULL,
    input_cols TEXT NOT NULL,
    expected_col TEXT,
    validation TEXT NOT NULL,
    source_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE TRIGGER datasets_immutable BEFORE UPDATE ON datasets
BEGIN SELECT RAISE(ABORT, 'a dataset snapshot cannot be changed'); END;
CREATE TRIGGER datasets_no_delete BEFORE DELETE ON datasets
BEGIN SELECT RAISE(ABORT, 'a dataset snapshot cannot be deleted'); END;

CREATE TABLE dataset_rows (
    dataset_id INTEGER NOT NULL REFERENCES datasets(id),
    idx INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (dataset_id, idx)
) WITHOUT ROWID;
CREATE TRIGGER dataset_rows_immutable BEFORE UPDATE ON dataset_rows
BEGIN SELECT RAISE(ABORT, 'a dataset snapshot cannot be changed'); END;
CREATE TRIGGER dataset_rows_no_delete BEFORE DELETE ON dataset_rows
BEGIN SELECT RAISE(ABORT, 'a dataset snapshot cannot be changed'); END;

CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    model_id INTEGER NOT NULL REFERENCES models(id),
    version_id INTEGER NOT NULL REFERENCES versions(id),
    dataset_id INTEGER NOT NULL REFERENCES datasets(id),
    status TEXT NOT NULL CHECK (status IN
        ('queued', 'running', 'completed', 'cancelled', 'interrupted', 'failed')),
    settings TEXT NOT NULL DEFAULT '{}',
    n_total INTEGER NOT NULL,
    metrics TEXT,
    reason TEXT,
    pid INTEGER,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    elapsed_s REAL NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL
);
CREATE INDEX runs_by_model ON runs (model_id, created_at);
CREATE INDEX runs_by_version ON runs (version_id, dataset_id);

CREATE TABLE run_results (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    row_idx INTEGER NOT NULL,
    output TEXT,
    prediction TEXT,
    expected TEXT,
    correct INTEGER,
    score REAL,
    latency_ms REAL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost REAL,
    attempts INTEGER NOT NULL DEFAULT 1,
    error_class TEXT,
    error_message TEXT,
    cached INTEGER NOT NULL DEFAULT 0,
    finished_at TEXT NOT NULL,
    PRIMARY KEY (run_id, row_idx)
) WITHOUT ROWID;

CREATE TABLE response_cache (
    key TEXT PRIMARY KEY,
    output TEXT NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    created_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


def _v1(conn: sqlite3.Connection) -> None:
    for statement in _split(V1):
        conn.execute(statement)


def _split(script: str) -> list[str]:
    """Split a script into statements, keeping trigger bodies (which contain ';') whole."""
    statements, current = [], []
    for line in script.strip().splitlines():
        current.append(line)
        text = "\n".join(current).strip()
        if text.endswith(";") and sqlite3.complete_statement(text):
            statements.append(text)
            current = []
    return statements


# v2 (issue 5): environments, deployment history, gate policies, the gateway's request log.
V2 = """
CREATE TABLE environments (
    id INTEGER PRIMARY KEY,
    model_id INTEGER NOT NULL REFERENCES models(id),
    name TEXT NOT NULL,
    version_id INTEGER REFERENCES versions(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (model_id, name)
);
CREATE TRIGGER environments_no_delete BEFORE DELETE ON environments
BEGIN SELECT RAISE(ABORT, 'an environment cannot be deleted; its history refers to it'); END;

CREATE TABLE deployments (
    id INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    user TEXT NOT NULL,
    model_id INTEGER NOT NULL REFERENCES models(id),
    environment TEXT NOT NULL,
    from_version_id INTEGER REFERENCES versions(id),
    to_version_id INTEGER NOT NULL REFERENCES versions(id),
    action TEXT NOT NULL CHECK (action IN ('deploy', 'rollback')),
    reason TEXT NOT NULL DEFAULT '',
    gate_run_id INTEGER REFERENCES runs(id),
    forced INTEGER NOT NULL DEFAULT 0,
    gate_report TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX deployments_by_model ON deployments (model_id, environment, id);
CREATE TRIGGER deployments_append_only_update BEFORE UPDATE ON deployments
BEGIN SELECT RAISE(ABORT, 'the deployment history is append-only'); END;
CREATE TRIGGER deployments_append_only_delete BEFORE DELETE ON deployments
BEGIN SELECT RAISE(ABORT, 'the deployment history is append-only'); END;

CREATE TABLE gate_policies (
    id INTEGER PRIMARY KEY,
    model_id INTEGER NOT NULL REFERENCES models(id),
    environment TEXT NOT NULL,
    dataset_id INTEGER NOT NULL REFERENCES datasets(id),
    rules TEXT NOT NULL,
    non_inferior INTEGER NOT NULL DEFAULT 0,
    alpha REAL NOT NULL DEFAULT 0.05,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    UNIQUE (model_id, environment)
);

-- ts is epoch seconds (REAL): a time series that charts and per-minute buckets read directly.
CREATE TABLE gateway_requests (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    model_id INTEGER NOT NULL REFERENCES models(id),
    environment TEXT,
    version_id INTEGER NOT NULL REFERENCES versions(id),
    latency_ms REAL NOT NULL,
    status INTEGER NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost REAL,
    error TEXT,
    input_chars INTEGER,
    label TEXT,
    stream INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX gateway_requests_by_time ON gateway_requests (ts);
CREATE INDEX gateway_requests_by_model ON gateway_requests (model_id, ts);
"""

DEFAULT_ENVIRONMENTS = ("staging", "production")


def _v2(conn: sqlite3.Connection) -> None:
    for statement in _split(V2):
        conn.execute(statement)
    # Models created before v2 get the default environments, empty.
    for env in DEFAULT_ENVIRONMENTS:
        conn.execute(
            "INSERT INTO environments (model_id, name, created_at, updated_at) "
            "SELECT id, ?, created_at, created_at FROM models",
            [env],
        )


def _v3(conn: sqlite3.Connection) -> None:
    """(issue 8) A registry id that names the audit key and checkpoint kept outside the file.

    An id rather than the path: a moved file keeps its key. The key itself is made right
    after migrating (``audit.seal``), which also checks and retires ``meta.audit_head`` and
    records the switch to HMAC as an audit event.
    """
    conn.execute("INSERT INTO meta (key, value) VALUES ('registry_id', ?)", [uuid.uuid4().hex])


# v4 (issue 8): a run's owner is its PID *and* that process's start time, so a reused PID
# cannot keep a dead run 'running'. Runs an older engine marked 'completed' wrongly are
# reclassified as the new engine would have ended them: rows missing -> 'interrupted' (so
# resume finishes them), no row answered -> 'failed' (so they leave charts and summaries).
_UNANSWERED = "x.output IS NULL AND x.error_class IS NOT NULL"


def _v4(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE runs ADD COLUMN pid_started INTEGER")
    conn.execute(
        "UPDATE runs SET status = 'interrupted', reason = 'some rows were never stored "
        "(found when the database was upgraded); resume the run to finish it' "
        "WHERE status = 'completed' "
        "AND (SELECT count(*) FROM run_results x WHERE x.run_id = runs.id) < n_total")
    conn.execute(
        "UPDATE runs SET status = 'failed', reason = 'no row got an answer "
        "(found when the database was upgraded)' WHERE status = 'completed' "
        "AND EXISTS (SELECT 1 FROM run_results x WHERE x.run_id = runs.id) "
        f"AND NOT EXISTS (SELECT 1 FROM run_results x WHERE x.run_id = runs.id "
        f"AND NOT ({_UNANSWERED}))")


# v5 (issue 13): endpoints, models and datasets can be archived: hidden from lists, never
# deleted (versions, runs and deployments refer to them). A dataset snapshot stays
# immutable in every column but the flag, so its trigger now names those columns.
_DATASET_COLUMNS = ("id, name, sha256, n_rows, columns, input_cols, expected_col, validation, "
                    "source_name, created_at, created_by")


def _v5(conn: sqlite3.Connection) -> None:
    for table in ("endpoints", "models", "datasets"):
        conn.execute(f"ALTER TABLE {table} ADD COLUMN archived INTEGER NOT NULL DEFAULT 0")
    conn.execute("DROP TRIGGER datasets_immutable")
    conn.execute(f"CREATE TRIGGER datasets_immutable BEFORE UPDATE OF {_DATASET_COLUMNS} "
                 "ON datasets BEGIN SELECT RAISE(ABORT, 'a dataset snapshot cannot be "
                 "changed'); END")


def _v6(conn: sqlite3.Connection) -> None:
    """(issue 13) A model's explicitly chosen reference dataset; NULL keeps the rule (its gate
    dataset, else the one most of its runs used), so existing registries need no backfill."""
    conn.execute("ALTER TABLE models ADD COLUMN reference_dataset_id INTEGER "
                 "REFERENCES datasets(id)")


def _v7(conn: sqlite3.Connection) -> None:
    """(issue 12) Runs in their own process: a cancel request any face can record and the
    engine polls (works where signals do not, on Windows), and every try of a row (its
    error and latency) as JSON, for the row detail."""
    conn.execute("ALTER TABLE runs ADD COLUMN cancel_requested TEXT")
    conn.execute("ALTER TABLE run_results ADD COLUMN tries TEXT")


# v8 (issue 14): runs handed to a Batch API or an offline engine. Two statuses join the
# CHECK: 'submitted' (remote batches in flight) and 'awaiting-results' (an exported file
# waits for an offline engine's output). SQLite cannot alter a CHECK, so the runs table is
# rebuilt from its own stored definition (keeping columns earlier migrations added); the
# foreign keys of run_results and deployments are checked at commit, once it is whole.
V8_BATCHES = """
CREATE TABLE run_batches (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    rows TEXT NOT NULL,
    n_rows INTEGER NOT NULL,
    remote_id TEXT,
    input_file_id TEXT,
    status TEXT NOT NULL,
    n_completed INTEGER NOT NULL DEFAULT 0,
    n_failed INTEGER NOT NULL DEFAULT 0,
    output_file_id TEXT,
    error_file_id TEXT,
    errors TEXT,
    collected INTEGER NOT NULL DEFAULT 0,
    cancelled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX run_batches_by_run ON run_batches (run_id, collected);
"""
_OLD_RUN_STATUSES = "('queued', 'running', 'completed', 'cancelled', 'interrupted', 'failed')"
_NEW_RUN_STATUSES = ("('queued', 'running', 'completed', 'cancelled', 'interrupted', 'failed',"
                     "\n        'submitted', 'awaiting-results')")


def _v8(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE endpoints ADD COLUMN batch_discount REAL NOT NULL DEFAULT 0.5")
    conn.execute("PRAGMA defer_foreign_keys = ON")
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' "
                       "AND name = 'runs'").fetchone()[0]
    checked = " ".join(sql.split())
    old = " ".join(_OLD_RUN_STATUSES.split())
    if old not in checked:
        raise sqlite3.DatabaseError("unexpected definition of table runs; cannot add statuses")
    new_sql = checked.replace(old, " ".join(_NEW_RUN_STATUSES.split()), 1)
    indexes = [row[0] for row in conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runs' "
        "AND sql IS NOT NULL")]
    # Copy out, drop, recreate under the same name and copy back: inserting the parent rows
    # again resolves the deferred violations the drop counted (a rename would not).
    conn.execute("CREATE TEMP TABLE runs_copy AS SELECT * FROM runs")
    conn.execute("DROP TABLE runs")
    conn.execute(new_sql)
    conn.execute("INSERT INTO runs SELECT * FROM runs_copy")
    conn.execute("DROP TABLE runs_copy")
    for index in indexes:
        conn.execute(index)
    for statement in _split(V8_BATCHES):
        conn.execute(statement)


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8]
