"""Upgrading a registry reclassifies the runs the old engine wrongly called 'completed'."""

from __future__ import annotations

from mlops_desk.core import registry, runs
from mlops_desk.core import store as store_module
from mlops_desk.core.runner import execute
from mlops_desk.core.store import Store
from tests.support.fixtures import fake_openai_fixture  # noqa: F401
from tests.support.run_factory import make_test_dataset, make_test_run


def test_old_completed_runs_with_missing_rows_or_no_answers_are_reclassified(
        db_path, tmp_path, monkeypatch, fake_openai):
    with monkeypatch.context() as mp:  # a registry written before schema 4
        mp.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:3])
        mp.setattr(store_module, "SCHEMA_VERSION", 3)
        old = Store(db_path)
        registry.add_endpoint(old, "fake", base_url=fake_openai.base_url)
        registry.create_model(old, "triage", labels=["a", "b"])
        version, _ = registry.register_version(old, "triage", registry.make_config(
            endpoint="fake", model_id="fake-model", template="{text}\nANSWER: {expected}",
            parser="label"))
        dataset = make_test_dataset(old, tmp_path, "d", [{"text": f"t{i}", "expected": "a"}
                                                         for i in range(4)])
        right = [{"prediction": "a", "expected": "a"}] * 4
        good = make_test_run(old, version, dataset, right)
        short = make_test_run(old, version, dataset, right)
        old.db.execute("DELETE FROM run_results WHERE run_id = ? AND row_idx = 2", [short])
        old.db.execute("UPDATE runs SET settings = ? WHERE id = ?",  # what the engine reads
                       ['{"scorer": "label", "concurrency": 2}', short])
        dead = make_test_run(old, version, dataset,
                             [{"prediction": None, "expected": "a", "error_class": "connection"}]
                             * 4)
        garbled = make_test_run(old, version, dataset, [  # answers that did not parse
            {"prediction": "zzz", "expected": "a", "error_class": "parse_error"}] * 4)
        old.close()

    store = Store(db_path)
    try:
        status = {r.id: (r.status, r.reason) for r in runs.list_runs(store)}
        assert status[good] == ("completed", None)
        assert status[garbled][0] == "completed"  # a real (bad) result stays one
        assert status[short][0] == "interrupted" and "never stored" in status[short][1]
        assert status[dead][0] == "failed" and "no row got an answer" in status[dead][1]
        # The short run can now be resumed, and only its missing row is sent.
        run = execute(store, short)
        assert run.status == "completed" and run.n_done == 4
        assert fake_openai.request_count == 1
    finally:
        store.close()
