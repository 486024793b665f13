"""Run metrics, computed once when a run ends, and the comparison of two runs.

Row dicts carry ``row_idx, expected, prediction, correct, score, latency_ms, prompt_tokens,
completion_tokens, cost, error_class, cached`` (missing keys read as None/False).

Choices that matter when reading the numbers:

- A row is *scored* when ``correct`` is not None, or when it errored but had an expected
  value: a row that failed is not a right answer, so it counts as wrong rather than vanishing
  from the accuracy. ``mean_score`` treats such rows as 0.0.
- Latency percentiles use rows that were actually sent (not cached) and did not error:
  cached rows take ~0 ms and failed requests time out, both would distort the picture.
- ``tokens_in``, ``tokens_out`` and ``total_cost`` count only rows that were sent, so a cache
  hit never adds spend; they are None when no row reported them (no pricing known).
- Per-class metrics, the confusion matrix and F1 exist only when ``labels`` is non-empty.
  Expected values and predictions are matched to labels case-insensitively. The matrix is
  square over ``labels`` plus, when used, "(other)" (a prediction or expected value outside
  the label set) and "(error)" (no usable prediction: the request failed or the reply could
  not be parsed). Rows are expected, columns predicted.
- Macro F1 averages the labels that were expected or predicted at least once (their F1 is
  defined); micro F1 is 2TP / (2TP + FP + FN) summed over the labels, so "(other)" and
  "(error)" predictions count as misses but not as false positives of any label.
- Anything undefined (no rows, no wall time) is None, never NaN, so the dict is JSON-safe.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from mlops_desk.core.metric_catalogue import CATALOGUE
from mlops_desk.core.metric_catalogue import finite_number as _finite
from mlops_desk.core.scoring import has_expected

Z_95 = 1.959963984540054
OTHER = "(other)"
ERROR = "(error)"
_PERCENTILES = (50, 90, 95, 99)
# The flat numeric metrics, in the catalogue's order; compare_runs reports a delta for each.
NUMERIC_KEYS = tuple(m.key for m in CATALOGUE)


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion; (0.0, 1.0) when n == 0 (nothing known)."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes}/{n}")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # Rounding can push an end a hair past p-hat or outside [0, 1] at p = 0 or 1.
    return max(0.0, min(centre - half, p)), min(1.0, max(centre + half, p))


def percentile(values: Iterable[float | None], q: float) -> float | None:
    """The q-th percentile (0..100), numpy's default linear method; None values are skipped."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be in [0, 100], got {q}")
    data = sorted(v for v in values if v is not None)
    if not data:
        return None
    position = (q / 100) * (len(data) - 1)
    low = math.floor(position)
    high = min(low + 1, len(data) - 1)
    return _lerp(data[low], data[high], position - low)


