"""Slow and vanishing clients, on real sockets: time-outs, the connection caps, the token
checked before the body, disconnects logged as one line. Limits are small for speed."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import openai
import pytest

from mlops_desk.core import deploy
from mlops_desk.core.store import Store
from mlops_desk.gateway.limits import Limits
from tests.deploy.world import build_world
from tests.gateway.conftest import Served
from tests.gateway.raw_http import closed_by_server, connect, read_reply, request
from tests.support.fake_openai import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]
MESSAGES = [{"role": "user", "content": "ANSWER: bug"}]
WHOLE = {"model": "triage", "messages": MESSAGES}
HALF_HEADERS = b"POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\n"


def half_body(**headers: str) -> bytes:
    """Headers announcing a 1,000-byte body, then only its first bytes."""
    return request(b'{"model": "tri', length=1000, headers=headers)


def ask(served: Served, base_url: str | None = None) -> str:
    with served.client(base_url=base_url or served.gateway.base_url, timeout=5) as client:
        return client.chat.completions.create(model="triage",
                                              messages=MESSAGES).choices[0].message.content


def test_headers_that_never_end_get_408_and_the_connection_closes(served: Served,
                                                                  start_gateway) -> None:
    gateway = start_gateway(limits=Limits(header_timeout_s=0.3))
    with connect(gateway.base_url) as sock:
        started = time.monotonic()
        sock.sendall(HALF_HEADERS)
        reply = read_reply(sock)
        waited = time.monotonic() - started
        assert closed_by_server(sock)
    assert reply.status == 408 and reply.error["code"] == "request_timeout"
    assert "did not arrive within 0.3 s" in reply.error["message"]
    assert 0.25 < waited < 2.0
    with connect(gateway.base_url) as sock:  # a client that connects and says nothing
        assert read_reply(sock).status == 408


def test_a_body_that_never_ends_gets_408(served: Served, start_gateway) -> None:
    gateway = start_gateway(limits=Limits(body_timeout_s=0.3))
    with connect(gateway.base_url) as sock:
        sock.sendall(half_body())
        reply = read_reply(sock)
        assert closed_by_server(sock)
    assert reply.status == 408 and reply.error["code"] == "request_timeout"
    assert reply.error["message"] == "The request body did not arrive within 0.3 s."
    assert ask(served, gateway.base_url) == "bug"


def test_headers_beyond_the_size_limit_get_431(served: Served, start_gateway) -> None:
    gateway = start_gateway(limits=Limits(max_header_bytes=4096))
    with connect(gateway.base_url) as sock:
        sock.sendall(HALF_HEADERS + b"x-padding: " + b"a" * 8000 + b"\r\n")
        reply = read_reply(sock)
        assert closed_by_server(sock)
    assert reply.status == 431 and reply.error["code"] == "headers_too_large"
    with connect(gateway.base_url) as sock:  # ordinary headers are far below it
        sock.sendall(request(WHOLE))
        assert read_reply(sock).status == 200


def test_the_token_is_checked_before_the_body_arrives(served: Served, start_gateway) -> None:
    gateway = start_gateway(token="s3cret-token", limits=Limits(body_timeout_s=30))
    with connect(gateway.base_url) as sock:
        started = time.monotonic()
        sock.sendall(half_body(authorization="Bearer wrong"))
        reply = read_reply(sock)
        assert time.monotonic() - started < 1.0  # not the 30 s body time-out
        assert reply.status == 401 and reply.error["code"] == "invalid_api_key"
        assert reply.headers["connection"] == "close"
        assert closed_by_server(sock)  # the rest of the body is not waited for
    # A client still sending a large body reads its 401 (no reset from an early close).
    big = {"model": "triage", "messages": [{"role": "user", "content": "x" * 4_000_000}]}
    with httpx2.Client(trust_env=False, timeout=10) as http:
        response = http.post(f"{gateway.base_url}/chat/completions", json=big,
                             headers={"authorization": "Bearer wrong"})
    assert response.status_code == 401
    with connect(gateway.base_url) as sock:  # the right token still waits for the body
        sock.sendall(half_body(authorization="Bearer s3cret-token"))
        assert not closed_by_server(sock, within_s=0.5)


def test_slow_clients_past_the_cap_drop_the_oldest_and_real_clients_are_served(
        served: Served, start_gateway) -> None:
    gateway = start_gateway(limits=Limits(max_connections=50, max_incomplete=3))
    slow = [connect(gateway.base_url) for _ in range(3)]
    try:
        for sock in slow:
            sock.sendall(HALF_HEADERS)
        assert not closed_by_server(slow[0], within_s=0.3)  # at the cap, all are held
        newcomer = connect(gateway.base_url)
        slow.append(newcomer)
        newcomer.sendall(HALF_HEADERS)
        reply = read_reply(slow[0])  # the oldest makes room
        assert reply.status == 408 and "too many clients" in reply.error["message"]
        assert closed_by_server(slow[0])
        # A real client while the cap of slow clients is held: served at once.
        started = time.monotonic()
        assert ask(served, gateway.base_url) == "bug"
        assert time.monotonic() - started < 2.0
        assert not closed_by_server(slow[-1], within_s=0.2)  # the newest are still there
    finally:
        for sock in slow:
            sock.close()


def test_past_the_connection_cap_idle_connections_make_room_then_503(
        served: Served, start_gateway) -> None:
    gateway = start_gateway(limits=Limits(max_connections=3, max_incomplete=3))
    idle = [connect(gateway.base_url) for _ in range(3)]
    try:
        for sock in idle:  # one request each, then kept alive
            sock.sendall(request(WHOLE))
            assert read_reply(sock).status == 200
        assert ask(served, gateway.base_url) == "bug"
        assert closed_by_server(idle[0])  # the longest idle one was closed for it
        # Three requests in flight fill the cap: a fourth connection is turned away.
        served.fake.faults.add("slow", count=3, delay_s=1.0)
        busy = [*idle[1:], connect(gateway.base_url)]
        idle.append(busy[-1])
        for sock in busy:
            sock.sendall(request(WHOLE))
        time.sleep(0.2)
        with connect(gateway.base_url) as sock:
            reply = read_reply(sock)
        assert reply.status == 503 and reply.error["code"] == "overloaded"
        assert [read_reply(sock).status for sock in busy] == [200, 200, 200]
    finally:
        for sock in idle:
            sock.close()


def test_a_client_leaving_mid_body_is_one_log_line(served: Served,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with connect(served.gateway.base_url) as sock:
        sock.sendall(half_body())
    # ... and one that leaves while its (slow) upstream answer is on the way.
    served.fake.faults.add("slow", delay_s=0.3)
    with connect(served.gateway.base_url) as sock:
        sock.sendall(request(WHOLE))
        time.sleep(0.1)
    time.sleep(0.6)
    assert ask(served) == "bug"  # the gateway serves on
    left = [r for r in caplog.records if "went away" in r.getMessage()]
    assert len(left) == 1 and "\n" not in left[0].getMessage()
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


@pytest.mark.slow
def test_half_sent_requests_at_the_file_limit_do_not_starve_real_clients(
        store: Store, db_path: Path, tmp_path: Path, fake_openai: FakeOpenAIServer) -> None:
    """The attack at small scale: `mlops-desk serve` with 128 file descriptors and 200
    half-sent requests. Without the caps it runs out of descriptors and cannot accept a
    real client; with them it drops the slowest and serves the real one."""
    build_world(store, tmp_path, fake_openai.base_url)
    deploy.deploy(store, "triage", 1, "production")
    env = {**os.environ, "MLOPS_DESK_LOG_DIR": str(tmp_path / "logs")}
    env.pop("MLOPS_DESK_GATEWAY_TOKEN", None)

    def small_fd_limit() -> None:
        import resource  # POSIX only

        resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))

    with subprocess.Popen(
        [sys.executable, "-m", "mlops_desk", "serve", "--db", str(db_path), "--port", "0"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=small_fd_limit,
    ) as process:
        slow: list[socket.socket] = []
        try:
            line = process.stdout.readline()
            assert line.startswith("serving http://127.0.0.1:"), process.stderr.read()
            base_url = line.split()[1]
            for _ in range(200):
                slow.append(connect(base_url))
                slow[-1].sendall(HALF_HEADERS)
            with openai.OpenAI(base_url=base_url, api_key="x", max_retries=0,
                               timeout=5) as client:
                reply = client.chat.completions.create(model="triage", messages=MESSAGES)
            assert reply.choices[0].message.content == "bug"
        finally:
            for sock in slow:
                sock.close()
            process.terminate()
            _, err = process.communicate(timeout=15)
    assert "Traceback" not in err
