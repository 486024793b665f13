"""core.sample: the sample workspace loads offline, fast, once, with a real history."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mlops_desk.resources import sample_model

from mlops_desk.core import deploy, registry, runs, sample
from mlops_desk.core.runner import CancelToken
from mlops_desk.core.store import Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> tuple[Path, sample.SampleSummary, list, float]:
    """One sample workspace for the module (it takes a few seconds to build)."""
    path = tmp_path_factory.mktemp("sample") / "registry.db"
    store = Store(path)
    steps: list[sample.SampleProgress] = []
    started = time.perf_counter()
    summary = sample.load_sample_workspace(store, on_progress=steps.append)
    elapsed = time.perf_counter() - started
    store.close()
    return path, summary, steps, elapsed


@pytest.fixture
def sample_store(loaded) -> Store:
    store = Store(loaded[0])
    yield store
    store.close()


def test_loads_in_under_ten_seconds_with_progress(loaded) -> None:
    _, summary, steps, elapsed = loaded
    assert summary.created and not summary.cancelled
    assert elapsed < 10, f"the sample workspace took {elapsed:.1f} s"
    assert [p.done for p in steps] == list(range(1, steps[0].total + 1))
    assert str(steps[0]).startswith(f"1/{steps[0].total}: endpoint")


def test_three_versions_that_really_differ(sample_store) -> None:
    versions = registry.list_versions(sample_store, sample.MODEL)
    assert [v.number for v in versions] == [1, 2, 3]
    assert versions[0].config["endpoint"] == sample.ENDPOINT
    accuracy = {}
    for run in runs.list_runs(sample_store, model=sample.MODEL):
        if run.status == "completed":
            accuracy.setdefault(run.version, set()).add(round(run.metrics["accuracy"], 4))
    best = {number: max(values) for number, values in accuracy.items()}
    assert best[1] < best[2] < best[3]
    assert best[1] < 0.85 and best[3] > 0.9
    v1_run = next(r for r in runs.list_runs(sample_store) if r.version == 1)
    assert v1_run.metrics["n_errors"] > 0  # the baseline refuses long reviews
    assert v1_run.metrics["total_cost"] > 0  # priced, so the cost chart has data


def test_runs_and_versions_are_spread_over_past_weeks(sample_store) -> None:
    now = datetime.now(UTC)
    history = runs.list_runs(sample_store, model=sample.MODEL)
    assert len(history) == len(sample.RUNS)
    ages = sorted((now - datetime.fromisoformat(r.started_at)).days for r in history)
    assert ages[0] <= 2 and ages[-1] >= 40
    created = [datetime.fromisoformat(v.created_at)
               for v in registry.list_versions(sample_store, sample.MODEL)]
    assert created == sorted(created) and (now - created[0]).days >= 40
    for run in history:  # each run starts after its version was registered
        version = registry.get_version(sample_store, sample.MODEL, run.version)
        assert run.started_at > version.created_at
        assert run.finished_at >= run.started_at


def test_one_run_was_stopped_part_way_and_can_be_resumed(sample_store) -> None:
    stopped = [r for r in runs.list_runs(sample_store) if r.status == "cancelled"]
    assert len(stopped) == 1
    assert 0 < stopped[0].n_done < stopped[0].n_total
    assert stopped[0].status in runs.RESUMABLE


def test_deploys_and_a_second_load_changes_nothing(sample_store) -> None:
    assert deploy.get_environment(sample_store, sample.MODEL, "production").version == 2
    assert deploy.get_environment(sample_store, sample.MODEL, "staging").version == 3
    before = len(runs.list_runs(sample_store))
    again = sample.load_sample_workspace(sample_store)
    assert not again.created and again.run_ids == []
    assert len(runs.list_runs(sample_store)) == before


def test_cancel_stops_between_steps(store: Store) -> None:
    token = CancelToken()

    def on_progress(p: sample.SampleProgress) -> None:
        if p.message.startswith("version"):
            token.cancel()

    summary = sample.load_sample_workspace(store, on_progress=on_progress, cancel=token)
    assert summary.cancelled and summary.versions == [1]
    assert runs.list_runs(store) == []


def test_a_foreign_endpoint_with_the_sample_name_is_refused(store: Store) -> None:
    registry.add_endpoint(store, sample.ENDPOINT, base_url="http://127.0.0.1:9/v1")
    with pytest.raises(registry.Conflict, match="not the sample's"):
        sample.load_sample_workspace(store)


def test_the_shipped_reviews_are_varied_and_regenerate_identically(tmp_path: Path) -> None:
    with sample.reviews_csv() as path:
        shipped = path.read_bytes()
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    assert 250 <= len(rows) <= 400
    assert len({r["text"] for r in rows}) == len(rows)
    counts = Counter(r["label"] for r in rows)
    assert set(counts) == {"positive", "negative", "neutral"} and min(counts.values()) >= 40
    copy = tmp_path / "make_reviews.py"
    copy.write_text((ROOT / "resources/sample/make_reviews.py").read_text())
    subprocess.run([sys.executable, str(copy)], check=True, capture_output=True)
    assert (tmp_path / "reviews.csv").read_bytes() == shipped


def test_the_sample_model_follows_its_params() -> None:
    def ask(text: str, **params) -> str:
        return sample_model.classify([{"role": "user", "content": text}], params)["text"]

    assert ask("Not bad at all.") == "negative"
    assert ask("Not bad at all.", negation=True) == "positive"
    assert ask("Nice, but it broke.", negation=True) == "neutral"
    assert ask("Nice, but it broke.", negation=True, contrast=True) == "negative"
    assert ask("Good.", threshold=1) == "neutral"
    reply = sample_model.classify([{"role": "user", "content": "Great."}], {})
    assert reply["usage"]["completion_tokens"] == 1
    with pytest.raises(ValueError, match="exceeds"):
        ask("x" * 50, max_chars=10)


def test_demo_command(cli) -> None:
    first = cli.ok("demo")
    assert "sample workspace loaded" in first.out
    second = cli.ok("demo", "--json")
    assert '"created": false' in second.out


def test_a_day_of_gateway_traffic_for_the_monitor(sample_store) -> None:
    from mlops_desk.core import monitoring

    hour_ago = time.time() - 3600
    recent = monitoring.summary(sample_store, sample.MODEL, since=hour_ago)
    environments = {row["environment"] for row in recent["by_version"]}
    assert environments == {"production", "staging"} and recent["requests"] > 100
    day = monitoring.summary(sample_store, sample.MODEL, since=hour_ago - 23 * 3600)
    assert day["requests"] == sum(n for _, n in sample.TRAFFIC.values())
    assert day["cost"] > 0 and day["latency_p95_ms"] > day["latency_p50_ms"]
    labels = {r[0] for r in sample_store.db.execute(
        "SELECT DISTINCT label FROM gateway_requests WHERE status = 200")}
    assert labels == {"positive", "negative", "neutral"}
