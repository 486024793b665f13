"""Gate policies: rules, the candidate's latest complete run, forced deploys, non-inferiority."""

from __future__ import annotations

import json

import pytest

from mlops_desk.core import audit, deploy, gates
from mlops_desk.core.errors import BadInput, CheckFailed
from mlops_desk.core.metrics import mcnemar_exact
from tests.deploy.world import World


def gate(world: World, *rules: str, non_inferior: bool = False) -> gates.Policy:
    return gates.set_policy(world.store, "triage", "production", "gate-set", list(rules),
                            non_inferior=non_inferior)


@pytest.mark.parametrize(("text", "expected"), [
    ("accuracy>=0.90", ("accuracy", ">=", 0.9)),
    (" latency_p95_ms <= 2000 ", ("latency_p95_ms", "<=", 2000.0)),
    ("error_rate<=0.01", ("error_rate", "<=", 0.01)),
    ("cost_per_1k<.5", ("cost_per_1k", "<", 0.5)),
    ("Macro_F1>0.8", ("macro_f1", ">", 0.8)),
])
def test_rules_parse(text: str, expected: tuple) -> None:
    rule = gates.parse_rule(text)
    assert (rule.metric, rule.op, rule.threshold) == expected


@pytest.mark.parametrize("text", ["accuracy", "accuracy=>0.9", "accurcy>=0.9", "accuracy>=high",
                                  ""])
def test_bad_rules_are_refused(text: str) -> None:
    with pytest.raises(BadInput):
        gates.parse_rule(text)


def test_policy_round_trips_and_is_audited(world: World) -> None:
    policy = gate(world, "accuracy>=0.9", "latency_p95_ms<=2000", non_inferior=True)
    assert [str(r) for r in policy.rules] == ["accuracy>=0.9", "latency_p95_ms<=2000"]
    assert (policy.dataset, policy.non_inferior) == ("gate-set", True)
    assert gates.get_policy(world.store, "triage", "staging") is None
    event = audit.list_events(world.store)[-1]
    assert (event["action"], event["details"]["rules"]) == (
        "gate.set", ["accuracy>=0.9", "latency_p95_ms<=2000"])
    with pytest.raises(BadInput):
        gates.set_policy(world.store, "triage", "nowhere", "gate-set", ["accuracy>=0.9"])


def test_a_failing_run_blocks_with_metric_value_threshold_and_run(world: World) -> None:
    gate(world, "accuracy>=0.90", "latency_p95_ms<=2000")
    run_id = world.run(1, wrong=range(8))  # 32/40 = 0.8
    with pytest.raises(gates.GateRefused) as refused:
        deploy.deploy(world.store, "triage", 1, "production")
    message = str(refused.value)
    assert refused.value.exit_code == 1 and isinstance(refused.value, CheckFailed)
    assert "accuracy = 0.8" in message and ">= 0.9" in message and f"run {run_id}" in message
    assert "latency" not in message  # only failures are named in the one line
    failed = refused.value.report.failures
    assert [(c.metric, c.value, c.threshold, c.run_id) for c in failed] == [
        ("accuracy", 0.8, 0.9, run_id)]
    assert deploy.get_environment(world.store, "triage", "production").version is None
    assert deploy.history(world.store, "triage") == []


def test_a_passing_run_deploys_and_is_recorded_as_the_gate_run(world: World) -> None:
    gate(world, "accuracy>=0.90", "latency_p95_ms<=2000", "error_rate<=0.01",
         "cost_per_1k<=1.5")
    run_id = world.run(1, wrong=[0, 1])  # 38/40 = 0.95
    result = deploy.deploy(world.store, "triage", 1, "production")
    assert result.gate.passed and result.gate.run_id == run_id
    move = deploy.history(world.store, "triage")[0]
    assert (move.gate_run_id, move.forced) == (run_id, False)
    assert move.gate_report["passed"] is True and len(move.gate_report["checks"]) == 4


def test_the_latest_completed_run_counts(world: World) -> None:
    gate(world, "accuracy>=0.9")
    world.run(1, wrong=[])  # good, older
    bad = world.run(1, wrong=range(10))  # bad, newer: this is what the gate reads
    world.run(1, wrong=[], status="failed")  # not completed: ignored
    with pytest.raises(gates.GateRefused, match=f"run {bad}"):
        deploy.deploy(world.store, "triage", 1, "production")


