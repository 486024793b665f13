"""The audit log: every change appends; tampering is found by verify, even with the file in hand.

The attacker here can write the database file (drop the triggers, rewrite rows, recompute
SHA-256 hashes) but holds neither the audit key nor the checkpoint kept outside it.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mlops_desk.core import audit, audit_checkpoint, registry, schema, secrets
from mlops_desk.core import store as store_module
from mlops_desk.core.datasets import import_dataset
from mlops_desk.core.errors import BadInput, StoreError
from mlops_desk.core.store import Store
from tests.support.memory_keyring import MemoryKeyring

FIELDS = ("id", "ts", "user", "action", "subject", "details", "prev_hash", "hash")


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


def registry_id(store: Store) -> str:
    return store.db.execute("SELECT value FROM meta WHERE key = 'registry_id'").fetchone()[0]


def checkpoint_of(store: Store) -> audit_checkpoint.Checkpoint | None:
    return audit_checkpoint.load(registry_id(store))


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
    result = audit.verify(history)
    assert (result.ok, result.n_events, result.hmac_from, result.checkpoint_count) == (
        True, 6, 1, 6)
    assert result.summary().startswith("audit log intact: 6 events")
    assert "SHA-256" not in result.summary()  # a new registry is HMAC-chained from event 1


def test_a_fresh_registry_verifies_intact_with_its_key_outside_the_database(
        store: Store, db_path: Path) -> None:
    result = audit.verify(store)
    assert (result.ok, result.n_events, result.head) == (True, 0, audit.GENESIS)
    rid = registry_id(store)
    key_file = secrets.audit_key_file(rid)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert checkpoint_of(store) == audit_checkpoint.Checkpoint(rid, 0, audit.GENESIS, 1,
                                                              str(db_path))
    key_hex = key_file.read_text().strip()
    assert key_hex.encode() not in db_path.read_bytes()


def test_the_key_goes_to_the_os_keyring_where_one_works(
        db_path: Path, memory_keyring: MemoryKeyring, monkeypatch) -> None:
    monkeypatch.setenv(secrets.AUDIT_KEY_STORE_ENV, "auto")
    store = Store(db_path)
    try:
        registry.create_model(store, "triage")
        rid = registry_id(store)
        assert (secrets.AUDIT_KEYRING_SERVICE, rid) in memory_keyring.passwords
        assert not secrets.audit_key_file(rid).exists()
        assert audit.verify(store).ok
        del memory_keyring.passwords[(secrets.AUDIT_KEYRING_SERVICE, rid)]
        result = audit.verify(store)
        assert not result.ok
        assert "audit key of this registry is missing" in result.problem
        assert "OS keyring" in result.problem
    finally:
        store.close()


def test_a_refused_change_appends_nothing_and_leaves_the_checkpoint(history: Store) -> None:
    before = checkpoint_of(history)
    with pytest.raises(Exception, match="already exists"):
        registry.create_model(history, "triage")
    assert len(audit.list_events(history)) == 6
    assert checkpoint_of(history) == before


def test_a_rolled_back_change_never_moves_the_checkpoint(history: Store) -> None:
    before = checkpoint_of(history)
    with pytest.raises(RuntimeError), history.transaction():
        audit.append(history, "model.create", "model:ghost")
        raise RuntimeError("the change this event recorded failed")
    assert checkpoint_of(history) == before
    assert audit.verify(history).ok
    # A savepoint that rolls back inside a committed transaction: its event is gone, and
    # the checkpoint follows what was committed, not what was appended.
    with history.transaction():
        with pytest.raises(RuntimeError), history.transaction():
            audit.append(history, "model.create", "model:ghost")
            raise RuntimeError("inner step failed")
        audit.append(history, "model.create", "model:kept")
    assert [e["subject"] for e in audit.list_events(history)][-1] == "model:kept"
    assert checkpoint_of(history).count == 7
    assert audit.verify(history).ok


def test_the_log_refuses_edits_through_sql(history: Store) -> None:
    for sql in ("UPDATE audit SET user = 'mallory'", "DELETE FROM audit WHERE id = 6"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            history.db.execute(sql)


def tamper(db_path: Path, *statements: str, params=()) -> None:
    """What an attacker with the file does: drop the guards, then rewrite rows."""
    conn = sqlite3.connect(db_path)
    try:
        conn.execute("DROP TRIGGER IF EXISTS audit_append_only_update")
        conn.execute("DROP TRIGGER IF EXISTS audit_append_only_delete")
        for sql in statements:
            conn.execute(sql, params if "?" in sql else ())
        conn.commit()
    finally:
        conn.close()


def recompute_sha256_chain(db_path: Path) -> None:
    """Re-link every event with plain SHA-256, as the pre-HMAC log allowed."""
    conn = sqlite3.connect(db_path)
    try:
        prev = audit.GENESIS
        rows = conn.execute("SELECT id, ts, user, action, subject, details FROM audit "
                            "ORDER BY id").fetchall()
        for event_id, ts, user, action, subject, details in rows:
            digest = audit._event_hash(prev, event_id, ts, user, action, subject, details)
            conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?",
                         [prev, digest, event_id])
            prev = digest
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('audit_head', ?)",
                     [json.dumps([len(rows), prev])])
        conn.commit()
    finally:
        conn.close()


def test_an_edited_event_is_found(history: Store, db_path: Path) -> None:
    tamper(db_path, "UPDATE audit SET details = '{\"note\":\"nothing to see\"}' WHERE id = 3")
    result = audit.verify(history)
    assert (result.ok, result.first_bad_id) == (False, 3)
    assert "edited" in result.problem


def test_an_event_edited_into_bytes_is_found(history: Store, db_path: Path) -> None:
    tamper(db_path, "UPDATE audit SET user = CAST(x'ff' AS TEXT) WHERE id = 2")
    result = audit.verify(history)
    assert not result.ok and "not text" in result.problem
    tamper(db_path, "UPDATE audit SET user = x'00' WHERE id = 2")
    result = audit.verify(history)
    assert (result.ok, result.first_bad_id) == (False, 2)


def test_a_chain_recomputed_with_sha256_is_found(history: Store, db_path: Path) -> None:
    tamper(db_path, "UPDATE audit SET user = 'mallory', details = '{}' WHERE id = 3")
    recompute_sha256_chain(db_path)
    result = audit.verify(history)
    assert (result.ok, result.first_bad_id) == (False, 1)
    assert "edited" in result.problem


def test_an_event_appended_with_a_well_linked_sha256_hash_is_found(
        history: Store, db_path: Path) -> None:
    prev = history.db.execute("SELECT hash FROM audit WHERE id = 6").fetchone()[0]
    forged = audit._event_hash(prev, 7, "2030-01-01T00:00:00.000000Z", "mallory", "x", "y", "{}")
    tamper(db_path, "INSERT INTO audit VALUES (7, '2030-01-01T00:00:00.000000Z', 'mallory', "
                    f"'x', 'y', '{{}}', '{prev}', '{forged}')")
    result = audit.verify(history)
    assert (result.ok, result.first_bad_id) == (False, 7)


def test_an_inserted_event_is_found(history: Store, db_path: Path) -> None:
    # Make room at id 3 and slip in an event whose own (SHA-256) hash is right.
    prev = history.db.execute("SELECT hash FROM audit WHERE id = 2").fetchone()[0]
    forged = audit._event_hash(prev, 3, "2020-01-01T00:00:00.000000Z", "mallory",
                               "model.delete", "model:x", "{}")
    tamper(db_path, "UPDATE audit SET id = -id WHERE id >= 3",
           "UPDATE audit SET id = 1 - id WHERE id < 0",
           "INSERT INTO audit VALUES (3, '2020-01-01T00:00:00.000000Z', 'mallory', "
           f"'model.delete', 'model:x', '{{}}', '{prev}', '{forged}')")
    result = audit.verify(history)
    assert (result.ok, result.first_bad_id) == (False, 3)


def test_a_deleted_event_in_the_middle_is_found(history: Store, db_path: Path) -> None:
    tamper(db_path, "DELETE FROM audit WHERE id = 4")
    result = audit.verify(history)
    assert (result.ok, result.first_bad_id) == (False, 4)
    assert "deleted" in result.problem


@pytest.mark.parametrize("keep", [5, 3])
def test_truncating_the_newest_events_is_found(history: Store, db_path: Path, keep: int) -> None:
    tamper(db_path, f"DELETE FROM audit WHERE id > {keep}")
    result = audit.verify(history)
    assert (result.ok, result.first_bad_id) == (False, keep + 1)
    assert "newest" in result.problem and "deleted" in result.problem


def test_truncating_and_then_changing_more_is_still_found(history: Store, db_path: Path) -> None:
    tamper(db_path, "DELETE FROM audit WHERE id > 4")
    for name in ("a", "b", "c"):  # the app goes on, appending events 5, 6 and 7
        registry.create_model(history, name)
    result = audit.verify(history)
    assert (result.ok, result.first_bad_id) == (False, 6)
    assert "does not match the checkpoint" in result.problem
    assert checkpoint_of(history).count == 6  # kept as evidence, not moved over the gap


def test_a_wiped_log_is_found(history: Store, db_path: Path) -> None:
    tamper(db_path, "DELETE FROM audit")
    result = audit.verify(history)
    assert not result.ok
    assert result.problem == "the audit log was emptied: the checkpoint says 6 events"


def test_a_dropped_audit_table_is_one_line(history: Store, db_path: Path) -> None:
    tamper(db_path, "DROP TABLE audit")
    result = audit.verify(history)
    assert not result.ok
    assert "audit" in result.problem and "missing" in result.problem
    with pytest.raises(StoreError, match="damaged"):
        registry.create_model(history, "after")
    Store(db_path).close()  # a damaged registry still opens, so verify can say so


def test_a_missing_key_is_one_clear_line_and_refuses_changes(history: Store) -> None:
    secrets.audit_key_file(registry_id(history)).unlink()
    result = audit.verify(history)
    assert not result.ok
    assert "audit key of this registry is missing" in result.problem
    assert "events 1 onwards can no longer be checked against forgery" in result.problem
    assert "\n" not in result.summary()
    with pytest.raises(StoreError, match="restore the key"):
        registry.create_model(history, "after")
    assert len(audit.list_events(history)) == 6


def test_a_missing_checkpoint_is_reported(history: Store) -> None:
    Path(audit_checkpoint.location(registry_id(history))).unlink()
    result = audit.verify(history)
    assert not result.ok and "no audit checkpoint" in result.problem


def test_a_changed_registry_id_is_found(history: Store, db_path: Path) -> None:
    tamper(db_path, "UPDATE meta SET value = '../../../etc/passwd' WHERE key = 'registry_id'")
    result = audit.verify(history)
    assert not result.ok and "registry id" in result.problem and "damaged" in result.problem
    tamper(db_path, "UPDATE meta SET value = ? WHERE key = 'registry_id'",
           params=["f" * 32])
    result = audit.verify(history)
    assert not result.ok and "no audit checkpoint" in result.problem


def test_expect_head_accepts_the_head_or_an_earlier_one(history: Store) -> None:
    now = audit.verify(history)
    assert audit.verify(history, expect_head=now.head.upper()).expected_at == 6
    registry.create_model(history, "later")
    grown = audit.verify(history, expect_head=now.head)
    assert (grown.ok, grown.expected_at, grown.n_events) == (True, 6, 7)
    assert "1 event added since" in grown.summary()
    other = audit.verify(history, expect_head="ab" * 32)
    assert not other.ok and "is not in the log" in other.problem
    with pytest.raises(BadInput, match="64-character"):
        audit.verify(history, expect_head="not-a-hash")


def test_a_copy_checked_after_the_original_moved_on_says_so(
        history: Store, db_path: Path, tmp_path: Path) -> None:
    copy = history.backup(tmp_path / "copy.db")
    registry.create_model(history, "only-in-the-original")
    old = Store(copy)
    try:
        result = audit.verify(old)
        assert not result.ok and "newest event 7 was deleted" in result.problem
        assert f"last written for {db_path}" in result.problem
    finally:
        old.close()


def test_the_chain_continues_after_reopening(history: Store, db_path: Path) -> None:
    history.close()
    reopened = Store(db_path)
    try:
        registry.create_model(reopened, "second")
        result = audit.verify(reopened)
        assert (result.ok, result.n_events, result.checkpoint_count) == (True, 7, 7)
    finally:
        reopened.close()


def test_a_lagging_checkpoint_still_verifies_and_says_so(history: Store) -> None:
    """A process killed between commit and checkpoint write: the events stay HMAC-checked."""
    saved = checkpoint_of(history)
    registry.create_model(history, "late")
    audit_checkpoint.save(saved)
    result = audit.verify(history)
    assert (result.ok, result.n_events) == (True, 7)
    assert "the checkpoint lags by 1 event " in result.summary()
    registry.create_model(history, "next")
    assert checkpoint_of(history).count == 8


# -- registries from before the key --------------------------------------------


def write_legacy_registry(db_path: Path, monkeypatch, n_events: int) -> None:
    """A schema-2 registry with plain SHA-256 events and meta.audit_head, as the old code wrote."""
    with monkeypatch.context() as mp:
        mp.setattr(store_module, "MIGRATIONS", schema.MIGRATIONS[:2])
        mp.setattr(store_module, "SCHEMA_VERSION", 2)
        Store(db_path).close()
    conn = sqlite3.connect(db_path)
    prev = audit.GENESIS
    for event_id in range(1, n_events + 1):
        row = [event_id, f"2025-01-0{event_id}T00:00:00.000000Z", "alice", "model.create",
               f"model:m{event_id}", "{}"]
        digest = audit._event_hash(prev, *row)
        conn.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [*row, prev, digest])
        prev = digest
    conn.execute("INSERT INTO meta VALUES ('audit_head', ?)", [json.dumps([n_events, prev])])
    conn.commit()
    conn.close()


def test_an_older_registry_switches_to_hmac_with_an_event(db_path: Path, monkeypatch) -> None:
    write_legacy_registry(db_path, monkeypatch, 3)
    store = Store(db_path)
    try:
        events = audit.list_events(store)
        assert [e["action"] for e in events] == ["model.create"] * 3 + ["audit.keyed"]
        assert events[3]["details"]["sha256_events"] == 3
        assert events[3]["details"]["sha256_chain"] == "intact"
        assert events[3]["details"]["hmac_from"] == 4
        registry.create_model(store, "after")
        result = audit.verify(store)
        assert (result.ok, result.n_events, result.hmac_from) == (True, 5, 4)
        assert "events 1..3 predate the audit key and are only SHA-256-protected" in (
            result.summary())
        assert store.db.execute(
            "SELECT count(*) FROM meta WHERE key = 'audit_head'").fetchone()[0] == 0
    finally:
        store.close()
    # The keyed event pins the old part: recomputing it now is found.
    tamper(db_path, "UPDATE audit SET user = 'mallory' WHERE id = 2")
    recompute_sha256_chain(db_path)
    store = Store(db_path)
    try:
        result = audit.verify(store)
        assert not result.ok and result.first_bad_id == 4
    finally:
        store.close()


def test_an_older_registry_already_broken_before_the_key_stays_broken(
        db_path: Path, monkeypatch) -> None:
    write_legacy_registry(db_path, monkeypatch, 3)
    tamper(db_path, "DELETE FROM audit WHERE id = 3")  # its head record still says 3
    store = Store(db_path)
    try:
        result = audit.verify(store)
        assert not result.ok and result.first_bad_id == 2
        assert "already broken" in result.problem and "said 3 events" in result.problem
    finally:
        store.close()


# -- any single edit -------------------------------------------------------------

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
_copies = itertools.count()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=st.integers(1, 6), field=st.sampled_from(FIELDS), text=_text,
       new_id=st.integers(-10, 20))
def test_any_single_edit_to_any_field_of_any_event_is_found(
        history: Store, tmp_path: Path, event: int, field: str, text: str, new_id: int) -> None:
    old = history.db.execute(f"SELECT {field} FROM audit WHERE id = ?", [event]).fetchone()[0]
    value = new_id if field == "id" else text
    assume(value != old and not (field == "id" and 1 <= new_id <= 6))
    copy = history.backup(tmp_path / f"copy{next(_copies)}.db")
    tamper(copy, f"UPDATE audit SET {field} = ? WHERE id = ?", params=[value, event])
    edited = Store(copy)
    try:
        result = audit.verify(edited)
    finally:
        edited.close()
        os.remove(copy)
    assert not result.ok, (field, event, value)


def test_concurrent_writers_leave_the_checkpoint_at_the_head(history: Store, db_path: Path) -> None:
    """Checkpoints are written under the write lock, in commit order: none goes back."""
    import threading

    def writer(prefix: str) -> None:
        own = Store(db_path)  # its own connections, as another process would have
        try:
            for i in range(15):
                registry.create_model(own, f"{prefix}{i}")
        finally:
            own.close()

    threads = [threading.Thread(target=writer, args=(p,)) for p in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = audit.verify(history)
    assert (result.ok, result.n_events, result.checkpoint_count) == (True, 36, 36)
    assert checkpoint_of(history).head == result.head
