"""core.timeseries: run metrics over time per model, filters, markers, and 10,000 runs."""

from __future__ import annotations

import itertools
import json
import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_desk.core import deploy, registry, timeseries
from mlops_desk.core.reference import set_reference
from mlops_desk.core.store import Store
from tests.support.run_factory import make_test_dataset

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def metrics(accuracy: float | None, **extra) -> dict:
    return {"accuracy": accuracy,
            "accuracy_ci_low": None if accuracy is None else accuracy - 0.05,
            "accuracy_ci_high": None if accuracy is None else accuracy + 0.05,
            "latency_p95_ms": 120.0, "error_rate": 0.01, "cost_per_1k": 0.5, "n_rows": 100,
            "confusion": {"labels": ["a"], "matrix": [[1]]}, **extra}


def add_runs(store: Store, version: registry.Version, dataset_id: int,
             points: list[tuple[datetime, dict | None, str]]) -> list[int]:
    """Insert finished runs directly: (start time, metrics, status) each."""
    model_id = registry.get_model(store, version.model).id
    ids = []
    with store.transaction() as db:
        for started, values, status in points:
            cursor = db.execute(
                "INSERT INTO runs (model_id, version_id, dataset_id, status, settings, n_total, "
                "metrics, created_at, started_at, finished_at, created_by) "
                "VALUES (?, ?, ?, ?, '{}', 100, ?, ?, ?, ?, 'test')",
                [model_id, version.id, dataset_id, status,
                 None if values is None else json.dumps(values), iso(started), iso(started),
                 iso(started + timedelta(seconds=5))])
            ids.append(cursor.lastrowid)
    return ids


@pytest.fixture
def two_models(store: Store, tmp_path: Path):
    registry.add_endpoint(store, "local", base_url="http://127.0.0.1:9/v1")
    versions = {}
    for name in ("alpha", "beta"):
        registry.create_model(store, name, labels=["a", "b"])
        for n in (1, 2):
            config = registry.make_config(endpoint="local", model_id=f"m{n}",
                                          system_prompt=f"prompt {n}")
            versions[name, n], _ = registry.register_version(
                store, name, config, note=f"note {n}",
                created_at=iso(T0 + timedelta(days=10 * (n - 1))))
    rows = [{"text": "x", "expected": "a"}, {"text": "y", "expected": "b"}]
    main = make_test_dataset(store, tmp_path, "main", rows)
    other = make_test_dataset(store, tmp_path, "other", [*rows, {"text": "z", "expected": "a"}])
    day = timedelta(days=1)
    add_runs(store, versions["alpha", 1], main.id, [
        (T0 + 3 * day, metrics(0.70), "completed"),
        (T0 + 1 * day, metrics(0.60), "completed"),  # inserted out of order on purpose
        (T0 + 2 * day, metrics(None, cost_per_1k=None), "completed"),
        (T0 + 4 * day, metrics(0.99), "cancelled"),  # not completed: not plotted
    ])
    add_runs(store, versions["alpha", 2], other.id, [(T0 + 12 * day, metrics(0.80), "completed")])
    add_runs(store, versions["beta", 1], main.id, [(T0 + 5 * day, metrics(0.50), "completed")])
    return versions


def test_series_per_model_sorted_by_time_with_nan_for_missing(store, two_models) -> None:
    data = timeseries.load_chart_data(store)
    # One line per model and dataset, the model's reference dataset (most runs: main) first.
    assert [(s.model, s.dataset, s.reference) for s in data.series] == [
        ("alpha", "main", True), ("alpha", "other", False), ("beta", "main", True)]
    assert data.n_runs == 5 and not data.truncated
    assert data.series[1].versions == [2] and data.series[1].datasets == ["other"]
    alpha = data.series[0]
    assert alpha.x == sorted(alpha.x)
    assert alpha.x[0] == pytest.approx((T0 + timedelta(days=1)).timestamp(), abs=0.01)
    assert alpha.values["accuracy"][:2] == [0.60, pytest.approx(math.nan, nan_ok=True)]
    assert math.isnan(alpha.values["cost_per_1k"][1]) and math.isnan(alpha.values["ci_low"][1])
    assert alpha.versions == [1, 1, 1] and set(alpha.datasets) == {"main"}
    point = alpha.point(0)
    assert point["run_id"] == alpha.run_ids[0] and point["accuracy"] == 0.60
    assert point["ci_high"] == pytest.approx(0.65) and point["n_rows"] == 100


