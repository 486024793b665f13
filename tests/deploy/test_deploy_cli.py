"""The deploy, rollback, history, gate, env and monitor commands: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from mlops_desk.core import audit
from mlops_desk.core.store import Store
from tests.conftest import Cli
from tests.deploy.world import World, build_world
from tests.support.fake_openai import FakeOpenAIServer
from tests.support.fixtures import fake_openai_fixture  # noqa: F401


def test_gate_blocks_with_exit_1_and_one_explaining_line(cli: Cli, world: World) -> None:
    cli.ok("gate", "set", "triage", "--env", "production", "--dataset", "gate-set",
           "--rule", "accuracy>=0.90", "latency_p95_ms<=2000")
    run_id = world.run(1, wrong=range(8))
    result = cli("deploy", "triage:1", "--env", "production")
    assert result.code == 1
    assert len(result.err_lines) == 1
    line = result.err_lines[0]
    assert line.startswith("mlops-desk: error: deploy of triage:1 to production refused")
    assert "accuracy = 0.8" in line and ">= 0.9" in line and f"run {run_id}" in line
    assert "FAIL  accuracy = 0.8" in result.out and "PASS  latency_p95_ms = 100" in result.out
    refused = cli("deploy", "triage:1", "--env", "production", "--json")
    assert refused.code == 1
    assert json.loads(refused.out)["gate"]["checks"][0]["value"] == 0.8


def test_deploy_passes_then_history_and_rollback(cli: Cli, world: World) -> None:
    cli.ok("gate", "set", "triage", "--env", "production", "--dataset", "gate-set",
           "--rule", "accuracy>=0.9")
    run_1, run_2 = world.run(1), world.run(2, wrong=[5])
    first = cli.ok("deploy", "triage:1", "--env", "production", "--reason", "launch")
    assert "triage:1 deployed to production (was empty)" in first.out
    second = json.loads(cli.ok("deploy", "triage:2", "--env", "production", "--json").out)
    assert second["deployed"] is True and second["move"]["gate_run_id"] == run_2
    assert second["gate"]["passed"] is True
    back = json.loads(cli.ok("rollback", "triage", "--env", "production", "--reason", "oops",
                             "--json").out)
    assert (back["action"], back["from_version"], back["to_version"]) == ("rollback", 2, 1)
    history = json.loads(cli.ok("history", "triage", "--json").out)
    assert [(h["action"], h["to_version"], h["gate_run_id"], h["reason"]) for h in history] == [
        ("deploy", 1, run_1, "launch"), ("deploy", 2, run_2, ""), ("rollback", 1, None, "oops")]
    assert "rollback" in cli.ok("history", "triage").out
    actions = [e["action"] for e in audit.list_events(world.store)]
    assert actions[-3:] == ["deploy", "deploy", "rollback"]
    envs = json.loads(cli.ok("env", "list", "triage", "--json").out)
    assert {e["name"]: e["version"] for e in envs} == {"staging": None, "production": 1}


def test_force_needs_a_reason(cli: Cli, world: World) -> None:
    cli.ok("gate", "set", "triage", "--env", "production", "--dataset", "gate-set",
           "--rule", "accuracy>=0.99")
    world.run(1, wrong=[1])
    no_reason = cli("deploy", "triage:1", "--env", "production", "--force")
    assert no_reason.code == 2 and "--reason" in no_reason.err
    forced = cli.ok("deploy", "triage:1", "--env", "production", "--force", "--reason",
                    "incident 7")
    assert "forced: incident 7" in forced.err
    assert json.loads(cli.ok("history", "triage", "--json").out)[0]["forced"] is True


def test_gate_show_check_and_env_add(cli: Cli, world: World) -> None:
    cli.ok("gate", "set", "triage", "--env", "staging", "--dataset", "gate-set", "--rule",
           "accuracy>=0.5", "--rule", "error_rate<=0.01", "--non-inferior")
    shown = json.loads(cli.ok("gate", "show", "triage", "--json").out)
    assert shown[0]["rules"] == ["accuracy>=0.5", "error_rate<=0.01"]
    assert shown[0]["non_inferior"] is True
    assert "accuracy>=0.5 error_rate<=0.01" in cli.ok("gate", "show", "triage").out
    missing = cli("gate", "check", "triage:1", "--env", "staging")
    assert missing.code == 1 and "no completed run" in missing.err
    world.run(1)
    assert cli("gate", "check", "triage:1", "--env", "staging").code == 0
    cli.ok("env", "add", "triage", "canary")
    assert "canary" in cli.ok("env", "list", "triage").out


def test_usage_errors_exit_2(cli: Cli, world: World) -> None:
    bad_rule = cli("gate", "set", "triage", "--env", "production", "--dataset", "gate-set",
                   "--rule", "acuracy>=0.9")
    assert bad_rule.code == 2 and "unknown metric 'acuracy'" in bad_rule.err
    assert cli("deploy", "triage", "--env", "production").code == 2  # no :N
    assert cli("deploy", "nope:1", "--env", "production").code == 2
    assert cli("deploy", "triage:1").code == 2  # --env is required
    assert cli("rollback", "triage", "--env", "production").code == 2  # nothing to roll back
    assert cli("monitor", "triage", "--since", "soon").code == 2
    for result in (bad_rule, cli("deploy", "nope:1", "--env", "production")):
        assert len(result.err_lines) == 1


def test_manifest_dir_option(cli: Cli, world: World, tmp_path: Path) -> None:
    out = cli.ok("deploy", "triage:3", "--env", "staging", "--manifest-dir", str(tmp_path / "m"))
    assert "manifest written to" in out.out
    assert json.loads((tmp_path / "m" / "triage.staging.json").read_text())["version"] == 3


def test_monitor_json_has_the_figures(cli: Cli, world: World) -> None:
    data = json.loads(cli.ok("monitor", "triage", "--since", "30m", "--json").out)
    assert {"requests", "errors", "latency_p95_ms", "per_minute", "by_version"} <= set(data)
    assert {"psi", "chi2", "chi2_p", "ks_d", "ks_p", "status"} <= set(data["drift"])
    assert data["requests"] == 0 and data["drift"]["status"] == "nothing deployed"
    text = cli.ok("monitor", "triage").out
    assert "0 request(s)" in text and "drift (production): nothing deployed" in text


def test_a_row_limited_run_does_not_pass_the_gate_and_the_report_says_why(
        cli: Cli, store: Store, tmp_path: Path, fake_openai: FakeOpenAIServer) -> None:
    build_world(store, tmp_path, fake_openai.base_url)
    # The gate rows read "ticket N ANSWER: label": answer every one right.
    fake_openai.responder = lambda request: request["messages"][-1]["content"].split()[-1]
    cli.ok("gate", "set", "triage", "--env", "production", "--dataset", "gate-set",
           "--rule", "accuracy>=0.95")
    cli.ok("run", "triage:1", "--dataset", "gate-set", "--limit", "10")
    limited = json.loads(cli.ok("runs", "--json").out)[0]
    assert (limited["n_total"], limited["metrics"]["accuracy"]) == (10, 1.0)
    refused = cli("gate", "check", "triage:1", "--env", "production")
    assert refused.code == 1 and len(refused.err_lines) == 1
    assert "no completed run on gate dataset gate-set that stores all of its 40 rows" in \
        refused.err
    assert f"skipped run {limited['id']} of triage:1 (covers 10 of 40 rows)" in refused.err
    assert f"SKIP  run {limited['id']} of triage:1: covers 10 of 40 rows" in refused.out

    cli.ok("run", "triage:1", "--dataset", "gate-set")
    full = json.loads(cli.ok("runs", "--json").out)[0]["id"]
    cli.ok("run", "triage:1", "--dataset", "gate-set", "--limit", "5")
    newest = json.loads(cli.ok("runs", "--json").out)[0]["id"]
    passed = cli.ok("gate", "check", "triage:1", "--env", "production")
    assert f"gate run: run {full} of triage:1: completed, all 40 rows of gate-set stored" in \
        passed.out
    assert f"SKIP  run {newest} of triage:1: covers 5 of 40 rows" in passed.out
    report = json.loads(cli.ok("gate", "check", "triage:1", "--env", "production",
                               "--json").out)
    assert report["run_id"] == full and report["n_skipped"] == 1
    assert report["skipped"] == [{"run_id": newest, "version": "triage:1",
                                  "reason": "covers 5 of 40 rows"}]


def test_monitor_reads_and_only_monitor_record_writes_drift(cli: Cli, world: World) -> None:
    import time

    from tests.deploy.test_monitoring import deployed_with_gate_run, log_requests

    deployed_with_gate_run(world)
    now = time.time()
    log_requests(world, [{"ts": now - 100 - i, "label": "bug", "chars": 400} for i in range(60)])

    def drift_events() -> list[str]:
        return [e["action"] for e in audit.list_events(world.store)
                if e["action"].startswith("drift")]

    for since in ("5m", "1h", "2d"):
        assert "drift (production, triage:1" in cli.ok("monitor", "triage", "--since", since).out
    assert drift_events() == []
    cli.ok("monitor", "triage", "--since", "5m", "--record")
    cli.ok("monitor", "triage", "--since", "2d", "--record")
    assert drift_events() == ["drift.warning"]
