"""A CLI run killed with SIGKILL (or stopped with Ctrl+C) loses nothing that was committed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runner.helpers import build_workspace, cycle_rows, stored_count, wait_until
from tests.support.fixtures import fake_openai_fixture  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
N_ROWS = 40

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def start_cli_run(db_path: Path, tmp_path: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "mlops_desk", "run", "triage:1", "--dataset", "tickets",
               "--db", str(db_path), "--concurrency", "2"]
    # The child gets its own copies of the file descriptors; ours can close at once.
    with (tmp_path / "out.txt").open("w") as out, (tmp_path / "err.txt").open("w") as err:
        return subprocess.Popen(command, cwd=REPO, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err)


def test_sigkill_then_resume_stores_every_row_exactly_once(store, db_path, tmp_path, cli,
                                                           fake_openai):
    fake_openai.latency_s = 0.1  # 40 rows at concurrency 2: a 2 s run
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(N_ROWS))
    process = start_cli_run(db_path, tmp_path)
    try:
        wait_until(lambda: stored_count(db_path, 1) >= 8 or process.poll() is not None,
                   timeout=30, what="8 committed rows")
        assert process.poll() is None, (tmp_path / "err.txt").read_text()
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=10)  # reaped, so its pid is really gone
    assert process.returncode == -signal.SIGKILL

    # Any next command notices the dead run.
    listed = json.loads(cli.ok("runs", "list", "--json").out)
    assert [(r["id"], r["status"]) for r in listed] == [(1, "interrupted")]
    kept = {r["row_idx"] for r in ws.results(1)}
    assert 8 <= len(kept) < N_ROWS

    fake_openai.latency_s = 0.01
    before = fake_openai.request_count
    result = cli("run", "resume", "1", "--json")
    assert result.code == 0, result.err
    out = json.loads(result.out)
    assert out["run_id"] == 1 and out["status"] == "completed"
    assert out["metrics"]["n_rows"] == N_ROWS and out["metrics"]["accuracy"] == 1.0

    resent = [ws.row_of(r) for r in fake_openai.requests[before:]]
    assert not set(resent) & kept  # no request for a row that already had a result
    assert sorted(resent) == sorted(set(range(N_ROWS)) - kept)
    rows = store.db.execute("SELECT row_idx, count(*) FROM run_results WHERE run_id = 1 "
                            "GROUP BY row_idx ORDER BY row_idx").fetchall()
    assert rows == [(i, 1) for i in range(N_ROWS)]


def test_ctrl_c_cancels_cleanly_and_keeps_the_rows(store, db_path, tmp_path, cli, fake_openai):
    fake_openai.latency_s = 0.1
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(N_ROWS))
    process = start_cli_run(db_path, tmp_path)
    try:
        wait_until(lambda: stored_count(db_path, 1) >= 4 or process.poll() is not None,
                   timeout=30, what="4 committed rows")
        process.send_signal(signal.SIGINT)
        process.wait(timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    err = (tmp_path / "err.txt").read_text()
    assert process.returncode == 130, err
    assert "resume it with 'mlops-desk run resume 1'" in err and "Traceback" not in err
    shown = json.loads(cli.ok("run", "show", "1", "--json").out)
    assert shown["status"] == "cancelled" and shown["n_done"] == len(ws.results(1)) >= 4
