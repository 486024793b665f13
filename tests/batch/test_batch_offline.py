"""Offline engines: --export-batch writes the requests, run import-results scores the answers."""

from __future__ import annotations

import json

import pytest

from mlops_desk.core import batch, batch_offline, runs
from mlops_desk.core.errors import BadInput
from mlops_desk.core.runner import RunOptions, execute
from tests.batch.offline import answer_file
from tests.runner.helpers import build_workspace, classification_rows
from tests.support.fixtures import fake_openai_fixture  # noqa: F401

ROWS = classification_rows(["bug", "billing", "other"] * 10, wrong={4: "other"})


def export_run(ws) -> int:
    return batch.create_batch_run(ws.store, ws.version, ws.dataset, RunOptions(),
                                  mode="export")


@pytest.mark.parametrize("fmt", ["vllm", "openai"])
def test_an_exported_file_answered_elsewhere_imports_into_a_completed_run(
        store, tmp_path, fake_openai, fmt):
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=ROWS)
    online = execute(store, ws.create(use_cache=False))
    run_id = export_run(ws)
    path = tmp_path / "requests.jsonl"
    assert batch_offline.export_requests(store, run_id, path) == 30
    assert runs.get_run(store, run_id).status == "awaiting-results"
    assert [json.loads(x)["body"] for x in path.read_bytes().splitlines()] == \
        fake_openai.requests

    files = answer_file(fake_openai, path, tmp_path, fmt=fmt, fail={"row-7"})
    report = batch_offline.import_results(store, run_id, files)
    assert report.new_rows == 30 and report.missing == []
    run = report.run
    assert run.status == "completed"
    results = {r["row_idx"]: r for r in ws.results(run_id)}
    assert results[7]["error_class"] == "http_400" and "prompt too long" in \
        results[7]["error_message"]
    assert run.metrics["accuracy"] == pytest.approx(online.metrics["accuracy"] - 1 / 30)
    online_cost_7 = ws.results(online.id)[7]["cost"]
    assert run.metrics["total_cost"] == pytest.approx(
        (online.metrics["total_cost"] - online_cost_7) / 2)


def test_importing_the_same_file_twice_changes_nothing_and_missing_rows_are_listed(
        store, tmp_path, fake_openai):
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=ROWS)
    run_id = export_run(ws)
    path = tmp_path / "requests.jsonl"
    batch_offline.export_requests(store, run_id, path)
    files = answer_file(fake_openai, path, tmp_path, skip={"row-3", "row-20"})

    first = batch_offline.import_results(store, run_id, files)
    assert first.new_rows == 28 and first.missing == [3, 20]
    assert first.run.status == "awaiting-results"
    snapshot = ws.results(run_id)
    audit_count = store.db.execute("SELECT count(*) FROM audit").fetchone()[0]

    again = batch_offline.import_results(store, run_id, files)
    assert again.new_rows == 0 and again.already_stored == 28 and again.missing == [3, 20]
    assert ws.results(run_id) == snapshot
    assert store.db.execute("SELECT count(*) FROM audit").fetchone()[0] == audit_count

    # The missing rows go out again, alone.
    rest = tmp_path / "rest.jsonl"
    assert batch_offline.export_requests(store, run_id, rest) == 2
    assert [json.loads(x)["custom_id"] for x in rest.read_bytes().splitlines()] == \
        ["row-3", "row-20"]
    (out_dir := tmp_path / "rest").mkdir()
    done = batch_offline.import_results(store, run_id, answer_file(fake_openai, rest, out_dir))
    assert done.run.status == "completed" and done.run.metrics["accuracy"] == \
        pytest.approx(29 / 30)


def test_a_file_of_another_run_or_not_jsonl_is_refused_with_one_line(store, tmp_path,
                                                                      fake_openai):
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=ROWS)
    run_id = export_run(ws)
    batch_offline.export_requests(store, run_id, tmp_path / "requests.jsonl")
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"custom_id": "request-1", "response": None,
                                 "error": None}) + "\n")
    with pytest.raises(BadInput, match="answer none of run 1's rows"):
        batch_offline.import_results(store, run_id, [other])
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"custom_id": "row-1"}\nnot json\n')
    with pytest.raises(BadInput, match=r"broken.jsonl line 2 is not JSON"):
        batch_offline.import_results(store, run_id, [broken])
    assert ws.results(run_id) == []  # nothing from the broken file was stored