def test_no_run_on_the_gate_dataset_blocks(world: World) -> None:
    gate(world, "accuracy>=0.9")
    with pytest.raises(gates.GateRefused, match="no completed run on gate dataset gate-set"):
        deploy.deploy(world.store, "triage", 1, "production")


def test_a_metric_missing_from_the_run_fails_its_rule(world: World) -> None:
    gate(world, "total_cost<=1")
    results = [{"expected": e, "prediction": e} for e in world.expected]  # no cost reported
    from tests.support.run_factory import make_test_run

    run_id = make_test_run(world.store, world.version(1), world.dataset, results)
    with pytest.raises(gates.GateRefused, match=f"total_cost is not available in run {run_id}"):
        deploy.deploy(world.store, "triage", 1, "production")


def test_force_needs_a_reason_and_is_recorded(world: World) -> None:
    gate(world, "accuracy>=0.99")
    run_id = world.run(1, wrong=[0, 1, 2])
    with pytest.raises(BadInput, match="a forced deploy must say why") as refused:
        deploy.deploy(world.store, "triage", 1, "production", force=True)
    assert refused.value.hint == "--force needs --reason TEXT"  # what the CLI appends
    result = deploy.deploy(world.store, "triage", 1, "production", force=True,
                           reason="hotfix for outage INC-42")
    assert not result.gate.passed
    move = deploy.history(world.store, "triage")[0]
    assert (move.forced, move.reason, move.gate_run_id) == (True, "hotfix for outage INC-42",
                                                            run_id)
    event = audit.list_events(world.store)[-1]
    assert event["details"]["forced"] is True
    assert event["details"]["reason"] == "hotfix for outage INC-42"


def test_force_past_a_passing_gate_is_not_marked_forced(world: World) -> None:
    gate(world, "accuracy>=0.5")
    world.run(1)
    deploy.deploy(world.store, "triage", 1, "production", force=True, reason="belt and braces")
    assert deploy.history(world.store, "triage")[0].forced is False


def test_non_inferiority_refuses_a_significantly_worse_version(world: World) -> None:
    gate(world, "accuracy>=0.5", non_inferior=True)
    base = world.run(1, wrong=[0, 1, 2, 3])  # 36/40
    deploy.deploy(world.store, "triage", 1, "production")
    # v2 loses rows 10..19 (right -> wrong) and fixes rows 0, 1 (wrong -> right): b=10, c=2.
    worse = world.run(2, wrong=[2, 3, *range(10, 20)])
    with pytest.raises(gates.GateRefused) as refused:
        deploy.deploy(world.store, "triage", 2, "production")
    check = refused.value.report.failures[0]
    assert check.name == "non_inferior"
    assert check.value == pytest.approx(mcnemar_exact(10, 2)) and check.value < 0.05
    assert "10 row(s) right->wrong, 2 wrong->right" in check.message
    assert f"run {worse} vs run {base}" in check.message
    assert "significantly worse than deployed triage:1" in str(refused.value)


def test_non_inferiority_passes_a_version_that_is_not_significantly_worse(world: World) -> None:
    gate(world, non_inferior=True)
    world.run(1, wrong=[0, 1, 2, 3])
    deploy.deploy(world.store, "triage", 1, "production")  # nothing deployed yet: passes
    world.run(2, wrong=[0, 1, 2, 3, 10, 11])  # b=2, c=0: p = 0.5
    result = deploy.deploy(world.store, "triage", 2, "production")
    assert result.gate.passed
    assert "not significantly worse" in result.gate.checks[0].message


def test_non_inferiority_needs_a_baseline_run(world: World) -> None:
    deploy.deploy(world.store, "triage", 1, "production")  # before any gate: no run
    gate(world, non_inferior=True)
    world.run(2)
    with pytest.raises(gates.GateRefused, match="deployed triage:1 has no completed run"):
        deploy.deploy(world.store, "triage", 2, "production")


# -- only complete evidence counts -------------------------------------------------


def test_a_row_limited_run_does_not_satisfy_the_gate(world: World) -> None:
    gate(world, "accuracy>=0.95")
    limited = world.run(1, limit=10)  # accuracy 1.0, but on 10 of the 40 gate rows
    with pytest.raises(gates.GateRefused) as refused:
        deploy.deploy(world.store, "triage", 1, "production")
    report = refused.value.report
    assert report.run_id is None
    assert report.skipped == [gates.SkippedRun(limited, "triage:1", "covers 10 of 40 rows")]
    message = str(refused.value)
    assert "no completed run on gate dataset gate-set that stores all of its 40 rows" in message
    assert f"skipped run {limited} of triage:1 (covers 10 of 40 rows)" in message
    assert deploy.get_environment(world.store, "triage", "production").version is None


