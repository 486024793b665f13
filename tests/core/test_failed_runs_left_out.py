"""Runs that produced no result never reach the Overview, Models and Charts figures.

Driven through the real engine: the old engine ended a run whose every row errored as
'completed' with accuracy 0.0, and that zero then showed as the model's latest figure.
"""

from __future__ import annotations

import pytest

from mlops_desk.core.errors import RunAborted
from mlops_desk.core.overview import latest_by_version, load_overview
from mlops_desk.core.runner import execute
from mlops_desk.core.timeseries import chart_filters, load_chart_data
from tests.runner.helpers import build_workspace, cycle_rows
from tests.support.fixtures import fake_openai_fixture  # noqa: F401


def test_a_run_where_every_row_errored_is_not_a_latest_figure(store, tmp_path, fake_openai):
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(6))
    good = execute(store, ws.create())
    assert good.status == "completed" and good.metrics["accuracy"] == 1.0

    fake_openai.faults.set_rate("503", 1.0)  # the endpoint is down for the second run
    bad_id = ws.create(max_attempts=1, use_cache=False)
    with pytest.raises(RunAborted):
        execute(store, bad_id)

    summary = next(s for s in load_overview(store) if s.name == "triage")
    assert summary.latest.run_id == good.id and summary.latest.accuracy == 1.0
    assert [p.run_id for p in summary.history] == [good.id]
    assert not summary.regressed
    assert latest_by_version(store, "triage")[1].run_id == good.id
    charts = load_chart_data(store)
    assert charts.n_runs == 1 and charts.series[0].run_ids == [good.id]
    assert chart_filters(store).versions == {"triage": [1]}
