"""Append-only audit log, chained with HMAC-SHA256 under a key kept outside the database.

Each event stores the hash of the one before it, and its own hash covers its fields and
that link. The hash is an HMAC under the registry's audit key (OS keyring or a 0600 file,
see ``secrets``), and the head (count and hash) is also kept in a checkpoint outside the
database (``audit_checkpoint``), updated after every change commits. So someone who can
write the database file, but holds neither the key nor the checkpoint, cannot edit,
insert, replace or forge an event (even with the triggers dropped and every hash
recomputed: that needs the key), nor delete the newest events, empty the table or drop it
(the checkpoint's count and head no longer match). Someone holding the file *and* the key
and checkpoint can rewrite everything: that is the limit, stated in the README.

Registries older than the key keep their first events' plain SHA-256 links. The
``audit.keyed`` event that starts the HMAC part links to their head, so they cannot be
changed now; what happened to them before that event (when anyone with the file could
recompute them) cannot be ruled out, and ``verify`` says so.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import re
import sqlite3
from dataclasses import dataclass
from functools import partial
from typing import Any

from mlops_desk.core import audit_checkpoint, secrets
from mlops_desk.core.audit_checkpoint import Checkpoint, DamagedCheckpoint
from mlops_desk.core.canonical import canonical_json
from mlops_desk.core.errors import BadInput, StoreError
from mlops_desk.core.logs import get_logger
from mlops_desk.core.store import Store, utcnow

GENESIS = "0" * 64
KEYED_ACTION = "audit.keyed"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_FIELDS = "id, ts, user, action, subject, details, prev_hash, hash"

log = get_logger("audit")


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): still record something honest
        return "unknown"


def _payload(prev_hash: str, event_id: int, ts: str, user: str, action: str,
             subject: str, details: str) -> bytes:
    return canonical_json([prev_hash, event_id, ts, user, action, subject, details]).encode()


def _event_hash(prev_hash: str, event_id: int, ts: str, user: str, action: str,
                subject: str, details: str) -> str:
    """The plain SHA-256 link of events written before the registry had a key."""
    return hashlib.sha256(
        _payload(prev_hash, event_id, ts, user, action, subject, details)).hexdigest()


def _event_hmac(key: bytes, prev_hash: str, event_id: int, ts: str, user: str, action: str,
                subject: str, details: str) -> str:
    payload = _payload(prev_hash, event_id, ts, user, action, subject, details)
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


# -- reading the registry's audit state ---------------------------------------


def _damaged(exc: sqlite3.OperationalError) -> StoreError | None:
    missing = re.search(r"no such table: (\S+)", str(exc))
    if missing:
        return StoreError(f"the registry is damaged: its {missing.group(1)} table is missing")
    return None


def _meta(store: Store) -> tuple[str | None, int | None]:
    """(registry id, first HMAC-chained event) from meta; None where absent."""
    rows = dict(store.db.execute(
        "SELECT key, value FROM meta WHERE key IN ('registry_id', 'audit_hmac_from')"
    ).fetchall())
    hmac_from = rows.get("audit_hmac_from")
    try:
        start = int(hmac_from) if hmac_from is not None else None
    except (TypeError, ValueError):
        start = -1  # not a number: verify reports the disagreement with the checkpoint
    rid = rows.get("registry_id")
    return (str(rid) if rid is not None else None), start


def _last_event(store: Store) -> tuple[int, str]:
    row = store.db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


def _hash_at(store: Store, event_id: int) -> str | None:
    if event_id == 0:
        return GENESIS
    row = store.db.execute("SELECT hash FROM audit WHERE id = ?", [event_id]).fetchone()
    return None if row is None else row[0]


def _missing_key(registry_id: str) -> str:
    return (f"the audit key of this registry is missing (looked in "
            f"{secrets.audit_key_places(registry_id)})")


# -- writing ------------------------------------------------------------------


def seal(store: Store) -> None:
    """Give a registry its audit key, once: called when the store opens.

    A new registry chains with HMAC from event 1. An older one gets an ``audit.keyed``
    event that records how many events came before and whether their SHA-256 chain was
    intact at that moment.
    """
    try:
        registry_id, hmac_from = _meta(store)
        if registry_id is None or hmac_from is not None:
            return
        with store.transaction():
            _seal_locked(store)
    except sqlite3.OperationalError as exc:
        if _damaged(exc) is None:
            raise
        # A damaged registry still opens, so that verify can say what is missing.


def _seal_locked(store: Store) -> int:
    """Seal inside the caller's transaction; returns the first HMAC-chained event id."""
    registry_id, hmac_from = _meta(store)
    if registry_id is None:
        raise StoreError("the registry is damaged: its registry id is missing")
    if hmac_from is not None:
        return hmac_from
    key = secrets.load_audit_key(registry_id) or secrets.create_audit_key(registry_id)
    n, head = _last_event(store)
    hmac_from = n + 1
    if n:
        legacy = _legacy_problem(store)
        details = canonical_json({"sha256_events": n, "sha256_head": head,
                                  "sha256_chain": legacy or "intact", "hmac_from": n + 1})
        _insert(store, key, n + 1, head, KEYED_ACTION, "audit", details)
    store.db.execute("INSERT INTO meta (key, value) VALUES ('audit_hmac_from', ?)",
                     [str(hmac_from)])
    store.db.execute("DELETE FROM meta WHERE key = 'audit_head'")  # the checkpoint's job now
    store.after_commit(partial(_advance_checkpoint, store, registry_id, hmac_from))
    return hmac_from


