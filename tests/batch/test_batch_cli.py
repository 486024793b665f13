"""mlops-desk run --batch / --no-wait / run resume / run cancel / --export-batch /
run import-results, including a SIGKILL while waiting."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_desk.core import batch
from tests.batch.offline import answer_file
from tests.runner.helpers import build_workspace, cycle_rows, wait_until
from tests.support.fixtures import fake_openai_fixture  # noqa: F401

REPO = Path(__file__).resolve().parents[2]


def remote_ids(db_path: Path) -> list[str]:
    conn = sqlite3.connect(db_path, timeout=10)
    try:
        return [r[0] for r in conn.execute("SELECT remote_id FROM run_batches WHERE "
                                           "remote_id IS NOT NULL ORDER BY id")]
    finally:
        conn.close()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigkill_while_waiting_then_resume_picks_up_the_same_batches(
        store, db_path, tmp_path, cli, fake_openai):
    build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(30))
    api = fake_openai.batch_api
    api.hold = True  # the batches stay in_progress until released
    command = [sys.executable, "-m", "mlops_desk", "--db", str(db_path), "run", "triage:1",
               "--dataset", "tickets", "--batch", "--batch-size", "20", "--poll-interval",
               "0.05"]
    with (tmp_path / "err.txt").open("w") as err:
        process = subprocess.Popen(command, cwd=REPO, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_until(lambda: len(remote_ids(db_path)) == 2 or process.poll() is not None,
                   timeout=60, what="two batches submitted")
        wait_until(lambda: all(b.obj["status"] == "in_progress" for b in api.batches.values())
                   or process.poll() is not None, timeout=30, what="batches polled")
        assert process.poll() is None, (tmp_path / "err.txt").read_text()
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    ids_before = remote_ids(db_path)
    listed = json.loads(cli.ok("runs", "list", "--json").out)
    assert [(r["id"], r["status"]) for r in listed] == [(1, "submitted")]

    api.hold = False
    out = json.loads(cli.ok("run", "resume", "1", "--poll-interval", "0.01", "--json").out)
    assert out["status"] == "completed" and out["metrics"]["n_rows"] == 30
    assert out["metrics"]["accuracy"] == 1.0
    assert remote_ids(db_path) == ids_before  # the same remote batches, none created anew
    assert len(api.batches) == 2
    assert sorted(api.submitted) == sorted(f"row-{i}" for i in range(30))  # never re-sent


def test_no_wait_returns_submitted_then_resume_and_cancel(store, tmp_path, cli, fake_openai):
    build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(8))
    out = json.loads(cli.ok("run", "triage:1", "--dataset", "tickets", "--batch", "--no-wait",
                            "--json").out)
    assert out == {"run_id": 1, "status": "submitted"}
    result = cli("run", "cancel", "1")
    assert result.code == 0, result.err
    assert result.out.startswith("run 1 cancelled: 0/8 rows kept")
    assert fake_openai.batch_api.cancel_requests == 1
    again = cli("run", "cancel", "1")
    assert again.code == 2
    assert again.err_lines == ["mlops-desk: error: run 1 is cancelled; only a submitted run "
                               "can be cancelled"]


def test_the_cli_prints_the_batch_rate(store, tmp_path, cli, fake_openai):
    build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(6))
    result = cli("run", "triage:1", "--dataset", "tickets", "--batch", "--poll-interval", "0.01")
    assert result.code == 0, result.err
    assert result.out.startswith("run 1 completed: triage:1 on tickets, 6/6 rows")
    assert "batch rate: 50% off the online price" in result.err
    shown = cli.ok("run", "show", "1").out
    assert "batch_discount=0.5" in shown and "mode=batch" in shown
    assert "batch batch_fake2: completed, 6 rows, 6 completed, 0 failed" in shown
    batches = json.loads(cli.ok("run", "show", "1", "--json").out)["batches"]
    assert [(b["remote_id"], b["status"]) for b in batches] == [("batch_fake2", "completed")]


def test_export_then_import_through_the_cli(store, tmp_path, cli, fake_openai):
    build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(6))
    requests = tmp_path / "requests.jsonl"
    out = cli.ok("run", "triage:1", "--dataset", "tickets", "--export-batch", str(requests)).out
    assert out.startswith(f"run 1 awaiting-results: 6 request(s) written to {requests}")
    files = answer_file(fake_openai, requests, tmp_path, skip={"row-5"})
    out = cli.ok("run", "import-results", "1", *map(str, files)).out
    assert out.splitlines() == [
        "run 1 awaiting-results: 5 new row(s) imported, 0 already stored, 5/6 rows",
        "missing: 1 row(s) (5); write them again with 'mlops-desk run resume 1 "
        "--export-batch FILE.jsonl'"]
    refused = cli("run", "resume", "1")
    assert refused.code == 2 and len(refused.err_lines) == 1
    assert "awaits results from an offline engine" in refused.err
    rest = tmp_path / "rest.jsonl"
    cli.ok("run", "resume", "1", "--export-batch", str(rest))
    (tmp_path / "more").mkdir()
    files = answer_file(fake_openai, rest, tmp_path / "more")
    out = json.loads(cli.ok("run", "import-results", "1", *map(str, files), "--json").out)
    assert out["status"] == "completed" and out["new_rows"] == 1 and out["missing"] == []


@pytest.mark.parametrize("args, message", [
    (["run", "triage:1", "--dataset", "tickets", "--batch", "--batch-size", "0"],
     "bad batch size 0: expected 1..50,000 requests per batch"),
    (["run", "triage:1", "--dataset", "tickets", "--batch", "--export-batch", "x.jsonl"],
     "choose --batch (a Batch API) or --export-batch FILE (an offline engine), not both"),
    (["run", "import-results", "1"],
     "'run import-results' takes a run id and output file(s), e.g. 'run import-results 12 "
     "results.jsonl'"),
    (["run", "import-results", "9", "out.jsonl"], "no run with id 9 (see 'runs list')"),
])
def test_bad_batch_input_is_one_line(store, tmp_path, cli, fake_openai, args, message):
    build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(3))
    result = cli(*args)
    assert result.code == 2
    assert result.err_lines == [f"mlops-desk: error: {message}"]


def test_a_batch_uploaded_but_not_recorded_is_found_again_not_created_twice(
        store, tmp_path, fake_openai):
    from mlops_desk.core.runner import RunOptions

    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(5))
    run_id = batch.create_batch_run(store, ws.version, ws.dataset, RunOptions())
    batch.submit(store, run_id)
    # As if the process died after batches.create answered but before its id was stored.
    with store.transaction() as db:
        db.execute("UPDATE run_batches SET remote_id = NULL")
    run = batch.wait(store, run_id, poll_interval=0.01)
    assert run.status == "completed"
    assert len(fake_openai.batch_api.batches) == 1
    assert fake_openai.batch_api.submitted == [f"row-{i}" for i in range(5)]
