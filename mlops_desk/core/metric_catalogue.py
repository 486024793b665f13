"""The metric catalogue: what each run metric is called, how it reads, which way is better.

One home for these facts (DESIGN.md: "a metric's label and direction has one home in
core"): reports, comparisons and gates read them here instead of keeping their own lists.

- ``unit``: "" (a plain count or number), "share" (0..1, shown as a percentage), "ratio"
  (0..1 shown as a decimal, e.g. F1), "ms", "s", "rows/s", "tokens" or "usd".
- ``better``: "higher", "lower", or None when neither is better (the number of rows).
- ``gateable``: a deploy gate rule may name it (``accuracy>=0.9``).
- Comparisons call a difference significant at ``SIGNIFICANCE`` (exact McNemar test).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class MetricInfo:
    key: str
    label: str
    unit: str
    better: str | None  # "higher", "lower" or None
    gateable: bool
    description: str

    def format(self, value: Any) -> str:
        """The value as people read it: ``95.7%``, ``3.6 ms``, ``$0.0593``; "-" if unknown."""
        return format_value(self.unit, value)

    def format_delta(self, delta: Any) -> str:
        """A signed difference: ``+6.3 pts``, ``-1.2 ms``."""
        return format_value(self.unit, delta, signed=True)

    def direction(self, delta: Any) -> str:
        """"better", "worse" or "same" for a B - A difference ("" when it has no direction)."""
        number = finite_number(delta)
        if number is None or self.better is None:
            return ""
        if number == 0:
            return "same"
        return "better" if (number > 0) == (self.better == "higher") else "worse"


def _m(key: str, label: str, unit: str, better: str | None, gateable: bool,
       description: str) -> MetricInfo:
    return MetricInfo(key, label, unit, better, gateable, description)


# Display order: quality first, then errors, latency, throughput, usage and cost, counts.
CATALOGUE: tuple[MetricInfo, ...] = (
    _m("accuracy", "Accuracy", "share", "higher", True,
       "Share of scored rows answered right; failed rows count as wrong"),
    _m("accuracy_ci_low", "Accuracy, 95% CI low", "share", "higher", True,
       "Lower end of the Wilson score interval of the accuracy"),
    _m("accuracy_ci_high", "Accuracy, 95% CI high", "share", "higher", True,
       "Upper end of the Wilson score interval of the accuracy"),
    _m("macro_f1", "Macro F1", "ratio", "higher", True, "Mean F1 over the labels"),
    _m("micro_f1", "Micro F1", "ratio", "higher", True, "F1 over all label decisions"),
    _m("mean_score", "Mean score", "ratio", "higher", True,
       "Mean per-row score; failed rows score 0"),
    _m("error_rate", "Error rate", "share", "lower", True,
       "Rows whose request failed or whose reply could not be parsed"),
    _m("latency_p50_ms", "Latency p50", "ms", "lower", True, "Median latency of sent rows"),
    _m("latency_p90_ms", "Latency p90", "ms", "lower", True, "90th percentile, sent rows"),
    _m("latency_p95_ms", "Latency p95", "ms", "lower", True, "95th percentile, sent rows"),
    _m("latency_p99_ms", "Latency p99", "ms", "lower", True, "99th percentile, sent rows"),
    _m("latency_max_ms", "Latency max", "ms", "lower", True, "Slowest sent row"),
    _m("latency_mean_ms", "Latency mean", "ms", "lower", True, "Mean latency of sent rows"),
    _m("wall_s", "Wall time", "s", "lower", False, "Seconds the run took"),
    _m("rows_per_s", "Throughput", "rows/s", "higher", True, "Rows per wall second"),
    _m("tokens_in", "Tokens in", "tokens", "lower", True, "Prompt tokens of sent rows"),
    _m("tokens_out", "Tokens out", "tokens", "lower", True, "Completion tokens of sent rows"),
    _m("total_cost", "Total cost", "usd", "lower", True, "At the endpoint's prices"),
    _m("cost_per_1k", "Cost / 1k rows", "usd", "lower", True, "Total cost per 1,000 rows"),
    _m("n_rows", "Rows", "", None, True, "Rows with a result"),
    _m("n_scored", "Rows scored", "", None, False, "Rows with an expected answer"),
    _m("n_correct", "Rows right", "", "higher", False, "Scored rows answered right"),
    _m("n_errors", "Errors", "", "lower", True, "Rows that failed"),
    _m("n_cached", "Cached rows", "", None, False, "Rows answered from the response cache"),
)
BY_KEY: dict[str, MetricInfo] = {m.key: m for m in CATALOGUE}
GATEABLE: tuple[str, ...] = tuple(m.key for m in CATALOGUE if m.gateable)
# The headline metrics a summary (Markdown, a comparison) shows, in order.
HEADLINE: tuple[str, ...] = (
    "accuracy", "macro_f1", "micro_f1", "error_rate", "latency_p50_ms", "latency_p95_ms",
    "latency_p99_ms", "rows_per_s", "total_cost", "cost_per_1k", "n_rows", "n_errors",
)
# What the CLI prints after a run (a terminal has room for more than a headline).
SUMMARY: tuple[str, ...] = (
    "n_rows", "n_errors", "n_cached", "accuracy", "accuracy_ci_low", "accuracy_ci_high",
    "macro_f1", "micro_f1", "error_rate", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms",
    "rows_per_s", "tokens_in", "tokens_out", "total_cost", "cost_per_1k",
)
# What the charts plot over time.
CHARTED: tuple[str, ...] = (
    "accuracy", "accuracy_ci_low", "accuracy_ci_high", "latency_p95_ms", "error_rate",
    "cost_per_1k", "n_rows",
)


def info(key: str) -> MetricInfo:
    """The catalogue entry; an unknown key gets a neutral entry rather than an error."""
    return BY_KEY.get(key) or MetricInfo(key, key, "", None, False, "")


def format_value(unit: str, value: Any, *, signed: bool = False) -> str:
    number = finite_number(value)
    if number is None:
        return "-"
    sign = "+" if signed and number > 0 else ""
    if abs(number) >= 1e12:  # nonsense from a bad input: still one short line
        return f"{sign}{number:.4g}"
    if unit == "share":
        return f"{sign}{number * 100:.1f} pts" if signed else f"{number:.1%}"
    if unit == "ratio":
        return f"{sign}{number:.3f}"
    if unit == "ms":
        return f"{sign}{number:,.1f} ms"
    if unit == "s":
        return f"{sign}{number:,.1f} s"
    if unit == "rows/s":
        return f"{sign}{number:,.1f} rows/s"
    if unit == "usd":
        sign = "-" if number < 0 else sign
        money = abs(number)
        return f"{sign}${money:,.4f}" if money < 100 else f"{sign}${money:,.2f}"
    if unit == "tokens" or float(number).is_integer():
        return f"{sign}{number:,.0f}"
    return f"{sign}{number:,.4g}"


def finite_number(value: Any) -> float | None:
    """A usable number or None: NaN and inf from bad inputs must not reach a table or JSON."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
