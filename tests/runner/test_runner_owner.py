"""A run is alive only while the process recorded with it runs: PID *and* start time."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mlops_desk.core import processes, runs
from mlops_desk.core.errors import Conflict
from tests.runner.helpers import build_workspace, cycle_rows

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="process start times come from /proc")


def claimed_by(store, run_id: int, pid: int, started: int | None) -> None:
    """Leave the run as a crashed process would: 'running', owned by (pid, started)."""
    store.db.execute("UPDATE runs SET status = 'running', pid = ?, pid_started = ? "
                     "WHERE id = ?", [pid, started, run_id])


@pytest.fixture
def run_id(store, tmp_path) -> int:
    ws = build_workspace(store, tmp_path, "http://127.0.0.1:9/v1", rows=cycle_rows(3))
    return ws.create()


@linux_only
def test_start_time_is_read_from_proc():
    own = processes.own_start_time()
    assert isinstance(own, int) and own > 0
    assert processes.start_time(os.getpid()) == own
    assert processes.is_self(os.getpid(), own) and processes.is_alive(os.getpid(), own)
    assert processes.start_time(2 ** 22 + 12345) is None  # above Linux's PID limit


def test_mark_started_records_pid_and_start_time(store, run_id):
    runs.mark_started(store, run_id)
    pid, started = store.db.execute("SELECT pid, pid_started FROM runs WHERE id = ?",
                                    [run_id]).fetchone()
    assert (pid, started) == (os.getpid(), processes.own_start_time())


@linux_only
def test_our_own_pid_with_another_start_time_is_a_dead_run(store, run_id):
    # The crashed run's PID was given to this very process: the number matches, the
    # process does not.
    claimed_by(store, run_id, os.getpid(), processes.own_start_time() - 1)
    assert runs.recover_interrupted(store) == [run_id]
    run = runs.get_run(store, run_id)
    assert run.status == "interrupted" and run.reason == "the process running it stopped"


@linux_only
def test_a_live_process_that_reused_the_pid_does_not_keep_the_run_running(store, run_id, cli):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        claimed_by(store, run_id, other.pid, processes.start_time(other.pid) + 5)
        listed = json.loads(cli.ok("runs", "list", "--json").out)  # any command recovers
        assert [(r["id"], r["status"]) for r in listed] == [(run_id, "interrupted")]
    finally:
        other.kill()
        other.wait()


def test_the_process_really_running_it_keeps_it(store, run_id):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        claimed_by(store, run_id, other.pid, processes.start_time(other.pid))
        assert runs.recover_interrupted(store) == []
        with pytest.raises(Conflict, match=f"being run by process {other.pid}"):
            runs.mark_started(store, run_id)
        assert runs.get_run(store, run_id).status == "running"
    finally:
        other.kill()
        other.wait()


def test_a_dead_pid_is_a_dead_run_as_before(store, run_id):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    claimed_by(store, run_id, gone.pid, None)
    assert runs.recover_interrupted(store) == [run_id]
