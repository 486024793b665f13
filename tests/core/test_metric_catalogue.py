"""The metric catalogue: one entry per run metric, agreeing with metrics, gates and compare."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_desk.core import gates, metric_catalogue
from mlops_desk.core.metric_catalogue import BY_KEY, CATALOGUE, GATEABLE, format_value, info
from mlops_desk.core.metrics import NUMERIC_KEYS


def test_every_numeric_metric_has_one_entry_and_nothing_else_does() -> None:
    keys = [m.key for m in CATALOGUE]
    assert len(keys) == len(set(keys))
    assert set(keys) == set(NUMERIC_KEYS)


def test_gateable_metrics_are_what_gate_rules_accept() -> None:
    # gates keeps its own tuple today; this keeps the two from drifting apart.
    assert set(GATEABLE) == set(gates.GATE_METRICS)
    assert metric_catalogue.SIGNIFICANCE == gates.DEFAULT_ALPHA


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
