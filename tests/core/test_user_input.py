"""Strict parsing of typed numbers, ids, MODEL:N and durations (core.user_input)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_desk.core import monitoring, registry, scoring
from mlops_desk.core.errors import BadInput
from mlops_desk.core.user_input import (
    MAX_DURATION_S,
    SQLITE_MAX_INT,
    int_or_none,
    parse_duration,
    parse_id,
    parse_int,
    parse_version_ref,
    version_ref_or_none,
)

# Texts that str.isdigit(), str.isdecimal() or int() accept but a person did not mean.
NOT_NUMBERS = ["²", "٣", "１２", " 7", "7 ", "1_000", "+5", "-1", "", "0x10", "1e3", "7\n"]
ASCII_NUMBER = re.compile(r"[0-9]+")


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_only_ascii_digits_are_numbers(text: str) -> None:
    assert int_or_none(text) is None
    with pytest.raises(BadInput, match="whole number"):
        parse_int(text, "run id")


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("007", 7), (str(SQLITE_MAX_INT),
                                                                     SQLITE_MAX_INT)])
def test_numbers_up_to_sqlites_largest_integer(text: str, value: int) -> None:
    assert parse_int(text, "n") == value == int_or_none(text)


@pytest.mark.parametrize("text", [str(SQLITE_MAX_INT + 1), "99999999999999999999999",
                                  "9" * 5000])
def test_numbers_beyond_sqlite_are_refused_in_one_line(text: str) -> None:
    assert int_or_none(text) is None
    with pytest.raises(BadInput, match="largest allowed") as err:
        parse_id(text, "run id")
    assert len(str(err.value)) < 200  # the text is cut, not echoed whole


def test_ids_start_at_one() -> None:
    with pytest.raises(BadInput, match="smallest allowed is 1"):
        parse_id("0", "run id")


@given(st.text())
def test_any_text_is_a_number_in_range_or_bad_input(text: str) -> None:
    try:
        value = parse_int(text, "n")
    except BadInput as err:
        assert "\n" not in str(err)
        assert int_or_none(text) is None
    else:
        assert ASCII_NUMBER.fullmatch(text) and 0 <= value <= SQLITE_MAX_INT
        assert value == int(text) == int_or_none(text)


@given(st.integers(min_value=0, max_value=2**70))
def test_every_integer_round_trips_or_is_out_of_range(n: int) -> None:
    assert int_or_none(str(n)) == (n if n <= SQLITE_MAX_INT else None)


@pytest.mark.parametrize(("ref", "parsed"), [("triage:3", ("triage", 3)),
                                             ("a:b:12", ("a:b", 12))])
def test_version_refs(ref: str, parsed: tuple[str, int]) -> None:
    assert parse_version_ref(ref) == parsed == registry.parse_version_ref(ref)


@pytest.mark.parametrize("ref", ["m:²", "m:٣", "m:0", "m:99999999999999999999999", "m: 3",
                                 "m:3 ", ":3", "m", "m:"])
def test_bad_version_refs(ref: str) -> None:
    assert version_ref_or_none(ref) is None
    with pytest.raises(BadInput, match="MODEL:N"):
        parse_version_ref(ref)


@given(st.text())
def test_any_text_is_a_version_ref_or_bad_input(text: str) -> None:
    try:
        name, number = parse_version_ref(text)
    except BadInput as err:
        assert "\n" not in str(err)
    else:
        model, _, digits = text.rpartition(":")
        assert name == model and ASCII_NUMBER.fullmatch(digits) and int(digits) == number
        assert 1 <= number <= SQLITE_MAX_INT


def test_the_judge_scorer_reads_its_version_strictly() -> None:
    assert scoring.parse_scorer_spec("judge:grader:2").judge_version == 2
    for bad in ("judge:grader:²", "judge:grader:99999999999999999999999", "judge:grader:0"):
        with pytest.raises(BadInput, match="judge:MODEL:N"):
            scoring.parse_scorer_spec(bad)


def test_durations() -> None:
    assert [parse_duration(t) for t in ("90", "1.5m", "1h", "2D", "1w", "3650d")] == [
        90, 90, 3600, 172800, 604800, MAX_DURATION_S]
    assert monitoring.parse_duration is parse_duration  # one home, known by both names


@pytest.mark.parametrize("text", ["99999999999d", "3651d", "1" + "0" * 400, "0", "0.0h",
                                  "٣h", "1y", "h", "-1h", "inf", "nan", ""])
def test_bad_durations(text: str) -> None:
    with pytest.raises(BadInput, match="duration"):
        parse_duration(text)


@given(st.text())
def test_any_text_is_a_bounded_duration_or_bad_input(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except BadInput as err:
        assert "\n" not in str(err)
    else:
        assert 0 < seconds <= MAX_DURATION_S
