"""Row results are filtered and sorted by typed values; the SQL is built only in core."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_desk.core import runs
from mlops_desk.core.errors import BadInput
from mlops_desk.core.runner import execute
from tests.runner.helpers import build_workspace, classification_rows
from tests.support.fixtures import fake_openai_fixture  # noqa: F401

EXPECTED = ["bug", "billing", "other", "bug", "billing", "other"]
WRONG = {1: "bug", 4: "other"}


@pytest.fixture
def finished_run(store, tmp_path, fake_openai):
    ws = build_workspace(store, tmp_path, fake_openai.base_url,
                         rows=classification_rows(EXPECTED, WRONG))
    run_id = ws.create()
    execute(store, run_id)
    return store, run_id


def test_filters_sorts_and_counts_by_typed_values(finished_run) -> None:
    store, run_id = finished_run
    wrong = runs.ResultFilter("wrong")
    assert [r["row_idx"] for r in runs.fetch_results(store, run_id, filter=wrong)] == [1, 4]
    assert runs.count_results(store, run_id, wrong) == 2
    assert runs.count_results(store, run_id, runs.ResultFilter("errors")) == 0
    assert runs.count_results(store, run_id, runs.ResultFilter("wrong_answer")) == 2
    # search reaches the dataset row's input text ("row 3") and the row number
    assert [r["row_idx"] for r in runs.fetch_results(
        store, run_id, filter=runs.ResultFilter(search="row 3"))] == [3]
    assert [r["row_idx"] for r in runs.fetch_results(
        store, run_id, filter=runs.ResultFilter(search="5"))] == [5]
    newest_first = runs.fetch_results(store, run_id, sort="row_idx", descending=True, limit=2,
                                      offset=1)
    assert [r["row_idx"] for r in newest_first] == [4, 3]
    by_expected = runs.fetch_results(store, run_id, sort="expected")
    assert [r["expected"] for r in by_expected] == sorted(EXPECTED)
    # a sort key that is not a column falls back to row order instead of reaching SQL
    assert [r["row_idx"] for r in runs.fetch_results(store, run_id, sort="1; DROP TABLE runs")
            ] == list(range(6))


def test_an_unknown_status_is_a_clear_error() -> None:
    with pytest.raises(BadInput, match="unknown result filter 'bogus'"):
        runs.ResultFilter("bogus").where()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=12))
def test_any_search_text_is_a_query_not_sql(finished_run, text: str) -> None:
    store, run_id = finished_run
    found = runs.fetch_results(store, run_id, filter=runs.ResultFilter(search=text))
    assert runs.count_results(store, run_id, runs.ResultFilter(search=text)) == len(found)
    assert runs.count_results(store, run_id) == 6  # nothing a search says changes the table
