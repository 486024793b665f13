"""Append-only, hash-chained audit log.

Each event stores the hash of the one before it, and ``meta.audit_head`` holds the
count and hash of the last event, so editing, inserting or deleting any event
(including the newest) breaks a link that ``verify`` reports.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from mlops_desk.core.canonical import canonical_json
from mlops_desk.core.store import Store, utcnow

GENESIS = "0" * 64


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): still record something honest
        return "unknown"


def _event_hash(prev_hash: str, event_id: int, ts: str, user: str, action: str,
                subject: str, details: str) -> str:
    payload = canonical_json([prev_hash, event_id, ts, user, action, subject, details])
    return hashlib.sha256(payload.encode()).hexdigest()


def append(store: Store, action: str, subject: str, details: dict[str, Any] | None = None) -> int:
    """Append one event; call inside the transaction that makes the change it records."""
    db = store.db
    with store.transaction():
        head = _head(store)
        event_id = head[0] + 1
        ts, user = utcnow(), os_user()
        details_text = canonical_json(details or {})
        digest = _event_hash(head[1], event_id, ts, user, action, subject, details_text)
        db.execute(
            "INSERT INTO audit (id, ts, user, action, subject, details, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [event_id, ts, user, action, subject, details_text, head[1], digest],
        )
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('audit_head', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [json.dumps([event_id, digest])],
        )
    return event_id


def _head(store: Store) -> tuple[int, str]:
    row = store.db.execute("SELECT value FROM meta WHERE key = 'audit_head'").fetchone()
    if row is None:
        return 0, GENESIS
    count, digest = json.loads(row[0])
    return int(count), str(digest)


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


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    n_events: int
    first_bad_id: int | None = None
    problem: str = ""


def verify(store: Store) -> VerifyResult:
    """Walk the chain; report the first event that was edited, inserted or deleted.

    Ids are consecutive, so a gap is a deletion. Each event's hash covers its own
    fields and its link, so a changed field (or a renumbered event) fails its own hash;
    a broken link with a sound hash means the event before it is not the original.
    """
    prev_prev, prev_hash, expected_id, n = None, GENESIS, 1, 0
    cursor = store.db.execute(
        "SELECT id, ts, user, action, subject, details, prev_hash, hash FROM audit ORDER BY id"
    )
    for event_id, ts, user, action, subject, details, stored_prev, stored_hash in cursor:
        n += 1
        if event_id != expected_id:
            return VerifyResult(False, n, expected_id,
                                f"{_events(expected_id, event_id - 1)} deleted")
        sound = _event_hash(stored_prev, event_id, ts, user, action, subject,
                            details) == stored_hash
        if stored_prev != prev_hash:
            if event_id > 1 and stored_prev == prev_prev:
                # This event still links to the one two back: the one between was slipped in.
                return VerifyResult(False, n, event_id - 1, f"event {event_id - 1} was inserted")
            if sound and event_id > 1:
                return VerifyResult(False, n, event_id - 1,
                                    f"event {event_id - 1} was replaced (its successor no "
                                    "longer links to it)")
            return VerifyResult(False, n, event_id, f"event {event_id} was edited")
        if not sound:
            return VerifyResult(False, n, event_id, f"event {event_id} was edited")
        prev_prev, prev_hash, expected_id = prev_hash, stored_hash, expected_id + 1
    head_count, head_hash = _head(store)
    if head_count != n or head_hash != prev_hash:
        if head_count > n:
            return VerifyResult(False, n, n + 1,
                                f"the newest {_events(n + 1, head_count)} deleted")
        if head_count == n:
            return VerifyResult(False, n, n, f"event {n} was replaced")
        return VerifyResult(False, n, head_count + 1,
                            f"event(s) after {head_count} were added outside MLOps Desk")
    return VerifyResult(True, n)


def _events(first: int, last: int) -> str:
    return f"event {first} was" if first == last else f"events {first}..{last} were"
