import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_desk.core.metrics import (
    NUMERIC_KEYS,
    compare_runs,
    compute_metrics,
    mcnemar_exact,
    percentile,
    wilson_interval,
)

LABELS = ["cat", "dog", "bird"]
REQUIRED_KEYS = {
    "n_rows", "n_scored", "n_correct", "n_errors", "n_cached", "accuracy", "accuracy_ci_low",
    "accuracy_ci_high", "macro_f1", "micro_f1", "error_rate", "latency_p50_ms",
    "latency_p90_ms", "latency_p95_ms", "latency_p99_ms", "latency_max_ms", "latency_mean_ms",
    "rows_per_s", "tokens_in", "tokens_out", "total_cost", "cost_per_1k", "mean_score",
    "per_class", "confusion", "labels",
}  # fmt: skip


def row(idx, expected, prediction, correct, *, latency=None, error=None, cached=False):
    sent = not cached
    return {
        "row_idx": idx,
        "expected": expected,
        "prediction": prediction,
        "correct": correct,
        "score": None if correct is None else float(correct),
        "latency_ms": latency,
        "prompt_tokens": 10 if error is None else None,
        "completion_tokens": 5 if error is None else None,
        "cost": 0.001 if error is None and sent else (0.001 if cached else None),
        "error_class": error,
        "cached": cached,
    }


# Ten rows, three classes. Row 3 failed (counts as wrong, predicted "(error)"), row 4 came
# from the cache, row 8 predicted a label outside the set, row 9 is unlabelled.
ROWS = [
    row(0, "cat", "cat", True, latency=100),
    row(1, "cat", "cat", True, latency=200),
    row(2, "cat", "dog", False, latency=300),
    row(3, "cat", None, None, latency=5000, error="timeout"),
    row(4, "dog", "dog", True, latency=0.5, cached=True),
    row(5, "dog", "dog", True, latency=400),
    row(6, "dog", "cat", False, latency=500),
    row(7, "bird", "bird", True, latency=600),
    row(8, "bird", "fish", False, latency=700),
    row(9, None, "dog", None, latency=800),
]


@pytest.fixture(scope="module")
def metrics():
    return compute_metrics(ROWS, wall_s=4.0, labels=LABELS)


def test_has_every_required_key(metrics):
    assert metrics.keys() >= REQUIRED_KEYS
    assert metrics.keys() >= set(NUMERIC_KEYS)


def test_counts_and_accuracy(metrics):
    assert metrics["n_rows"] == 10
    assert metrics["n_scored"] == 9  # the failed row is scored (wrong); row 9 is not
    assert metrics["n_correct"] == 5
    assert metrics["n_errors"] == 1
    assert metrics["n_cached"] == 1
    assert metrics["accuracy"] == pytest.approx(5 / 9)
    # Wilson 95% for 5/9, worked by hand.
    assert metrics["accuracy_ci_low"] == pytest.approx(0.2667, abs=1e-4)
    assert metrics["accuracy_ci_high"] == pytest.approx(0.8112, abs=1e-4)
    assert metrics["error_rate"] == pytest.approx(0.1)
    assert metrics["mean_score"] == pytest.approx(5 / 9)


def test_confusion_matrix(metrics):
    assert metrics["labels"] == LABELS
    assert metrics["confusion"] == {
        "labels": ["cat", "dog", "bird", "(other)", "(error)"],
        "matrix": [
            [2, 1, 0, 0, 1],
            [1, 2, 0, 0, 0],
            [0, 0, 1, 1, 0],
            [0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0],
        ],
    }