def test_filters_by_model_version_and_dataset(store, two_models) -> None:
    only_alpha = timeseries.load_chart_data(store, model="alpha")
    assert [s.model for s in only_alpha.series] == ["alpha"] * 2 and only_alpha.n_runs == 4
    v2 = timeseries.load_chart_data(store, model="alpha", version=2)
    assert v2.series[0].versions == [2]
    main = timeseries.load_chart_data(store, dataset="main")
    assert main.n_runs == 4 and set(main.series[1].datasets) == {"main"}
    reference = timeseries.load_chart_data(store, reference_only=True)
    assert [(s.model, s.dataset) for s in reference.series] == [("alpha", "main"),
                                                                ("beta", "main")]
    assert reference.n_runs == 4
    assert timeseries.load_chart_data(store, model="nope").series == []
    filters = timeseries.chart_filters(store)
    assert filters.models == ["alpha", "beta"]
    assert filters.versions == {"alpha": [1, 2], "beta": [1]}
    assert filters.datasets == ["main", "other"]


def test_all_models_shows_the_most_recently_run_ones(store, two_models) -> None:
    data = timeseries.load_chart_data(store, max_models=1)
    assert {s.model for s in data.series} == {"alpha"}  # alpha ran last (day 12)
    assert data.truncated and data.models_with_runs == 2


def test_markers_for_version_registrations_and_deployments(store, two_models) -> None:
    deploy.deploy(store, "alpha", 2, "production", reason="better")
    data = timeseries.load_chart_data(store, model="alpha")
    versions = [m for m in data.markers if m.kind == "version"]
    assert [m.label for m in versions] == ["v1", "v2"]
    assert versions[1].x == pytest.approx((T0 + timedelta(days=10)).timestamp(), abs=0.01)
    assert "note 2" in versions[1].detail
    deploys = [m for m in data.markers if m.kind == "deploy"]
    assert [m.label for m in deploys] == ["v2 → production"]
    assert "better" in deploys[0].detail
    assert [m.x for m in data.markers] == sorted(m.x for m in data.markers)
    only_v1 = timeseries.load_chart_data(store, model="alpha", version=1)
    assert [m.label for m in only_v1.markers] == ["v1"]


def test_ten_thousand_runs_load_quickly(store, two_models) -> None:
    version = two_models["beta", 2]
    dataset_id = store.db.execute("SELECT id FROM datasets WHERE name = 'main'").fetchone()[0]
    add_runs(store, version, dataset_id, [
        (T0 + timedelta(minutes=i), metrics(0.5 + (i % 40) / 100), "completed")
        for i in range(10_000)])
    started = time.perf_counter()
    data = timeseries.load_chart_data(store, model="beta")
    elapsed = time.perf_counter() - started
    assert data.n_runs == 10_001 and len(data.series[0]) == 10_001
    assert elapsed < 1.5, f"loading 10,000 runs took {elapsed:.2f} s"


def test_iso_to_epoch_reads_our_timestamps() -> None:
    assert timeseries.iso_to_epoch("2025-03-01T12:00:00.000000Z") == T0.timestamp()


def test_a_chosen_reference_moves_the_default_line(store, two_models) -> None:
    set_reference(store, "alpha", "other")
    data = timeseries.load_chart_data(store, reference_only=True)
    assert [(s.model, s.dataset, s.reference) for s in data.series] == [
        ("alpha", "other", True), ("beta", "main", True)]
    assert data.series[0].versions == [2]


def test_models_keep_their_ids_for_colours(store, two_models) -> None:
    ids = {s.model: s.model_id for s in timeseries.load_chart_data(store).series}
    only_beta = timeseries.load_chart_data(store, model="beta").series
    assert ids["alpha"] != ids["beta"] and only_beta[0].model_id == ids["beta"]


def _deploy(x: float, model: str, number: int, env: str) -> timeseries.Marker:
    return timeseries.Marker(x, model, "deploy", f"v{number} → {env}", f"{model}:{number}",
                             ((number, env),))


def test_merged_markers_group_versions_and_never_mix_models() -> None:
    merged = timeseries.merge_markers([
        _deploy(0, "a", 2, "staging"), _deploy(60, "b", 3, "staging"),
        _deploy(120, "a", 4, "staging"), _deploy(180, "a", 4, "production"),
        _deploy(90_000, "a", 5, "staging")])
    assert [(m.model, m.label) for m in merged] == [
        ("a", "v2, v4 → staging; v4 → production"), ("b", "v3 → staging"),
        ("a", "v5 → staging")]


@given(st.lists(st.tuples(st.floats(0, 1000), st.floats(1, 200)), max_size=40))
def test_stacked_lanes_never_overlap(spans) -> None:
    spans = [(start, start + width) for start, width in spans]  # any order
    lanes = timeseries.stack_lanes(spans, gap=2.0)
    for i, j in itertools.combinations(range(len(spans)), 2):
        if lanes[i] == lanes[j]:
            (a0, a1), (b0, b1) = spans[i], spans[j]
            assert a1 + 2.0 <= b0 or b1 + 2.0 <= a0
    assert all(lane <= i for i, lane in enumerate(lanes))