def test_the_gate_reads_the_newest_complete_run_and_names_those_it_skipped(
        world: World) -> None:
    gate(world, "accuracy>=0.95")
    full = world.run(1, wrong=range(8))  # 0.8 on every row: the evidence
    limited = world.run(1, limit=10)
    failed = world.run(1, status="failed", stored=5)
    interrupted = world.run(1, status="interrupted", stored=20)
    lost_rows = world.run(1, stored=30)  # "completed" but 10 rows never stored
    with pytest.raises(gates.GateRefused) as refused:
        deploy.deploy(world.store, "triage", 1, "production")
    report = refused.value.report
    assert report.run_id == full
    assert report.used == (f"run {full} of triage:1: completed, all 40 rows of gate-set stored")
    assert [(s.run_id, s.reason) for s in report.skipped] == [
        (lost_rows, "stores 30 of 40 rows"), (interrupted, "interrupted"), (failed, "failed"),
        (limited, "covers 10 of 40 rows")]
    assert [(c.metric, c.value, c.run_id) for c in report.failures] == [
        ("accuracy", 0.8, full)]
    assert report.explain() == (
        f"accuracy = 0.8 in run {full} fails >= 0.95; skipped run {lost_rows} of triage:1 "
        f"(stores 30 of 40 rows), run {interrupted} of triage:1 (interrupted), run {failed} "
        "of triage:1 (failed) and 1 more")
    assert report.to_dict()["skipped"][0] == {"run_id": lost_rows, "version": "triage:1",
                                              "reason": "stores 30 of 40 rows"}


def test_a_run_whose_metrics_miss_rows_is_skipped(world: World) -> None:
    gate(world, "accuracy>=0.5")
    run_id = world.run(1)
    with world.store.transaction() as db:  # metrics computed before the last rows arrived
        metrics = json.loads(db.execute("SELECT metrics FROM runs WHERE id = ?",
                                        [run_id]).fetchone()[0])
        db.execute("UPDATE runs SET metrics = ? WHERE id = ?",
                   [json.dumps({**metrics, "n_rows": 39}), run_id])
    report = gates.evaluate(world.store, world.version(1), "production", None)
    assert report.skipped == [gates.SkippedRun(run_id, "triage:1",
                                               "its metrics count 39 of 40 rows")]
    assert not report.passed


def test_non_inferiority_compares_with_the_baseline_complete_run(world: World) -> None:
    gate(world, "accuracy>=0.5", non_inferior=True)
    base = world.run(1, wrong=[0, 1, 2, 3])
    deploy.deploy(world.store, "triage", 1, "production")
    partial_base = world.run(1, limit=10)  # newer, but only 10 rows: not the baseline
    worse = world.run(2, wrong=[2, 3, *range(10, 20)])  # b=10, c=2 against the full run
    with pytest.raises(gates.GateRefused) as refused:
        deploy.deploy(world.store, "triage", 2, "production")
    report = refused.value.report
    assert f"run {worse} vs run {base}" in report.failures[0].message
    assert report.skipped == [gates.SkippedRun(partial_base, "triage:1",
                                               "covers 10 of 40 rows")]


def test_non_inferiority_refuses_a_baseline_with_only_incomplete_runs(world: World) -> None:
    deploy.deploy(world.store, "triage", 1, "production")  # before any gate: no run
    gate(world, non_inferior=True)
    failed = world.run(1, status="failed")
    world.run(2)
    report = gates.evaluate(world.store, world.version(2), "production", world.version(1))
    assert not report.passed
    assert "deployed triage:1 has no completed run on gate-set that stores all of its 40 rows" \
        in report.failures[0].message
    assert report.skipped == [gates.SkippedRun(failed, "triage:1", "failed")]


def test_only_the_newest_skipped_runs_are_listed(world: World) -> None:
    gate(world, "accuracy>=0.5")
    limited = [world.run(1, limit=5) for _ in range(gates.MAX_SKIPPED_LISTED + 2)]
    report = gates.evaluate(world.store, world.version(1), "production", None)
    assert report.n_skipped == len(limited)
    assert [s.run_id for s in report.skipped] == limited[::-1][:gates.MAX_SKIPPED_LISTED]
    assert report.explain().endswith(f"and {len(limited) - 3} more")