def _legacy_problem(store: Store) -> str:
    """What was wrong with a pre-key log (checked against meta.audit_head), or ''."""
    try:
        walk = _walk(store, None, hmac_from=None)
    except sqlite3.OperationalError as exc:
        if "decode" not in str(exc):
            raise
        return "an event held bytes that are not text"
    if walk.problem:
        return f"event {walk.first_bad_id}: {walk.problem}"
    row = store.db.execute("SELECT value FROM meta WHERE key = 'audit_head'").fetchone()
    try:
        count, digest = json.loads(row[0]) if row else (0, GENESIS)
    except (ValueError, TypeError):
        return "its head record was damaged"
    if (count, digest) != (walk.n, walk.head):
        return f"its head record said {count} events, the table held {walk.n}"
    return ""


def _insert(store: Store, key: bytes, event_id: int, prev: str, action: str, subject: str,
            details: str) -> None:
    ts, user = utcnow(), os_user()
    digest = _event_hmac(key, prev, event_id, ts, user, action, subject, details)
    store.db.execute(
        f"INSERT INTO audit ({_FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [event_id, ts, user, action, subject, details, prev, digest],
    )


def append(store: Store, action: str, subject: str, details: dict[str, Any] | None = None) -> int:
    """Append one event; call inside the transaction that makes the change it records."""
    with store.transaction():
        try:
            registry_id, hmac_from = _meta(store)
            if registry_id is None or hmac_from is None:
                hmac_from = _seal_locked(store)
                registry_id = str(_meta(store)[0])
            key = secrets.load_audit_key(registry_id)
            if key is None:
                raise StoreError(f"{_missing_key(registry_id)}; changes are refused so that "
                                 "the log stays verifiable: restore the key")
            n, prev = _last_event(store)
            _insert(store, key, n + 1, prev, action, subject, canonical_json(details or {}))
        except sqlite3.OperationalError as exc:
            raise _damaged(exc) or exc from None
        store.after_commit(partial(_advance_checkpoint, store, registry_id, hmac_from))
    return n + 1


def _advance_checkpoint(store: Store, registry_id: str, hmac_from: int) -> None:
    """Move the checkpoint to the committed head; runs after the change's commit.

    It holds the write lock meanwhile, so concurrent writers move it in commit order and
    it never goes back. It only moves forward along its own chain: a log that lost events
    or diverged keeps the old checkpoint, as evidence for ``verify``.
    """
    try:
        with store.transaction():
            n, head = _last_event(store)
            old = audit_checkpoint.load(registry_id)
            if old is not None:
                if old.count == n and old.head == head:
                    return
                if (old.count > n or old.hmac_from != hmac_from
                        or _hash_at(store, old.count) != old.head):
                    log.warning("audit checkpoint of %s left at %d events: the log no longer "
                                "matches it", store.path, old.count)
                    return
            audit_checkpoint.save(Checkpoint(registry_id, n, head, hmac_from, str(store.path)))
    except (StoreError, OSError, sqlite3.Error) as exc:
        # The change itself has committed; a lagging checkpoint only delays truncation checks.
        log.warning("audit checkpoint of %s not updated: %s", store.path, exc)


# -- reading ------------------------------------------------------------------


def list_events(
    store: Store, *, limit: int | None = None, subject: str | None = None
) -> list[dict]:
    sql = "SELECT id, ts, user, action, subject, details FROM audit"
    params: list[Any] = []
    if subject:
        sql += " WHERE subject = ? OR subject LIKE ?"
        params += [subject, subject + ":%"]
    sql += " ORDER BY id DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    rows = store.db.execute(sql, params).fetchall()
    return [
        {"id": r[0], "ts": r[1], "user": r[2], "action": r[3], "subject": r[4],
         "details": json.loads(r[5])}
        for r in reversed(rows)
    ]