def _lerp(a: float, b: float, t: float) -> float:
    # numpy's formulation: interpolate from the nearer end, which is exact at t == 1.
    diff = b - a
    return float(b - diff * (1 - t) if t >= 0.5 else a + diff * t)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: min(1, 2 * P(X <= min(b, c))), X ~ Bin(b + c, 1/2)."""
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    # Exact integer arithmetic: the tail is a sum of binomial coefficients over 2**n.
    term, tail = 1, 1
    for i in range(min(b, c)):
        term = term * (n - i) // (i + 1)
        tail += term
    return min(1.0, 2 * tail / 2**n)


# Rows may come straight from SQLite, where booleans are 0/1 and text may be "": use truth.
def is_errored(row: dict) -> bool:
    return bool(row.get("error_class"))


def is_scored(row: dict) -> bool:
    """Scored rows enter the accuracy; an errored labelled row counts (as wrong)."""
    return row.get("correct") is not None or (is_errored(row) and has_expected(row.get("expected")))


def is_correct(row: dict) -> bool:
    return bool(row.get("correct")) and not is_errored(row)


def compute_metrics(
    rows: Iterable[dict], *, wall_s: float | None, labels: list[str] | None = None
) -> dict[str, Any]:
    """All run metrics as one flat, JSON-serialisable dict (plus per_class and confusion)."""
    rows = list(rows)
    n_rows = len(rows)
    scored = [row for row in rows if is_scored(row)]
    n_correct = sum(is_correct(row) for row in scored)
    n_errors = sum(is_errored(row) for row in rows)
    metrics: dict[str, Any] = {
        "n_rows": n_rows,
        "n_scored": len(scored),
        "n_correct": n_correct,
        "n_errors": n_errors,
        "n_cached": sum(bool(row.get("cached")) for row in rows),
        **_accuracy(n_correct, len(scored)),
        "error_rate": _ratio(n_errors, n_rows),
        "mean_score": _mean([_effective_score(row) for row in scored]),
        **_latency(rows),
        "wall_s": _finite(wall_s),
        "rows_per_s": _ratio(n_rows, _finite(wall_s)),
        **_usage(rows),
    }
    total_cost = metrics["total_cost"]
    metrics["cost_per_1k"] = (
        total_cost / n_rows * 1000 if total_cost is not None and n_rows else None
    )
    metrics.update(_classification(rows, labels))
    return metrics


def _accuracy(n_correct: int, n_scored: int) -> dict[str, float | None]:
    if n_scored == 0:
        return {"accuracy": None, "accuracy_ci_low": None, "accuracy_ci_high": None}
    low, high = wilson_interval(n_correct, n_scored)
    return {"accuracy": n_correct / n_scored, "accuracy_ci_low": low, "accuracy_ci_high": high}


def _effective_score(row: dict) -> float:
    if is_errored(row):
        return 0.0
    value = _finite(row.get("score"))
    return value if value is not None else float(bool(row.get("correct")))


def _latency(rows: list[dict]) -> dict[str, float | None]:
    sent = [
        value
        for row in rows
        if not row.get("cached")
        and not is_errored(row)
        and (value := _finite(row.get("latency_ms"))) is not None
    ]
    stats = {f"latency_p{q}_ms": percentile(sent, q) for q in _PERCENTILES}
    stats["latency_max_ms"] = max(sent) if sent else None
    stats["latency_mean_ms"] = _mean(sent)
    return stats


def _usage(rows: list[dict]) -> dict[str, float | int | None]:
    sent = [row for row in rows if not row.get("cached")]
    return {
        "tokens_in": _int_or_none(_sum_reported(rows, sent, "prompt_tokens")),
        "tokens_out": _int_or_none(_sum_reported(rows, sent, "completion_tokens")),
        "total_cost": _sum_reported(rows, sent, "cost"),
    }


def _sum_reported(rows: list[dict], sent: list[dict], key: str) -> float | None:
    """Sum ``key`` over sent rows; None when no row at all reported it (e.g. no pricing)."""
    if all(_finite(row.get(key)) is None for row in rows):
        return None
    return sum(value for row in sent if (value := _finite(row.get(key))) is not None)


def _int_or_none(value: float | None) -> int | None:
    return None if value is None else round(value)


# --- classification ---------------------------------------------------------------------------


def _classification(rows: list[dict], labels: list[str] | None) -> dict[str, Any]:
    if not labels:
        return {
            "labels": None,
            "macro_f1": None,
            "micro_f1": None,
            "per_class": {},
            "confusion": None,
        }
    labels = list(dict.fromkeys(labels))
    canonical = {label.casefold(): label for label in reversed(labels)}
    pairs = Counter(
        (_to_label(row.get("expected"), canonical), _predicted_label(row, canonical))
        for row in rows
        if has_expected(row.get("expected"))
    )
    axis = labels + [extra for extra in (OTHER, ERROR) if any(extra in pair for pair in pairs)]
    matrix = [[pairs[(want, got)] for got in axis] for want in axis]
    per_class = {label: _class_stats(matrix, axis.index(label)) for label in labels}
    f1s = [stats["f1"] for stats in per_class.values() if stats["f1"] is not None]
    return {
        "labels": labels,
        "macro_f1": _mean(f1s),
        "micro_f1": _micro_f1(matrix, len(labels)),
        "per_class": per_class,
        "confusion": {"labels": axis, "matrix": matrix},
    }


def _to_label(value: Any, canonical: dict[str, str]) -> str:
    return canonical.get(str(value).strip().casefold(), OTHER)


def _predicted_label(row: dict, canonical: dict[str, str]) -> str:
    if is_errored(row) or row.get("prediction") is None:
        return ERROR
    return _to_label(row["prediction"], canonical)


def _class_stats(matrix: list[list[int]], i: int) -> dict[str, float | int | None]:
    tp = matrix[i][i]
    predicted = sum(matrix_row[i] for matrix_row in matrix)
    support = sum(matrix[i])
    # F1 = 2TP / (2TP + FP + FN) is defined even when precision is not (nothing predicted);
    # predicted = TP + FP and support = TP + FN.
    return {
        "precision": _ratio(tp, predicted),
        "recall": _ratio(tp, support),
        "f1": _ratio(2 * tp, predicted + support),
        "support": support,
    }


def _micro_f1(matrix: list[list[int]], n_labels: int) -> float | None:
    tp = sum(matrix[i][i] for i in range(n_labels))
    predicted = sum(matrix[r][c] for r in range(len(matrix)) for c in range(n_labels))
    expected = sum(sum(matrix[r]) for r in range(n_labels))
    # 2TP + FP + FN == (TP + FP) + (TP + FN).
    return _ratio(2 * tp, predicted + expected)


# --- comparison -------------------------------------------------------------------------------


def compare_runs(
    rows_a: Iterable[dict], rows_b: Iterable[dict], metrics_a: dict, metrics_b: dict
) -> dict[str, Any]:
    """Pair rows scored in both runs by row_idx; b = right in A only, c = right in B only."""
    right_a = {row["row_idx"]: is_correct(row) for row in rows_a if is_scored(row)}
    right_b = {row["row_idx"]: is_correct(row) for row in rows_b if is_scored(row)}
    paired = sorted(right_a.keys() & right_b.keys())
    to_wrong = [idx for idx in paired if right_a[idx] and not right_b[idx]]
    to_right = [idx for idx in paired if right_b[idx] and not right_a[idx]]
    return {
        "n_paired": len(paired),
        "both_right": sum(right_a[idx] and right_b[idx] for idx in paired),
        "both_wrong": sum(not right_a[idx] and not right_b[idx] for idx in paired),
        "deltas": _deltas(metrics_a, metrics_b),
        "flipped_to_wrong": to_wrong,
        "flipped_to_right": to_right,
        "b": len(to_wrong),
        "c": len(to_right),
        "mcnemar_p": mcnemar_exact(len(to_wrong), len(to_right)),
    }


def _deltas(metrics_a: dict, metrics_b: dict) -> dict[str, float | None]:
    """B - A for every numeric metric both dicts have; None where either side is undefined."""
    deltas: dict[str, float | None] = {}
    for key in NUMERIC_KEYS:
        if key in metrics_a and key in metrics_b:
            a, b = metrics_a[key], metrics_b[key]
            defined = _finite(a) is not None and _finite(b) is not None
            deltas[key] = b - a if defined else None
    return deltas


# --- small helpers ----------------------------------------------------------------------------


def _ratio(numerator: float, denominator: float | None) -> float | None:
    if not denominator or denominator <= 0:
        return None
    return numerator / denominator


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
