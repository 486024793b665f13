"""The run results search box takes any text: digits it cannot use are searched as text."""

from __future__ import annotations

import pytest

from mlops_desk.core.store import Store
from mlops_desk.ui.item_models.run_queries import ResultQuery, count_results, fetch_result_page


@pytest.mark.parametrize("text", ["²", "٣", "99999999999999999999999", "17", "item 2"])
def test_any_search_text_is_a_query(store: Store, text: str) -> None:
    # str.isdigit() says yes to '²' (int() then raised) and a 23-digit number overflowed
    # SQLite: both crashed the page's load task.
    query = ResultQuery(run_id=1, dataset_id=1, search=text)
    assert count_results(store, query) == 0
    assert fetch_result_page(store, query).rows == []
    where, _ = query.result_filter.where()
    assert ("row_idx = ?" in where) == (text == "17")
