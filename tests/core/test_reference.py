"""Like with like: each model's reference dataset, by rule or by choice, and the summaries
that read their figures on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_desk.core import audit, gates, registry
from mlops_desk.core.errors import NotFound
from mlops_desk.core.overview import latest_by_version, load_overview
from mlops_desk.core.reference import (
    CHOSEN,
    GATE,
    MOST_RUNS,
    reference_dataset,
    reference_datasets,
    set_reference,
)
from mlops_desk.core.store import Store
from tests.support.run_factory import make_test_dataset, make_test_run


def _results(n_right: int, n: int) -> list[dict]:
    return [{"prediction": "a" if i < n_right else "b", "expected": "a"} for i in range(n)]


@pytest.fixture
def world(store: Store, tmp_path: Path):
    registry.add_endpoint(store, "local", base_url="http://127.0.0.1:9/v1")
    registry.create_model(store, "triage", labels=["a", "b"])
    registry.create_model(store, "idle")
    v1, _ = registry.register_version(store, "triage", registry.make_config(
        endpoint="local", model_id="m1", parser="label"))
    v2, _ = registry.register_version(store, "triage", registry.make_config(
        endpoint="local", model_id="m2", parser="label"))
    main = make_test_dataset(store, tmp_path, "main",
                             [{"text": f"t{i}", "expected": "a"} for i in range(200)])
    easy = make_test_dataset(store, tmp_path, "easy",
                             [{"text": f"e{i}", "expected": "a"} for i in range(30)])
    return store, v1, v2, main, easy


def test_the_dataset_most_runs_used_is_the_reference(world) -> None:
    store, v1, v2, main, easy = world
    make_test_run(store, v1, main, _results(180, 200))
    make_test_run(store, v2, main, _results(191, 200))
    make_test_run(store, v2, easy, _results(30, 30))  # newest, but on an easy 30-row set
    ref = reference_dataset(store, "triage")
    assert (ref.dataset, ref.source) == ("main", MOST_RUNS)
    assert "idle" not in reference_datasets(store)  # no runs, no gate, no choice
    summary = next(s for s in load_overview(store) if s.name == "triage")
    assert summary.reference == ref
    assert summary.latest.dataset == "main"
    assert summary.latest.accuracy == pytest.approx(191 / 200)  # not the easy set's 100 %
    assert [p.dataset for p in summary.history] == ["main", "main"]


def test_a_tie_goes_to_the_dataset_run_most_recently(world) -> None:
    store, v1, _, main, easy = world
    make_test_run(store, v1, main, _results(180, 200))
    make_test_run(store, v1, easy, _results(30, 30))
    assert reference_dataset(store, "triage").dataset == "easy"


def test_the_gate_dataset_beats_the_most_runs(world) -> None:
    store, v1, v2, main, easy = world
    make_test_run(store, v1, main, _results(180, 200))
    make_test_run(store, v2, main, _results(190, 200))
    make_test_run(store, v2, easy, _results(29, 30))
    gates.set_policy(store, "triage", "staging", "main", ["accuracy>=0.5"])
    gates.set_policy(store, "triage", "production", "easy", ["accuracy>=0.5"])
    ref = reference_dataset(store, "triage")  # production's gate before staging's
    assert (ref.dataset, ref.source) == ("easy", GATE)
    assert next(s for s in load_overview(store) if s.name == "triage").latest.accuracy == (
        pytest.approx(29 / 30))


def test_a_chosen_reference_wins_is_audited_and_can_be_cleared(world) -> None:
    store, v1, _, main, _ = world
    make_test_run(store, v1, main, _results(180, 200))
    gates.set_policy(store, "triage", "production", "main", ["accuracy>=0.5"])
    chosen = set_reference(store, "triage", "easy")
    assert (chosen.dataset, chosen.source) == ("easy", CHOSEN)
    assert reference_dataset(store, "triage") == chosen
    # No run on the chosen dataset yet: the summary says so rather than borrowing another's.
    assert next(s for s in load_overview(store) if s.name == "triage").latest is None
    event = audit.list_events(store, limit=1)[0]
    assert (event["action"], event["subject"]) == ("model.reference", "model:triage")
    assert set_reference(store, "triage", None).source == GATE
    assert audit.verify(store).ok


def test_unknown_names_are_refused_and_nothing_changes(world) -> None:
    store, v1, _, main, _ = world
    make_test_run(store, v1, main, _results(180, 200))
    with pytest.raises(NotFound, match="no dataset named 'nope'"):
        set_reference(store, "triage", "nope")
    with pytest.raises(NotFound, match="no model named 'nope'"):
        set_reference(store, "nope", "main")
    assert reference_dataset(store, "triage").source == MOST_RUNS


def test_latest_by_version_reads_one_dataset(world) -> None:
    store, v1, v2, main, easy = world
    make_test_run(store, v1, main, _results(180, 200))
    make_test_run(store, v1, easy, _results(30, 30))
    make_test_run(store, v2, easy, _results(30, 30))
    on_main = latest_by_version(store, "triage", "main")
    assert set(on_main) == {1} and on_main[1].accuracy == pytest.approx(0.9)
    assert set(latest_by_version(store, "triage")) == {1, 2}
