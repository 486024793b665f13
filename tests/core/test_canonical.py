"""Canonical JSON and fingerprints: key order and number spelling never change a hash."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_desk.core.canonical import canonical_json, sha256_of
from mlops_desk.core.registry import fingerprint, make_config

# JSON values as a config holds them; integer-valued floats stay within 2**53, where
# 1 and 1.0 are the same number (beyond it a float is no longer an exact integer).
scalars = (st.none() | st.booleans() | st.text(max_size=8)
           | st.integers(-(2**53) + 1, 2**53 - 1)
           | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=12,
)


def reorder(value, rnd):
    """The same value with every dict's keys in another order."""
    if isinstance(value, dict):
        items = [(k, reorder(v, rnd)) for k, v in value.items()]
        rnd.shuffle(items)
        return dict(items)
    if isinstance(value, list):
        return [reorder(v, rnd) for v in value]
    return value


def respell(value):
    """The same value with every number written differently (as JSON text would allow)."""
    if isinstance(value, dict):
        return {k: respell(v) for k, v in value.items()}
    if isinstance(value, list):
        return [respell(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return float(value)  # 1 -> 1.0
    return json.loads(f"{value:.17e}")  # 0.7 -> 6.99999999999999956e-01


@settings(max_examples=100, deadline=None)
@given(value=st.dictionaries(st.text(max_size=6), json_values, max_size=6), rnd=st.randoms())
def test_fingerprint_ignores_key_order_and_number_spelling(value, rnd) -> None:
    assert sha256_of(reorder(value, rnd)) == sha256_of(value)
    assert sha256_of(respell(value)) == sha256_of(value)
    assert canonical_json(json.loads(canonical_json(value))) == canonical_json(value)


@pytest.mark.parametrize("spellings", [
    ["0.7", "0.70", "7e-1", "0.7000000000000000", "70E-2"],
    ["1", "1.0", "1e0", "1.000", "10E-1"],
    ["-0", "0", "0.0", "0e5"],
])
def test_equal_numbers_spelled_differently_hash_alike(spellings) -> None:
    hashes = {sha256_of({"temperature": json.loads(text)}) for text in spellings}
    assert len(hashes) == 1


def test_different_values_hash_differently() -> None:
    assert sha256_of({"t": 0.7}) != sha256_of({"t": 0.71})
    assert sha256_of({"t": "1"}) != sha256_of({"t": 1})
    assert sha256_of({"t": True}) != sha256_of({"t": 1})
    assert sha256_of({"a": {"b": 1}}) != sha256_of({"a": {"b": 1, "c": None}})


def test_nested_configs_fingerprint_alike() -> None:
    a = make_config(endpoint="e", model_id="m", template="{text}",
                    params={"temperature": 0.7, "max_tokens": 64,
                            "response_format": {"type": "json_object", "schema": {"b": 1, "a": 2}}})
    b = make_config(endpoint="e", model_id="m", template="{text}",
                    params={"response_format": {"schema": {"a": 2.0, "b": 1e0},
                                                "type": "json_object"},
                            "max_tokens": 64.0, "temperature": 0.70})
    assert fingerprint(a) == fingerprint(b)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {1, 2}, b"bytes"])
def test_values_without_a_canonical_form_are_refused(bad) -> None:
    with pytest.raises((ValueError, TypeError)):
        canonical_json({"x": bad})
