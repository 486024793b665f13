"""Environments, deploy, rollback, history, audit and the v2 migration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mlops_desk.core import audit, deploy, registry
from mlops_desk.core.errors import BadInput, Conflict, NotFound
from mlops_desk.core.schema import MIGRATIONS
from mlops_desk.core.store import Store
from tests.deploy.world import World


def moves_and_events(world: World) -> tuple[list, list]:
    moves = deploy.history(world.store, "triage")
    events = [e for e in audit.list_events(world.store) if e["action"] in deploy.ACTIONS]
    return moves, events


def test_a_new_model_has_empty_staging_and_production(world: World) -> None:
    envs = deploy.list_environments(world.store, "triage")
    assert [(e.name, e.version) for e in envs] == [("staging", None), ("production", None)]
    added = deploy.add_environment(world.store, "triage", "canary")
    assert (added.name, added.version) == ("canary", None)
    assert audit.list_events(world.store)[-1]["action"] == "environment.add"
    with pytest.raises(Conflict):
        deploy.add_environment(world.store, "triage", "canary")
    with pytest.raises(BadInput):
        deploy.add_environment(world.store, "triage", "bad@name")


def test_migration_gives_existing_models_their_environments(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO models (name, kind, created_at) VALUES ('old', 'generation', 'x')")
    conn.commit()
    conn.close()
    store = Store(path)
    try:
        assert store.schema_version() == len(MIGRATIONS)
        assert [e.name for e in deploy.list_environments(store, "old")] == ["staging",
                                                                          "production"]
        assert (tmp_path / "old.db.bak-schema1").exists()
    finally:
        store.close()


def test_deploy_moves_the_pointer_and_records_history_and_audit(world: World) -> None:
    result = deploy.deploy(world.store, "triage", 1, "production", reason="first release")
    assert result.changed and result.gate.policy is None
    assert deploy.get_environment(world.store, "triage", "production").version == 1
    moves, events = moves_and_events(world)
    assert [(m.action, m.environment, m.from_version, m.to_version, m.reason, m.forced)
            for m in moves] == [("deploy", "production", None, 1, "first release", False)]
    assert moves[0].user == audit.os_user()
    assert [(e["action"], e["subject"], e["details"]["environment"], e["details"]["to"])
            for e in events] == [("deploy", "triage:1", "production", 1)]
    assert events[0]["details"]["deployment_id"] == moves[0].id
    assert audit.verify(world.store).ok


def test_deploying_what_is_already_there_changes_nothing(world: World) -> None:
    deploy.deploy(world.store, "triage", 1, "staging")
    again = deploy.deploy(world.store, "triage", 1, "staging")
    assert not again.changed
    assert len(deploy.history(world.store, "triage")) == 1


def test_rollback_undoes_moves_one_by_one(world: World) -> None:
    for n in (1, 2, 3):
        deploy.deploy(world.store, "triage", n, "production")
    first = deploy.rollback(world.store, "triage", "production", reason="v3 misroutes billing")
    assert (first.action, first.from_version, first.to_version) == ("rollback", 3, 2)
    second = deploy.rollback(world.store, "triage", "production")
    assert (second.from_version, second.to_version) == (2, 1)
    with pytest.raises(Conflict, match="no earlier version"):
        deploy.rollback(world.store, "triage", "production")
    assert deploy.get_environment(world.store, "triage", "production").version == 1
    moves, events = moves_and_events(world)
    assert [(m.action, m.to_version) for m in moves] == [
        ("deploy", 1), ("deploy", 2), ("deploy", 3), ("rollback", 2), ("rollback", 1)]
    assert [(e["action"], e["subject"]) for e in events] == [
        ("deploy", "triage:1"), ("deploy", "triage:2"), ("deploy", "triage:3"),
        ("rollback", "triage:2"), ("rollback", "triage:1")]
    assert moves[3].reason == "v3 misroutes billing"


def test_rollback_after_a_redeploy_follows_the_stack() -> None:
    def move(action: str, to: int) -> deploy.Move:
        return deploy.Move(0, "", "", "m", "production", action, None, to, "", None, False, {})

    assert deploy.rollback_target([move("deploy", 1)]) is None
    assert deploy.rollback_target([move("deploy", 1), move("deploy", 2)]) == 1
    history = [move("deploy", 1), move("deploy", 2), move("rollback", 1), move("deploy", 3)]
    assert deploy.rollback_target(history) == 1


def test_environments_are_independent(world: World) -> None:
    deploy.deploy(world.store, "triage", 2, "staging")
    deploy.deploy(world.store, "triage", 1, "production")
    with pytest.raises(Conflict):
        deploy.rollback(world.store, "triage", "staging")
    assert [m.environment for m in deploy.history(world.store, "triage", "staging")] == [
        "staging"]


def test_unknown_names_and_archived_versions(world: World) -> None:
    with pytest.raises(NotFound):
        deploy.deploy(world.store, "triage", 9, "production")
    with pytest.raises(NotFound):
        deploy.deploy(world.store, "triage", 1, "nowhere")
    registry.set_version_meta(world.store, "triage", 3, archived=True)
    with pytest.raises(Conflict, match="archived"):
        deploy.deploy(world.store, "triage", 3, "production")


def test_history_is_append_only(world: World) -> None:
    deploy.deploy(world.store, "triage", 1, "production")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        world.store.db.execute("UPDATE deployments SET reason = 'edited'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        world.store.db.execute("DELETE FROM deployments")


def test_a_concurrent_move_is_detected(world: World) -> None:
    env = deploy.get_environment(world.store, "triage", "production")
    deploy.deploy(world.store, "triage", 1, "production")  # moves it behind the stale view
    with pytest.raises(Conflict, match="changed by someone else"):
        deploy._move(world.store, world.version(2), env, None, "deploy", "", None, False, {})
    assert len(deploy.history(world.store, "triage")) == 1


def test_one_function_answers_which_version_an_environment_serves(world: World) -> None:
    registry.create_model(world.store, "other", labels=["a"])
    deploy.deploy(world.store, "triage", 1, "production")
    deploy.deploy(world.store, "triage", 2, "production")
    deploy.deploy(world.store, "triage", 3, "staging")
    assert deploy.served_version(world.store, "triage", "production") == 2
    assert deploy.served_version(world.store, "other", "production") is None  # nothing there
    with pytest.raises(NotFound):
        deploy.served_version(world.store, "triage", "canary")
    everything = [(s.model, s.environment, s.version) for s in deploy.served(world.store)]
    assert everything == [("triage", "staging", 3), ("triage", "production", 2)]
    assert deploy.served(world.store, environment="production") == [
        deploy.Served("triage", "production", 2)]
    assert deploy.served(world.store, model="other") == []
    deploy.rollback(world.store, "triage", "production")  # the answer follows every move
    assert deploy.served_version(world.store, "triage", "production") == 1
