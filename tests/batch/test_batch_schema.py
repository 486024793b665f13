"""Schema 8: runs keep every row, result and deployment link while gaining two statuses."""

from __future__ import annotations

import sqlite3

import pytest

from mlops_desk.core import registry, runs
from mlops_desk.core import store as store_module
from mlops_desk.core.store import Store
from tests.support.run_factory import make_test_dataset, make_test_run


def test_upgrading_to_schema_8_keeps_runs_and_accepts_the_batch_statuses(db_path, tmp_path,
                                                                         monkeypatch):
    with monkeypatch.context() as mp:  # a registry written before schema 8
        mp.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:7])
        mp.setattr(store_module, "SCHEMA_VERSION", 7)
        old = Store(db_path)
        with old.transaction() as db:  # as schema 7 stored it: no batch_discount column
            db.execute("INSERT INTO endpoints (name, kind, base_url, created_at, updated_at) "
                       "VALUES ('fake', 'openai', 'http://127.0.0.1:9/v1', 'now', 'now')")
        registry.create_model(old, "triage", labels=["a", "b"])
        version, _ = registry.register_version(old, "triage", registry.make_config(
            endpoint="fake", model_id="m", template="{text}", parser="label"))
        dataset = make_test_dataset(old, tmp_path, "d", [{"text": f"t{i}", "expected": "a"}
                                                         for i in range(3)])
        run_id = make_test_run(old, version, dataset, [{"prediction": "a", "expected": "a"}] * 3)
        before = runs.get_run(old, run_id)
        with pytest.raises(sqlite3.IntegrityError):
            old.db.execute("UPDATE runs SET status = 'submitted' WHERE id = ?", [run_id])
        old.close()

    store = Store(db_path)
    try:
        assert store.schema_version() == 8
        assert runs.get_run(store, run_id) == before
        assert len(runs.fetch_results(store, run_id)) == 3
        for status in ("submitted", "awaiting-results"):
            with store.transaction() as db:
                db.execute("UPDATE runs SET status = ? WHERE id = ?", [status, run_id])
        with pytest.raises(sqlite3.IntegrityError), store.transaction() as db:
            db.execute("UPDATE runs SET status = 'sleeping' WHERE id = ?", [run_id])
        assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
        indexes = {r[0] for r in store.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runs'")}
        assert {"runs_by_model", "runs_by_version"} <= indexes
        assert registry.get_endpoint(store, "fake").batch_discount == 0.5
        with pytest.raises(sqlite3.IntegrityError), store.transaction() as db:
            db.execute("DELETE FROM runs WHERE id = ?", [run_id])  # results still refer to it
    finally:
        store.close()
    assert (tmp_path / "registry.db.bak-schema7").exists()


def test_endpoint_batch_discount_from_the_cli(cli):
    cli.ok("endpoint", "add", "up", "--base-url", "http://127.0.0.1:9/v1")
    assert '"batch_discount": 0.5' in cli.ok("endpoint", "list", "--json").out
    cli.ok("endpoint", "edit", "up", "--batch-discount", "40%")
    assert '"batch_discount": 0.4' in cli.ok("endpoint", "list", "--json").out
    bad = cli("endpoint", "edit", "up", "--batch-discount", "1")
    assert bad.code == 2 and bad.err_lines == [
        "mlops-desk: error: bad batch discount 1: expected a fraction of the online price "
        "from 0 (none) to below 1, e.g. 0.5 for half price"]
