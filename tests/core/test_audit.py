"""The audit log: every change appends; tampering with raw SQL is found by verify."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mlops_desk.core import audit, registry
from mlops_desk.core.datasets import import_dataset
from mlops_desk.core.store import Store


@pytest.fixture
def history(store: Store, tmp_path: Path) -> Store:
    """Six events, one of each kind of change."""
    registry.add_endpoint(store, "local", base_url="http://127.0.0.1:9/v1")
    registry.update_endpoint(store, "local", timeout_s=5)
    registry.create_model(store, "triage", labels=["a", "b"])
    config = registry.make_config(endpoint="local", model_id="m", template="{text}")
    registry.register_version(store, "triage", config)
    registry.set_version_meta(store, "triage", 1, note="first")
    csv = tmp_path / "tickets.csv"
    csv.write_text("text,label\nhello,a\nbye,b\n", encoding="utf-8")
    import_dataset(store, csv, "tickets", expected_col="label")
    return store


def test_every_change_appends_an_event(history: Store) -> None:
    events = audit.list_events(history)
    assert [(e["action"], e["subject"]) for e in events] == [
        ("endpoint.add", "endpoint:local"), ("endpoint.edit", "endpoint:local"),
        ("model.create", "model:triage"), ("version.register", "triage:1"),
        ("version.edit", "triage:1"), ("dataset.import", "dataset:tickets"),
    ]
    assert [e["id"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert all(e["ts"].endswith("Z") and e["user"] for e in events)
    assert events[4]["details"] == {"note": "first"}
    assert [e["id"] for e in audit.list_events(history, subject="triage:1")] == [4, 5]
    assert audit.verify(history) == audit.VerifyResult(True, 6)


def test_a_refused_change_appends_nothing(history: Store) -> None:
    with pytest.raises(Exception, match="already exists"):
        registry.create_model(history, "triage")
    assert len(audit.list_events(history)) == 6


def test_the_log_refuses_edits_through_sql(history: Store) -> None:
    for sql in ("UPDATE audit SET user = 'mallory'", "DELETE FROM audit WHERE id = 6"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            history.db.execute(sql)


def tamper(db_path: Path, *statements: str, params=()) -> None:
    """What an attacker with the file does: drop the guards, then rewrite rows."""
    conn = sqlite3.connect(db_path)
    try:
        conn.execute("DROP TRIGGER audit_append_only_update")
        conn.execute("DROP TRIGGER audit_append_only_delete")
        for sql in statements:
            conn.execute(sql, params if "?" in sql else ())
        conn.commit()
    finally:
        conn.close()


def test_an_edited_event_is_found(history: Store, db_path: Path) -> None:
    tamper(db_path, "UPDATE audit SET details = '{\"note\":\"nothing to see\"}' WHERE id = 3")
    result = audit.verify(history)
    assert (result.ok, result.first_bad_id) == (False, 3)
    assert "edited" in result.problem


def test_an_edited_event_with_a_recomputed_hash_is_found(history: Store, db_path: Path) -> None:
    row = history.db.execute("SELECT id, ts, user, action, subject, prev_hash FROM audit "
                             "WHERE id = 3").fetchone()
    forged = audit._event_hash(row[5], row[0], row[1], "mallory", row[3], row[4], "{}")
    tamper(db_path, "UPDATE audit SET user = 'mallory', details = '{}', hash = ? WHERE id = 3",
           params=[forged])
    result = audit.verify(history)
    assert (result.ok, result.first_bad_id) == (False, 3)


def test_an_inserted_event_is_found(history: Store, db_path: Path) -> None:
    # Make room at id 3 and slip in an event whose own hash is right.
    prev = history.db.execute("SELECT hash FROM audit WHERE id = 2").fetchone()[0]
    forged = audit._event_hash(prev, 3, "2020-01-01T00:00:00.000000Z", "mallory",
                               "model.delete", "model:x", "{}")
    tamper(db_path, "UPDATE audit SET id = -id WHERE id >= 3",
           "UPDATE audit SET id = 1 - id WHERE id < 0",
           "INSERT INTO audit VALUES (3, '2020-01-01T00:00:00.000000Z', 'mallory', "
           f"'model.delete', 'model:x', '{{}}', '{prev}', '{forged}')")
    result = audit.verify(history)
    assert (result.ok, result.first_bad_id) == (False, 3)
    assert "inserted" in result.problem


def test_an_event_added_at_the_end_is_found(history: Store, db_path: Path) -> None:
    prev = history.db.execute("SELECT hash FROM audit WHERE id = 6").fetchone()[0]
    forged = audit._event_hash(prev, 7, "2030-01-01T00:00:00.000000Z", "mallory", "x", "y", "{}")
    tamper(db_path, "INSERT INTO audit VALUES (7, '2030-01-01T00:00:00.000000Z', 'mallory', "
                    f"'x', 'y', '{{}}', '{prev}', '{forged}')")
    result = audit.verify(history)
    assert (result.ok, result.first_bad_id) == (False, 7)


def test_a_deleted_event_in_the_middle_is_found(history: Store, db_path: Path) -> None:
    tamper(db_path, "DELETE FROM audit WHERE id = 4")
    result = audit.verify(history)
    assert (result.ok, result.first_bad_id) == (False, 4)
    assert "deleted" in result.problem


def test_deleting_the_newest_event_is_found(history: Store, db_path: Path) -> None:
    tamper(db_path, "DELETE FROM audit WHERE id = 6")
    result = audit.verify(history)
    assert (result.ok, result.first_bad_id) == (False, 6)
    assert "newest" in result.problem


def test_the_chain_continues_after_reopening(history: Store, db_path: Path) -> None:
    history.close()
    reopened = Store(db_path)
    try:
        registry.create_model(reopened, "second")
        assert audit.verify(reopened) == audit.VerifyResult(True, 7)
    finally:
        reopened.close()