# -- verifying ----------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    n_events: int
    first_bad_id: int | None = None
    problem: str = ""
    head: str = GENESIS
    # Events from here on are HMAC-chained; those before only have SHA-256 links.
    hmac_from: int = 1
    checkpoint_count: int | None = None
    expected_at: int | None = None  # the event whose hash --expect-head named

    def summary(self) -> str:
        """One line for a terminal or a status bar."""
        if not self.ok:
            where = f" at event {self.first_bad_id}" if self.first_bad_id else ""
            return f"audit log broken{where}: {self.problem}"
        text = (f"audit log intact: {self.n_events} events, head {self.head[:16]}, "
                "HMAC-SHA256 chain verified against the checkpoint")
        if self.hmac_from > 1:
            text += (f"; events 1..{self.hmac_from - 1} predate the audit key and are only "
                     "SHA-256-protected")
        if self.checkpoint_count is not None and self.checkpoint_count < self.n_events:
            lag = _count(self.n_events - self.checkpoint_count, "event")
            text += f"; the checkpoint lags by {lag} (a process stopped before saving it)"
        if self.expected_at is not None and self.expected_at < self.n_events:
            added = _count(self.n_events - self.expected_at, "event")
            text += f"; the expected head is event {self.expected_at}, {added} added since"
        return text


@dataclass(frozen=True)
class _Walk:
    n: int
    head: str
    first_bad_id: int | None = None
    problem: str = ""
    expected_at: int | None = None


def _walk(store: Store, key: bytes | None, hmac_from: int | None,
          expect_head: str | None = None) -> _Walk:
    """Walk the chain; the first event that was edited, inserted or deleted.

    Ids are consecutive, so a gap is a deletion. Each event's hash covers its own
    fields and its link, so a changed field (or a renumbered event) fails its own hash;
    a broken link with a sound hash means the event before it is not the original.
    Events from ``hmac_from`` on are checked with the key, earlier ones with SHA-256.
    """
    prev_prev, prev_hash, expected_id, n, expected_at = None, GENESIS, 1, 0, None
    if expect_head == GENESIS:
        expected_at = 0
    for row in store.db.execute(f"SELECT {_FIELDS} FROM audit ORDER BY id"):
        event_id, stored_prev, stored_hash = row[0], row[6], row[7]
        n += 1
        if event_id > expected_id:
            return _Walk(n, prev_hash, expected_id, f"{_events(expected_id, event_id - 1)} "
                         "deleted")
        if event_id < expected_id:
            return _Walk(n, prev_hash, expected_id, f"event {expected_id} was renumbered")
        if not all(isinstance(v, str) for v in row[1:]):
            return _Walk(n, prev_hash, event_id, f"event {event_id} was edited")
        if key is not None and hmac_from is not None and event_id >= hmac_from:
            wanted = _event_hmac(key, stored_prev, *row[:6])
        else:
            wanted = _event_hash(stored_prev, *row[:6])
        # Bytes: compare_digest refuses non-ASCII str, and a stored hash can be anything.
        sound = hmac.compare_digest(wanted.encode(), stored_hash.encode())
        if stored_prev != prev_hash:
            if event_id > 1 and stored_prev == prev_prev:
                # This event still links to the one two back: the one between was slipped in.
                return _Walk(n, prev_hash, event_id - 1, f"event {event_id - 1} was inserted")
            if sound and event_id > 1:
                return _Walk(n, prev_hash, event_id - 1, f"event {event_id - 1} was replaced "
                             "(its successor no longer links to it)")
            return _Walk(n, prev_hash, event_id, f"event {event_id} was edited")
        if not sound:
            return _Walk(n, prev_hash, event_id, f"event {event_id} was edited")
        if expect_head is not None and stored_hash == expect_head:
            expected_at = event_id
        prev_prev, prev_hash, expected_id = prev_hash, stored_hash, expected_id + 1
    return _Walk(n, prev_hash, expected_at=expected_at)