def test_per_class_and_f1(metrics):
    per_class = metrics["per_class"]
    # cat: TP 2, predicted 3, support 4.  dog: TP 2, predicted 3, support 3.
    # bird: TP 1, predicted 1, support 2.
    assert per_class["cat"] == pytest.approx(
        {"precision": 2 / 3, "recall": 1 / 2, "f1": 4 / 7, "support": 4}
    )
    assert per_class["dog"] == pytest.approx(
        {"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3}
    )
    assert per_class["bird"] == pytest.approx(
        {"precision": 1.0, "recall": 1 / 2, "f1": 2 / 3, "support": 2}
    )
    assert metrics["macro_f1"] == pytest.approx((4 / 7 + 2 / 3 + 2 / 3) / 3)
    # TP 5, FP 2, FN 4 over the three labels: 2*5 / (2*5 + 2 + 4).
    assert metrics["micro_f1"] == pytest.approx(10 / 16)


def test_latency_skips_cached_and_failed_rows(metrics):
    sent = [100, 200, 300, 400, 500, 600, 700, 800]
    assert metrics["latency_p50_ms"] == pytest.approx(450)
    assert metrics["latency_p90_ms"] == pytest.approx(730)
    assert metrics["latency_p95_ms"] == pytest.approx(765)
    assert metrics["latency_p99_ms"] == pytest.approx(793)
    assert metrics["latency_p99_ms"] == pytest.approx(np.percentile(sent, 99))
    assert metrics["latency_max_ms"] == 800
    assert metrics["latency_mean_ms"] == pytest.approx(450)


def test_throughput_tokens_and_cost(metrics):
    assert metrics["rows_per_s"] == pytest.approx(2.5)
    # Eight rows were sent and reported usage; the cache hit and the failure add nothing.
    assert metrics["tokens_in"] == 80
    assert metrics["tokens_out"] == 40
    assert isinstance(metrics["tokens_in"], int)
    assert metrics["total_cost"] == pytest.approx(0.008)
    assert metrics["cost_per_1k"] == pytest.approx(0.8)


def test_labels_never_seen_do_not_enter_macro_f1():
    rows = [row(0, "cat", "cat", True), row(1, "dog", "cat", False)]
    result = compute_metrics(rows, wall_s=1.0, labels=["cat", "dog", "mouse"])
    assert result["per_class"]["mouse"] == {
        "precision": None, "recall": None, "f1": None, "support": 0,
    }  # fmt: skip
    assert result["per_class"]["dog"]["precision"] is None  # never predicted
    assert result["per_class"]["dog"]["f1"] == 0.0
    assert result["macro_f1"] == pytest.approx((2 / 3 + 0.0) / 2)
    assert result["confusion"]["labels"] == ["cat", "dog", "mouse"]


def test_labels_match_case_insensitively():
    rows = [row(0, "Cat", "CAT", True), row(1, "cat", "Dog", False)]
    result = compute_metrics(rows, wall_s=None, labels=["cat", "dog"])
    assert result["confusion"]["matrix"] == [[1, 1], [0, 0]]


def test_without_labels_there_are_no_class_metrics():
    result = compute_metrics(ROWS, wall_s=4.0)
    assert result["per_class"] == {}
    assert result["confusion"] is None
    assert result["macro_f1"] is None
    assert result["micro_f1"] is None
    assert result["accuracy"] == pytest.approx(5 / 9)


def test_rows_straight_from_sqlite_use_0_and_1_for_booleans():
    rows = [
        dict(row(0, "cat", "cat", True), correct=1, cached=0, error_class=""),
        dict(row(1, "cat", "dog", False), correct=0, cached=1),
    ]
    result = compute_metrics(rows, wall_s=1.0, labels=LABELS)
    assert (result["n_correct"], result["n_scored"]) == (1, 2)
    assert (result["n_errors"], result["n_cached"]) == (0, 1)


def test_judge_scores_feed_mean_score():
    rows = [row(0, None, "a", True), row(1, None, "b", False)]
    rows[0]["score"], rows[1]["score"] = 0.9, 0.2
    result = compute_metrics(rows, wall_s=1.0)
    assert result["n_scored"] == 2
    assert result["mean_score"] == pytest.approx(0.55)


def test_empty_run_is_all_none_and_json_safe():
    result = compute_metrics([], wall_s=0.0, labels=LABELS)
    for key in ("accuracy", "accuracy_ci_low", "error_rate", "latency_p50_ms", "rows_per_s",
                "total_cost", "cost_per_1k", "mean_score", "macro_f1", "micro_f1"):  # fmt: skip
        assert result[key] is None, key
    json.dumps(result, allow_nan=False)


def test_bad_numbers_in_rows_never_become_nan():
    rows = [dict(row(0, "cat", "cat", True), latency_ms=math.nan, cost=math.inf, score=math.nan)]
    result = compute_metrics(rows, wall_s=math.nan, labels=LABELS)
    json.dumps(result, allow_nan=False)
    json.dumps(compute_metrics(ROWS, wall_s=4.0, labels=LABELS), allow_nan=False)


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (8, 10, 0.4902, 0.9433),
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (50, 100, 0.4038, 0.5962),
    ],
)
def test_wilson_known_values(successes, n, low, high):
    assert wilson_interval(successes, n) == pytest.approx((low, high), abs=1e-4)


