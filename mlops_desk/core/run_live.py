"""What a run has produced so far, read while it goes: partial metrics and new rows.

The numbers count exactly as ``metrics.compute_metrics`` does (see its docstring), over the
rows stored so far; they are computed in SQL so a poll during a big run stays cheap:

- a row is scored when ``correct`` is set or it errored with an expected value (as wrong);
- accuracy is right / scored with the Wilson 95% interval;
- latency (mean, p50, p95) uses rows that were sent, not cached, and did not error;
- cost sums the rows that were sent (None when no row reported one).
"""

from __future__ import annotations

import math
from typing import Any

from mlops_desk.core import runs
from mlops_desk.core.metrics import percentile, wilson_interval
from mlops_desk.core.store import Store

_ERRORED = "(error_class IS NOT NULL AND error_class != '')"
_SCORED = (f"(correct IS NOT NULL OR ({_ERRORED} AND expected IS NOT NULL "
           "AND trim(expected) != ''))")
_SENT_OK = f"(NOT cached AND NOT {_ERRORED} AND latency_ms IS NOT NULL)"


def partial_metrics(store: Store, run_id: int) -> dict[str, Any]:
    """The run's metrics over the rows stored so far (the keys the metric cards read)."""
    n_rows, n_scored, n_correct, n_errors, n_cached, n_sent, latency_mean, cost = \
        store.db.execute(
            f"SELECT count(*), coalesce(sum({_SCORED}), 0), "
            f"coalesce(sum({_SCORED} AND coalesce(correct, 0) != 0 AND NOT {_ERRORED}), 0), "
            f"coalesce(sum({_ERRORED}), 0), coalesce(sum(cached != 0), 0), "
            f"coalesce(sum({_SENT_OK}), 0), avg(CASE WHEN {_SENT_OK} THEN latency_ms END), "
            # like metrics: None only when no row reported a cost; cached rows add nothing
            "CASE WHEN count(cost) THEN coalesce(sum(CASE WHEN NOT cached THEN cost END), 0) "
            "END "
            "FROM run_results WHERE run_id = ?", [run_id]).fetchone()
    metrics: dict[str, Any] = {
        "n_rows": n_rows, "n_scored": n_scored, "n_correct": n_correct,
        "n_errors": n_errors, "n_cached": n_cached,
        "error_rate": n_errors / n_rows if n_rows else None,
        "latency_mean_ms": latency_mean, "total_cost": cost,
        "cost_per_1k": cost / n_rows * 1000 if cost is not None and n_rows else None,
        "accuracy": None, "accuracy_ci_low": None, "accuracy_ci_high": None,
    }
    if n_scored:
        low, high = wilson_interval(n_correct, n_scored)
        metrics.update(accuracy=n_correct / n_scored, accuracy_ci_low=low,
                       accuracy_ci_high=high)
    for q in (50, 95):
        metrics[f"latency_p{q}_ms"] = _percentile(store, run_id, n_sent, q)
    return metrics


def _percentile(store: Store, run_id: int, n_sent: int, q: float) -> float | None:
    """numpy's linear percentile from the (at most two) ordered values it needs."""
    if not n_sent:
        return None
    position = q / 100 * (n_sent - 1)
    low = math.floor(position)
    values = [r[0] for r in store.db.execute(
        f"SELECT latency_ms FROM run_results WHERE run_id = ? AND {_SENT_OK} "
        "ORDER BY latency_ms LIMIT 2 OFFSET ?", [run_id, low])]
    if len(values) == 1 or position == low:
        return values[0]
    # the same interpolation as metrics.percentile, on the two neighbours
    return percentile([values[0], values[1]], (position - low) * 100)


def rows_since(store: Store, run_id: int, since: str | None, *,
               filter: runs.ResultFilter | None = None,
               limit: int = 2_000) -> list[dict[str, Any]]:
    """Rows stored at or after ``since`` (their ``finished_at``), in the order they came.

    The engine's writer commits rows in the order they finished, so asking again from the
    newest ``finished_at`` seen (and dropping the rows already shown) misses none.
    """
    return runs.fetch_results(store, run_id, filter=filter, stored_since=since,
                              sort="finished_at", limit=limit)