def verify(store: Store, expect_head: str | None = None) -> VerifyResult:
    """Check the chain with the key and against the checkpoint (and ``expect_head``).

    ``expect_head`` is a head printed earlier (``audit head``): it must be the hash of an
    event of the verified chain, the newest or an older one (the log may have grown since).
    """
    if expect_head is not None:
        expect_head = expect_head.strip().lower()
        if not _HEX64.match(expect_head):
            raise BadInput("the expected head must be a 64-character hex hash "
                           "as printed with the audit log's head", hint="see 'audit head'")
    try:
        return _verify(store, expect_head)
    except sqlite3.OperationalError as exc:
        if "decode" in str(exc):  # bytes that are not UTF-8 written into a text column
            return VerifyResult(False, 0, None, "an event holds bytes that are not text: "
                                "it was edited outside MLOps Desk")
        damaged = _damaged(exc)
        if damaged is None:
            raise
        return VerifyResult(False, 0, None, str(damaged))
    except DamagedCheckpoint as exc:
        return VerifyResult(False, 0, None, str(exc))


def _verify(store: Store, expect_head: str | None) -> VerifyResult:
    registry_id, meta_hmac_from = _meta(store)
    if registry_id is None:
        return VerifyResult(False, 0, None, "the registry id is missing from the database "
                            "(it was edited outside MLOps Desk)")
    if not secrets.REGISTRY_ID.match(registry_id):
        return VerifyResult(False, 0, None, "the registry id in the database is damaged")
    checkpoint = audit_checkpoint.load(registry_id)
    if checkpoint is None:
        return VerifyResult(False, 0, None, (
            f"no audit checkpoint for this registry at {audit_checkpoint.location(registry_id)}"
            ": deleted newest events or an emptied log cannot be ruled out (was the database "
            "copied from another machine or account?)"))
    key = secrets.load_audit_key(registry_id)
    if key is None:
        return VerifyResult(False, 0, None, (
            f"{_missing_key(registry_id)}: events {checkpoint.hmac_from} onwards can no longer "
            "be checked against forgery"))
    if meta_hmac_from != checkpoint.hmac_from:
        return VerifyResult(False, 0, None, (
            f"the database says the HMAC chain starts at event {meta_hmac_from}, the "
            f"checkpoint says {checkpoint.hmac_from}"))
    walk = _walk(store, key, checkpoint.hmac_from, expect_head)
    result = partial(VerifyResult, n_events=walk.n, head=walk.head,
                     hmac_from=checkpoint.hmac_from, checkpoint_count=checkpoint.count,
                     expected_at=walk.expected_at)
    if walk.problem:
        return result(False, first_bad_id=walk.first_bad_id, problem=walk.problem)
    problem = _against_checkpoint(store, walk, checkpoint)
    if problem:
        return result(False, first_bad_id=problem[0], problem=problem[1])
    if checkpoint.hmac_from > 1:
        legacy = _keyed_event_verdict(store, checkpoint.hmac_from)
        if legacy:
            return result(False, first_bad_id=checkpoint.hmac_from - 1, problem=legacy)
    if expect_head is not None and walk.expected_at is None:
        return result(False, problem=(
            f"the expected head {expect_head[:16]} is not in the log (it was rewritten, or "
            "the hash belongs to another registry)"))
    return result(True)


def _against_checkpoint(store: Store, walk: _Walk, cp: Checkpoint) -> tuple[int, str] | None:
    copy_hint = ""
    if cp.db and cp.db != str(store.path):
        copy_hint = f" (the checkpoint was last written for {cp.db}: is this a copy or a backup?)"
    if walk.n < cp.count:
        if walk.n == 0:
            return 1, f"the audit log was emptied: the checkpoint says {cp.count} events{copy_hint}"
        return walk.n + 1, f"the newest {_events(walk.n + 1, cp.count)} deleted{copy_hint}"
    if _hash_at(store, cp.count) != cp.head:
        return cp.count, (f"event {cp.count} does not match the checkpoint: events were deleted "
                          f"and others added since{copy_hint}")
    return None


def _keyed_event_verdict(store: Store, keyed_id: int) -> str:
    """The pre-key chain's state as recorded when the key was made ('' when it was intact)."""
    row = store.db.execute("SELECT action, details FROM audit WHERE id = ?",
                           [keyed_id]).fetchone()
    try:
        details = json.loads(row[1]) if row and row[0] == KEYED_ACTION else None
    except ValueError:
        details = None
    if not isinstance(details, dict):
        return f"event {keyed_id} should record the switch to the audit key and does not"
    state = details.get("sha256_chain")
    if state == "intact":
        return ""
    return f"before the audit key was made, the older SHA-256 chain was already broken: {state}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _events(first: int, last: int) -> str:
    return f"event {first} was" if first == last else f"events {first}..{last} were"