def test_wilson_edge_cases():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


@given(st.integers(min_value=1, max_value=10_000).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
))  # fmt: skip
def test_wilson_is_inside_unit_interval_and_contains_p_hat(case):
    successes, n = case
    low, high = wilson_interval(successes, n)
    assert 0.0 <= low <= successes / n <= high <= 1.0


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [(1, 9, 0.021484375), (9, 1, 0.021484375), (5, 5, 1.0), (0, 0, 1.0), (0, 5, 0.0625),
     (2, 8, 0.109375), (0, 1, 1.0)],
)  # fmt: skip
def test_mcnemar_exact_known_values(b, c, p):
    assert mcnemar_exact(b, c) == pytest.approx(p)


def test_mcnemar_large_counts_stay_finite():
    p = mcnemar_exact(3000, 3300)
    assert 0.0 < p < 0.001


@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 95, 99, 100])
@pytest.mark.parametrize(
    "values", [[7.0], [3.0, 1.0], [5, 1, 4, 1, 5, 9, 2, 6], list(np.linspace(0, 1, 37) ** 2)]
)
def test_percentile_matches_numpy(values, q):
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), rel=1e-12)


def test_percentile_of_nothing_is_none():
    assert percentile([], 50) is None
    assert percentile([None], 50) is None
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_compare_runs_pairs_flips_and_deltas():
    rows_a = [row(i, "cat", "cat", True) for i in range(6)] + [row(6, "cat", "dog", False)]
    rows_b = [
        row(0, "cat", "cat", True),
        row(1, "cat", "dog", False),
        row(2, "cat", "dog", False),
        row(3, "cat", None, None, error="timeout"),  # failed in B: wrong
        row(4, "cat", "cat", True),
        row(6, "cat", "cat", True),
        row(7, "cat", "cat", True),  # not in A
        row(5, None, "cat", None),  # unlabelled in B: not paired
    ]
    metrics_a = compute_metrics(rows_a, wall_s=2.0, labels=["cat", "dog"])
    metrics_b = compute_metrics(rows_b, wall_s=4.0, labels=["cat", "dog"])
    result = compare_runs(rows_a, rows_b, metrics_a, metrics_b)
    assert result["n_paired"] == 6
    assert result["flipped_to_wrong"] == [1, 2, 3]
    assert result["flipped_to_right"] == [6]
    assert (result["b"], result["c"]) == (3, 1)
    assert (result["both_right"], result["both_wrong"]) == (2, 0)
    assert result["mcnemar_p"] == pytest.approx(0.625)  # 2 * (1 + 4) / 16
    deltas = result["deltas"]
    assert deltas["accuracy"] == pytest.approx(metrics_b["accuracy"] - metrics_a["accuracy"])
    assert deltas["n_rows"] == 1
    assert isinstance(deltas["n_rows"], int)
    assert deltas["latency_p50_ms"] is None  # undefined in both: no latencies recorded
    assert "per_class" not in deltas
    assert "labels" not in deltas
    assert "confusion" not in deltas
    json.dumps(result, allow_nan=False)
