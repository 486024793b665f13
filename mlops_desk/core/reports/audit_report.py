"""The audit report's facts: the events in a time range, the chain check and its head.

At most ``MAX_EVENTS`` events are listed (the newest of the range) so a report of a busy
registry stays small; the report says how many the range holds. The verification covers
the whole chain, not only the range: a break anywhere makes every event suspect.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from mlops_desk.core import audit
from mlops_desk.core.audit_search import parse_date, search_events
from mlops_desk.core.reports.common import clean, header
from mlops_desk.core.store import Store

MAX_EVENTS = 5_000
__all__ = ["MAX_EVENTS", "build_audit_report", "parse_date"]


def build_audit_report(store: Store, *, since: str | None = None,
                       until: str | None = None) -> dict[str, Any]:
    """Events with ``since <= ts < until`` (dates are UTC; ``until`` a day means its start)."""
    found = search_events(store, since=since, until=until, limit=MAX_EVENTS)
    result = audit.verify(store)
    span = f"{since or 'the beginning'} to {until or 'now'}"
    report = header(store, "audit", f"Audit log: {span}", "audit")
    report.update({
        "range": {"since": parse_date(since, "start"), "until": parse_date(until, "end")},
        "verify": {"ok": result.ok, "n_events": result.n_events,
                   "first_bad_id": result.first_bad_id, "problem": result.problem},
        "n_events": found.total,
        "truncated": found.truncated,
        "events": [asdict(event) for event in found.events],
    })
    return clean(report)

