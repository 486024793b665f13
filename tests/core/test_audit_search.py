"""audit_search: a time range and search words select exactly the events a plain filter would."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_desk.core import audit
from mlops_desk.core.audit_search import search_events
from mlops_desk.core.errors import BadInput
from mlops_desk.core.store import Store

START = datetime(2026, 11, 1, tzinfo=UTC)
STEP = timedelta(hours=7)  # 40 events over ~12 days: ranges split days in every way
N_EVENTS = 40
WORDS = ("model.create", "deploy", "Triage", "reviews", "alice", "x", "50%", "_")


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture
def dated(store: Store, monkeypatch) -> Store:
    """Events 1..40 at START + (id - 1) * 7 h, with varied actions, subjects and details."""
    clock = count()
    monkeypatch.setattr(audit, "utcnow", lambda: stamp(START + next(clock) * STEP))
    for i in range(N_EVENTS):
        action = ("model.create", "deploy", "report.exported")[i % 3]
        subject = ("model:triage", "model:reviews", "audit")[i % 3]
        audit.append(store, action, subject, {"note": f"step {i} 50% done" if i % 5 == 0
                                              else f"by alice_{i}"})
    return store


def expected(store: Store, text: str, since: date | None, until: date | None) -> list[int]:
    rows = store.db.execute("SELECT id, ts, user, action, subject, details FROM audit").fetchall()
    low = stamp(datetime.combine(since, datetime.min.time(), UTC)) if since else ""
    high = stamp(datetime.combine(until, datetime.min.time(), UTC)) if until else "~"
    needle = text.strip().lower()
    return [r[0] for r in rows if low <= r[1] < high and (
        not needle or needle in " ".join(r[2:]).lower()
        or (needle.isdigit() and int(needle) == r[0]))]


days = st.none() | st.dates(min_value=date(2026, 10, 30), max_value=date(2026, 11, 16))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.sampled_from(("", *WORDS)) | st.integers(1, 45).map(str), since=days,
       until=days, limit=st.integers(1, 50))
def test_range_and_words_select_what_a_plain_filter_selects(dated: Store, text, since, until,
                                                            limit) -> None:
    if since and until and since >= until:
        with pytest.raises(BadInput, match="is not before the end"):
            search_events(dated, text=text, since=since.isoformat(), until=until.isoformat())
        return
    found = search_events(dated, text=text, since=since and since.isoformat(),
                          until=until and until.isoformat(), limit=limit)
    wanted = expected(dated, text, since, until)
    assert found.total == len(wanted)
    assert [e.id for e in found.events] == wanted[-limit:]  # the newest, oldest first
    assert found.truncated == (len(wanted) > limit)


def test_a_bad_date_is_one_plain_line(store: Store) -> None:
    with pytest.raises(BadInput) as caught:
        search_events(store, since="last tuesday")
    assert str(caught.value) == ("bad start date 'last tuesday': expected YYYY-MM-DD or "
                                 "YYYY-MM-DDTHH:MM (UTC)")
