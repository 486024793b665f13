"""The audit report's facts: the events in a time range, the chain check and its head.

At most ``MAX_EVENTS`` events are listed (the newest of the range) so a report of a busy
registry stays small; the report says how many the range holds. The verification covers
the whole chain, not only the range: a break anywhere makes every event suspect.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from mlops_desk.core import audit
from mlops_desk.core.errors import BadInput
from mlops_desk.core.reports.common import clean, header
from mlops_desk.core.store import Store

MAX_EVENTS = 5_000


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


def build_audit_report(store: Store, *, since: str | None = None,
                       until: str | None = None) -> dict[str, Any]:
    """Events with ``since <= ts < until`` (dates are UTC; ``until`` a day means its start)."""
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
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    total = store.db.execute(f"SELECT count(*) FROM audit{clause}", params).fetchone()[0]
    rows = store.db.execute(
        f"SELECT id, ts, user, action, subject, details FROM audit{clause} "
        f"ORDER BY id DESC LIMIT {MAX_EVENTS}", params).fetchall()
    result = audit.verify(store)
    span = f"{since or 'the beginning'} to {until or 'now'}"
    report = header(store, "audit", f"Audit log: {span}", "audit")
    report.update({
        "range": {"since": start, "until": end},
        "verify": {"ok": result.ok, "n_events": result.n_events,
                   "first_bad_id": result.first_bad_id, "problem": result.problem},
        "n_events": total,
        "truncated": total > len(rows),
        "events": [{"id": r[0], "ts": r[1], "user": r[2], "action": r[3], "subject": r[4],
                    "details": _details(r[5])} for r in reversed(rows)],
    })
    return clean(report)


def _details(text: str) -> str:
    """Details as compact JSON text (what was stored, re-serialised only if it parses)."""
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, sort_keys=True)
    except ValueError:
        return text
