"""`mlops-desk serve` as a real process: announces its address, serves, stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from mlops_desk.core import deploy
from mlops_desk.core.store import Store
from tests.deploy.world import build_world
from tests.support.fake_openai import FakeOpenAIServer
from tests.support.fixtures import fake_openai_fixture  # noqa: F401

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_announces_serves_and_stops(store: Store, db_path: Path, tmp_path: Path,
                                          fake_openai: FakeOpenAIServer,
                                          stop_signal: signal.Signals) -> None:
    build_world(store, tmp_path, fake_openai.base_url)
    deploy.deploy(store, "triage", 2, "production")
    env = {**os.environ, "MLOPS_DESK_LOG_DIR": str(tmp_path / "logs")}
    env.pop("MLOPS_DESK_GATEWAY_TOKEN", None)
    with subprocess.Popen(
        [sys.executable, "-m", "mlops_desk", "serve", "--db", str(db_path), "--port", "0"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as process:
        try:
            line = process.stdout.readline()
            assert line.startswith("serving http://127.0.0.1:"), process.stderr.read()
            with openai.OpenAI(base_url=line.split()[1], api_key="x", max_retries=0,
                               timeout=10) as client:
                reply = client.chat.completions.create(
                    model="triage", messages=[{"role": "user", "content": "ANSWER: other"}])
            assert reply.choices[0].message.content == "other"
            assert fake_openai.requests[-1]["messages"][0]["content"] == "You are version 2."
        finally:
            process.send_signal(stop_signal)
            code = process.wait(timeout=15)
    assert code == 0
    # The request was logged before the process ended (the writer flushes on shutdown).
    assert store.db.execute("SELECT count(*) FROM gateway_requests").fetchone()[0] == 1
