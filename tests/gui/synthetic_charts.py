"""A synthetic 10,000-run chart series, for the chart test and bench/bench_charts.py."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from mlops_desk.core.timeseries import METRICS, ChartData, Marker, Series


def synthetic(n: int) -> ChartData:
    start = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    series = Series("big")
    for i in range(n):
        series.run_ids.append(i + 1)
        series.versions.append(1 + i // 1000)
        series.datasets.append("d")
        series.x.append(start + i * 3600.0)
        accuracy = 0.7 + 0.2 * math.sin(i / 300)
        values = {"accuracy": accuracy, "ci_low": accuracy - 0.03, "ci_high": accuracy + 0.03,
                  "latency_p95_ms": 200 + (i % 97), "error_rate": (i % 13) / 500,
                  "cost_per_1k": 0.4 + (i % 7) / 100, "n_rows": 500}
        for key, _ in METRICS:
            series.values[key].append(values[key])
    markers = [Marker(start + k * 1000 * 3600.0, "big", "version", f"v{k + 1}", "")
               for k in range(n // 1000)]
    return ChartData([series], markers, n, 1)
