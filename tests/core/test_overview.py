"""The Overview summaries: latest figures, same-dataset history, the regression rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_desk.core import deploy, registry
from mlops_desk.core.overview import (
    RunPoint,
    is_regression,
    latest_by_version,
    load_overview,
)
from mlops_desk.core.store import Store
from tests.support.run_factory import make_test_dataset, make_test_run


def _results(n_right: int, n: int, latency_ms: float = 100.0, cost: float = 0.001) -> list[dict]:
    return [{"prediction": "a" if i < n_right else "b", "expected": "a",
             "latency_ms": latency_ms, "cost": cost} for i in range(n)]


@pytest.fixture
def world(store: Store, tmp_path: Path):
    registry.add_endpoint(store, "local", base_url="http://127.0.0.1:9/v1")
    registry.create_model(store, "triage", labels=["a", "b"])
    registry.create_model(store, "empty")
    v1, _ = registry.register_version(store, "triage", registry.make_config(
        endpoint="local", model_id="m1", parser="label"))
    v2, _ = registry.register_version(store, "triage", registry.make_config(
        endpoint="local", model_id="m2", parser="label"))
    rows = [{"text": f"t{i}", "expected": "a"} for i in range(100)]
    main = make_test_dataset(store, tmp_path, "main", rows)
    other = make_test_dataset(store, tmp_path, "other", [{**r, "text": r["text"] + "x"}
                                                         for r in rows])
    return store, v1, v2, main, other


def test_a_model_without_runs_has_an_empty_summary(world) -> None:
    store, *_ = world
    empty = next(s for s in load_overview(store) if s.name == "empty")
    assert (empty.n_versions, empty.latest_version, empty.latest, empty.history) == (
        0, None, None, [])
    assert not empty.regressed


def test_latest_figures_and_same_dataset_history(world) -> None:
    store, v1, v2, main, other = world
    make_test_run(store, v1, main, _results(90, 100))
    make_test_run(store, v1, other, _results(50, 100))  # another dataset: not in the series
    make_test_run(store, v2, main, _results(95, 100, latency_ms=200, cost=0.002))
    summary = next(s for s in load_overview(store) if s.name == "triage")
    assert (summary.n_versions, summary.latest_version) == (2, 2)
    assert summary.latest.version == 2 and summary.latest.dataset == "main"
    assert summary.latest.accuracy == pytest.approx(0.95)
    assert summary.latest.ci_low < 0.95 < summary.latest.ci_high
    assert summary.latest.latency_p95_ms == pytest.approx(200)
    assert summary.latest.cost_per_1k == pytest.approx(2.0)
    assert [p.accuracy for p in summary.history] == pytest.approx([0.90, 0.95])
    assert summary.previous.accuracy == pytest.approx(0.90)
    assert not summary.regressed


def test_a_drop_below_the_previous_interval_is_a_regression(world) -> None:
    store, v1, v2, main, _ = world
    make_test_run(store, v1, main, _results(90, 100))
    make_test_run(store, v2, main, _results(70, 100))
    summary = next(s for s in load_overview(store) if s.name == "triage")
    assert summary.regressed


def test_a_drop_within_the_previous_interval_is_noise() -> None:
    previous = RunPoint(1, 1, "d", "t", 0.90, 0.83, 0.94, None, None, 100)
    assert not is_regression(previous, RunPoint(2, 2, "d", "t", 0.85, 0.77, 0.91, None, None, 100))
    assert is_regression(previous, RunPoint(2, 2, "d", "t", 0.80, 0.71, 0.87, None, None, 100))
    assert not is_regression(None, previous)
    assert not is_regression(previous, RunPoint(2, 2, "d", "t", None, None, None, None, None, 0))


def test_production_version_and_latest_run_per_version(world) -> None:
    store, v1, _, main, other = world
    make_test_run(store, v1, main, _results(90, 100))
    make_test_run(store, v1, other, _results(60, 100))
    deploy.deploy(store, "triage", 1, "production", reason="test", force=True)
    summary = next(s for s in load_overview(store) if s.name == "triage")
    assert summary.production_version == 1
    latest = latest_by_version(store, "triage")
    assert set(latest) == {1}
    assert latest[1].dataset == "other" and latest[1].accuracy == pytest.approx(0.6)


def test_runs_that_did_not_complete_are_ignored(world) -> None:
    store, v1, _, main, _ = world
    make_test_run(store, v1, main, _results(90, 100), status="failed")
    summary = next(s for s in load_overview(store) if s.name == "triage")
    assert summary.latest is None
