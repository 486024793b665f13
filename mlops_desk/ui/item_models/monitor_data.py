"""What the Monitor page shows, read in one task: traffic series per version, totals, drift.

The series are put on a regular time grid here, in the worker, so the GUI thread only hands
arrays to pyqtgraph: minutes without traffic are zero requests and gaps (NaN) in latency,
error rate and cost. Long windows use wider buckets so a chart never holds more than a few
hundred points per version.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from mlops_desk.core import monitoring
from mlops_desk.core.monitoring import DriftReport, DriftThresholds
from mlops_desk.core.store import Store

WINDOWS = (("15 minutes", 900), ("1 hour", 3600), ("6 hours", 6 * 3600),
           ("24 hours", 86400), ("7 days", 7 * 86400))
MAX_POINTS = 240
NAN = math.nan


def bucket_for(window_s: float) -> int:
    """Whole minutes, as few as keep the window under ``MAX_POINTS`` buckets."""
    return 60 * max(1, math.ceil(window_s / 60 / MAX_POINTS))


@dataclass
class VersionSeries:
    version: int
    x: list[float] = field(default_factory=list)  # bucket starts, epoch seconds
    per_minute: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p95_ms: list[float] = field(default_factory=list)
    error_rate: list[float] = field(default_factory=list)  # fraction
    cost_per_minute: list[float] = field(default_factory=list)


@dataclass
class MonitorData:
    model: str
    environment: str
    window_s: float
    bucket_s: int
    since: float
    until: float
    summary: dict[str, Any]
    series: list[VersionSeries]
    drift: DriftReport
    thresholds: DriftThresholds


def _grid(since: float, until: float, bucket_s: int) -> list[float]:
    first = since // bucket_s * bucket_s
    return [first + i * bucket_s for i in range(int((until - first) // bucket_s) + 1)]


def _series(rows: list[dict[str, Any]], grid: list[float], bucket_s: int) -> list[VersionSeries]:
    by_version: dict[int, dict[float, dict[str, Any]]] = {}
    for row in rows:
        by_version.setdefault(row["version"], {})[row["t"]] = row
    per_minute = 60.0 / bucket_s
    result = []
    for number in sorted(by_version):
        buckets = by_version[number]
        s = VersionSeries(number, list(grid))
        for t in grid:
            row = buckets.get(t)
            s.per_minute.append(row["requests"] * per_minute if row else 0.0)
            s.p50_ms.append(_num(row, "latency_p50_ms"))
            s.p95_ms.append(_num(row, "latency_p95_ms"))
            s.error_rate.append(_num(row, "error_rate"))
            cost = _num(row, "cost")
            s.cost_per_minute.append(cost * per_minute if math.isfinite(cost) else NAN)
        result.append(s)
    return result


def _num(row: dict[str, Any] | None, key: str) -> float:
    value = row.get(key) if row else None
    return NAN if value is None else float(value)


def load_monitor(store: Store, model: str, *, window_s: float = 3600.0,
                 environment: str = "production", now: float | None = None,
                 thresholds: DriftThresholds | None = None) -> MonitorData:
    """Traffic and drift of ``model`` over the last ``window_s``; reads only (drift state
    changes are recorded by the gateway, on a fixed window)."""
    now = time.time() if now is None else now
    since = now - window_s
    bucket_s = bucket_for(window_s)
    thresholds = thresholds or DriftThresholds()
    rows = monitoring.traffic(store, model, since=since, until=now, bucket_s=bucket_s)
    return MonitorData(
        model=model, environment=environment, window_s=window_s, bucket_s=bucket_s,
        since=since, until=now,
        summary=monitoring.summary(store, model, since=since, until=now),
        series=_series(rows, _grid(since, now, bucket_s), bucket_s),
        drift=monitoring.check_drift(store, model, environment=environment, window_s=window_s,
                                     now=now, thresholds=thresholds),
        thresholds=thresholds,
    )
