"""Archiving endpoints, models and datasets: hidden, audited, never deleted, and refused
while something it would hide is deployed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mlops_desk.core import archive, audit, datasets, deploy, gates, registry
from mlops_desk.core.errors import Conflict, NotFound
from mlops_desk.core.schema import MIGRATIONS
from mlops_desk.core.store import Store
from tests.deploy.world import World


def names(items) -> list[str]:
    return [item.name for item in items]


def test_archive_hides_restores_and_audits_each_kind(world: World) -> None:
    store = world.store
    registry.add_endpoint(store, "spare", base_url="http://127.0.0.1:9/v1")
    registry.create_model(store, "spare-model")
    for kind, name, lister in (("endpoint", "spare", registry.list_endpoints),
                               ("model", "spare-model", registry.list_models),
                               ("dataset", "gate-set", datasets.list_datasets)):
        assert archive.set_archived(store, kind, name) is True
        assert name not in names(lister(store, include_archived=False))
        listed = {item.name: item.archived for item in lister(store)}
        assert listed[name] is True  # still there, flagged
        event = audit.list_events(store)[-1]
        assert (event["action"], event["subject"]) == (f"{kind}.archive", f"{kind}:{name}")
        # Archiving twice changes nothing and records nothing.
        count = len(audit.list_events(store))
        assert archive.set_archived(store, kind, name) is False
        assert len(audit.list_events(store)) == count
        assert archive.set_archived(store, kind, name, False) is True
        assert name in names(lister(store, include_archived=False))
        assert audit.list_events(store)[-1]["action"] == f"{kind}.restore"
    assert audit.verify(store).ok


def test_archived_things_still_resolve_for_what_refers_to_them(world: World) -> None:
    store = world.store
    run_id = world.run(1)
    gates.set_policy(store, "triage", "production", "gate-set", ["accuracy>=0.5"])
    archive.set_archived(store, "dataset", "gate-set")
    archive.set_archived(store, "model", "triage")
    archive.set_archived(store, "endpoint", "fake")
    # Versions, runs and gates read them as before; the dataset's rows are all there.
    assert registry.get_version(store, "triage", 1).config["endpoint"] == "fake"
    assert registry.get_endpoint(store, "fake").archived
    assert datasets.get_dataset(store, "gate-set").archived
    assert len(list(datasets.iter_rows(store, world.dataset.id))) == world.dataset.n_rows
    report = gates.evaluate(store, world.version(1), "production", None)
    assert report.passed and report.run_id == run_id


def test_deployed_model_or_endpoint_refuses_archiving_naming_the_deployment(
        world: World) -> None:
    store = world.store
    deploy.deploy(store, "triage", 2, "staging")
    with pytest.raises(Conflict, match=r"model triage cannot be archived while it is deployed "
                                       r"\(triage:2 serves staging\)"):
        archive.set_archived(store, "model", "triage")
    with pytest.raises(Conflict, match=r"endpoint fake .*triage:2 serves staging"):
        archive.set_archived(store, "endpoint", "fake")
    assert not registry.get_model(store, "triage").archived
    assert audit.list_events(store)[-1]["action"] == "deploy"  # nothing recorded


def test_an_archived_model_or_endpoint_is_not_deployed(world: World) -> None:
    store = world.store
    archive.set_archived(store, "endpoint", "fake")
    with pytest.raises(Conflict, match="endpoint fake is archived; restore it"):
        deploy.deploy(store, "triage", 1, "staging")
    archive.set_archived(store, "endpoint", "fake", False)
    archive.set_archived(store, "model", "triage")
    with pytest.raises(Conflict, match="model triage is archived; restore it"):
        deploy.deploy(store, "triage", 1, "staging")
    assert deploy.get_environment(store, "triage", "staging").version is None
    archive.set_archived(store, "model", "triage", False)
    assert deploy.deploy(store, "triage", 1, "staging").changed


def test_unknown_names_and_kinds(world: World) -> None:
    with pytest.raises(NotFound, match="no model named 'nope'"):
        archive.set_archived(world.store, "model", "nope")
    with pytest.raises(NotFound, match="no dataset named 'nope'"):
        archive.set_archived(world.store, "dataset", "nope")
    with pytest.raises(Exception, match="unknown kind"):
        archive.set_archived(world.store, "version", "triage")


def test_a_dataset_snapshot_stays_immutable_but_for_its_flag(world: World) -> None:
    conn = world.store.conn
    with pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
        conn.execute("UPDATE datasets SET name = 'other' WHERE id = ?", [world.dataset.id])
    with pytest.raises(sqlite3.IntegrityError, match="cannot be deleted"):
        conn.execute("DELETE FROM datasets WHERE id = ?", [world.dataset.id])
    conn.rollback()


def test_migration_adds_the_flags_to_an_older_registry(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:4]:
        migration(conn)
    conn.execute("PRAGMA user_version = 4")
    conn.execute("INSERT INTO datasets (name, sha256, n_rows, columns, input_cols, validation, "
                 "source_name, created_at, created_by) "
                 "VALUES ('old', 'abc', 0, '[]', '[]', '{}', 'old.csv', 'x', 'me')")
    conn.commit()
    conn.close()
    store = Store(path)
    try:
        assert store.schema_version() == len(MIGRATIONS)
        assert not datasets.get_dataset(store, "old").archived
        with pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
            store.conn.execute("UPDATE datasets SET sha256 = 'def' WHERE name = 'old'")
        assert archive.set_archived(store, "dataset", "old")
        assert datasets.get_dataset(store, "old").archived
    finally:
        store.close()
