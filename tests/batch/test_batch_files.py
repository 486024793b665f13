"""Splitting request files and reading output lines, for any input (hypothesis)."""

from __future__ import annotations

import itertools
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_desk.core import batch_files
from mlops_desk.core.inference import Completion

sizes = st.lists(st.integers(min_value=1, max_value=300), max_size=60)


@settings(deadline=None)  # a loaded CI machine must not fail it on time
@given(sizes, st.integers(min_value=1, max_value=12), st.integers(min_value=300,
                                                                     max_value=2_000))
def test_split_keeps_every_row_once_in_order_within_both_limits(lengths, max_rows, max_bytes):
    lines = [(idx, b"x" * n) for idx, n in enumerate(lengths)]
    groups = list(batch_files.split(iter(lines), max_rows, max_bytes))
    assert [idx for group in groups for idx in group] == list(range(len(lengths)))
    for group in groups:
        assert 1 <= len(group) <= max_rows
        assert sum(lengths[i] for i in group) <= max_bytes
    for first, second in itertools.pairwise(groups):  # a file is cut only when full
        size = sum(lengths[i] for i in first)
        assert len(first) == max_rows or size + lengths[second[0]] > max_bytes


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=10**9), st.text(max_size=50),
       st.one_of(st.none(), st.integers(min_value=0, max_value=10**6)))
def test_an_answer_line_reads_back_its_row_text_and_tokens(idx, text, tokens):
    body = {"choices": [{"message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": tokens, "completion_tokens": tokens}}
    line = json.dumps({"id": "x", "custom_id": batch_files.custom_id(idx),
                       "response": {"status_code": 200, "body": body}, "error": None})
    outcome = batch_files.parse_line(line, "line 1")
    assert outcome.idx == idx and outcome.completion == Completion(text, tokens, tokens)


@settings(deadline=None)
@given(st.text(max_size=20))
def test_custom_ids_we_did_not_write_are_not_taken_for_rows(custom):
    if batch_files.row_index(custom) is not None:
        assert custom == batch_files.custom_id(batch_files.row_index(custom))


def test_failures_and_expiries_are_told_apart():
    expired = {"custom_id": "row-1", "response": None,
               "error": {"code": "batch_expired", "message": "expired"}}
    vllm = {"custom_id": "row-2", "response": {"status_code": 400, "body": None},
            "error": {"object": "error", "message": "too long", "code": 400}}
    assert batch_files.parse_line(json.dumps(expired), "l").expired
    assert batch_files.parse_line(json.dumps(vllm), "l").error == ("http_400",
                                                                    "HTTP 400: too long")
