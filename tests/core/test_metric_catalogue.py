"""The metric catalogue: one entry per stored run metric, read by every view and by gates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_desk.core import gates, metric_catalogue, timeseries
from mlops_desk.core.errors import BadInput
from mlops_desk.core.metric_catalogue import (
    BY_KEY,
    CATALOGUE,
    CHARTED,
    GATEABLE,
    HEADLINE,
    SUMMARY,
    format_value,
    info,
)
from mlops_desk.core.metrics import compute_metrics


def test_every_number_a_run_stores_has_one_entry_and_nothing_else_does() -> None:
    keys = [m.key for m in CATALOGUE]
    assert len(keys) == len(set(keys))
    rows = [{"row_idx": 0, "expected": "a", "prediction": "a", "correct": True, "score": 1.0,
             "latency_ms": 5.0, "prompt_tokens": 10, "completion_tokens": 1, "cost": 0.001}]
    stored = compute_metrics(rows, wall_s=1.0, labels=["a", "b"])
    numeric = {k for k, v in stored.items() if isinstance(v, int | float)}
    assert numeric == set(keys)


def test_every_view_names_only_catalogued_metrics() -> None:
    for view in (HEADLINE, SUMMARY, CHARTED, GATEABLE):
        assert set(view) <= set(BY_KEY)
    assert {path[2:] for _, path in timeseries.METRICS} == set(CHARTED)


def test_gate_rules_accept_exactly_the_gateable_metrics() -> None:
    for m in CATALOGUE:
        if m.gateable:
            assert gates.parse_rule(f"{m.key}>=1").metric == m.key
        else:
            with pytest.raises(BadInput, match="unknown metric"):
                gates.parse_rule(f"{m.key}>=1")
    assert gates.DEFAULT_ALPHA == metric_catalogue.SIGNIFICANCE


@pytest.mark.parametrize(("key", "delta", "reading"), [
    ("accuracy", 0.02, "better"), ("accuracy", -0.02, "worse"),
    ("latency_p95_ms", -5.0, "better"), ("latency_p95_ms", 5.0, "worse"),
    ("total_cost", 0.0, "same"), ("n_rows", 10, ""), ("error_rate", None, ""),
])
def test_direction_reads_the_better_side(key: str, delta, reading: str) -> None:
    assert info(key).direction(delta) == reading


def test_values_read_in_their_units() -> None:
    assert BY_KEY["accuracy"].format(0.9567) == "95.7%"
    assert BY_KEY["accuracy"].format_delta(0.0633) == "+6.3 pts"
    assert BY_KEY["latency_p50_ms"].format(3.614) == "3.6 ms"
    assert BY_KEY["total_cost"].format_delta(-0.021) == "-$0.0210"
    assert BY_KEY["macro_f1"].format(0.94712) == "0.947"
    assert BY_KEY["n_rows"].format(10000) == "10,000"
    assert BY_KEY["rows_per_s"].format(None) == "-"
    assert info("not_a_metric").label == "not_a_metric"  # neutral, never an error


@given(st.sampled_from([m.unit for m in CATALOGUE]),
       st.one_of(st.none(), st.floats(), st.integers(-10**12, 10**12), st.text(max_size=5)))
def test_formatting_any_value_gives_one_short_line(unit: str, value) -> None:
    text = format_value(unit, value)
    assert text and "\n" not in text and len(text) < 40
    assert "nan" not in text.lower() and "inf" not in text.lower()
