"""Find audit events by words and a time range (the Audit page and the audit report).

Times are UTC. A range is ``since <= ts < until``; a bare date means the start of that day,
so ``until=2026-11-28`` ends with the last event of the 27th. The search looks for the text,
ignoring case, in the action, subject, user and details of each event, or matches an event
id when the text is a number. At most ``limit`` events come back, the newest of the range,
oldest first; ``total`` says how many matched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlops_desk.core.errors import BadInput
from mlops_desk.core.store import Store

DEFAULT_LIMIT = 2_000


@dataclass(frozen=True)
class AuditEvent:
    id: int
    ts: str
    user: str
    action: str
    subject: str
    details: str  # compact JSON text, as stored when it does not parse


@dataclass(frozen=True)
class EventSearch:
    events: list[AuditEvent] = field(default_factory=list)
    total: int = 0

    @property
    def truncated(self) -> bool:
        return self.total > len(self.events)


def parse_date(text: str | None, what: str) -> str | None:
    """``2026-11-27`` or an ISO time -> the stored timestamp format (UTC), or None."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"bad {what} date {text!r}: expected YYYY-MM-DD or "
                       "YYYY-MM-DDTHH:MM (UTC)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def range_clause(since: str | None, until: str | None,
                 text: str | None = None) -> tuple[str, list[Any]]:
    """`` WHERE ...`` (or '') and its parameters for a range and an optional search text."""
    start, end = parse_date(since, "start"), parse_date(until, "end")
    if start and end and start >= end:
        raise BadInput(f"the start {since} is not before the end {until}")
    where, params = [], []
    if start:
        where.append("ts >= ?")
        params.append(start)
    if end:
        where.append("ts < ?")
        params.append(end)
    text = (text or "").strip()
    if text:
        # instr() on lower-cased text: no LIKE wildcards to escape in what people type.
        match = "instr(lower(action || ' ' || subject || ' ' || user || ' ' || details), ?) > 0"
        params.append(text.lower())
        if text.isdigit():
            match = f"({match} OR id = ?)"
            params.append(int(text))
        where.append(match)
    return (f" WHERE {' AND '.join(where)}" if where else ""), params


def search_events(store: Store, *, text: str | None = None, since: str | None = None,
                  until: str | None = None, limit: int = DEFAULT_LIMIT) -> EventSearch:
    clause, params = range_clause(since, until, text)
    total = store.db.execute(f"SELECT count(*) FROM audit{clause}", params).fetchone()[0]
    rows = store.db.execute(
        f"SELECT id, ts, user, action, subject, details FROM audit{clause} "
        f"ORDER BY id DESC LIMIT {int(limit)}", params).fetchall()
    return EventSearch([AuditEvent(r[0], r[1], r[2], r[3], r[4], compact_details(r[5]))
                        for r in reversed(rows)], total)


def compact_details(text: str) -> str:
    """Details as compact JSON text (what was stored, re-serialised only if it parses)."""
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, sort_keys=True)
    except ValueError:
        return text
