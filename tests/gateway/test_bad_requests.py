"""Every bad request gets an OpenAI-format 4xx, never a 500 or a traceback, and the
kept-alive connection it came on goes on serving. The listed cases go over a real socket;
hypothesis then fuzzes bodies and model names in-process against the real upstream."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_desk.core import deploy
from mlops_desk.core.store import Store
from mlops_desk.gateway.compose import MAX_JSON_DEPTH
from mlops_desk.gateway.routing import MAX_VERSION
from tests.deploy.world import build_world
from tests.gateway.asgi import InProcessGateway
from tests.gateway.conftest import Served
from tests.gateway.raw_http import closed_by_server, connect, read_reply, request
from tests.support.fake_openai import FakeOpenAIServer

MESSAGES = [{"role": "user", "content": "ANSWER: bug"}]


def chat(model, **extra) -> dict:
    return {"model": model, "messages": MESSAGES, **extra}


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


CASES = [  # (what, body, status, param)
    ("version beyond 64 bits", chat("triage:99999999999999999999999"), 400, "model"),
    ("same, unknown model", chat("m:99999999999999999999999"), 400, "model"),
    ("superscript digit", chat("triage:²"), 400, "model"),
    ("superscript digit, unknown model", chat("m:²"), 400, "model"),
    ("Arabic-Indic digit", chat("triage:٣"), 400, "model"),
    ("version 0", chat("triage:0"), 400, "model"),
    ("no version after ':'", chat("triage:"), 400, "model"),
    ("largest version", chat(f"triage:{MAX_VERSION}"), 404, "model"),
    ("unknown model", chat("nope"), 404, "model"),
    ("unknown environment", chat("triage@nope"), 404, "model"),
    ("name the registry refuses", chat("tri age/../x"), 404, "model"),
    ("lone surrogate", b'{"model": "\\ud800", "messages": [{"role": "user"}]}', 404, "model"),
    ("100,000-character name", chat("a" * 100_000), 404, "model"),
    ("model not a string", chat(5), 400, "model"),
    ("messages not an array", {"model": "triage", "messages": "hi"}, 400, "messages"),
    ("role not a string", {"model": "triage", "messages": [{"role": 1}]}, 400, "messages"),
    ("stream not a boolean", chat("triage", stream="yes"), 400, "stream"),
    ("stream_options a string", chat("triage", stream=True, stream_options="x"), 400,
     "stream_options"),
    ("stream_options an array", chat("triage", stream=True, stream_options=[]), 400,
     "stream_options"),
    ("100,000 nested arrays", b'{"model": "triage", "x": ' + nested(100_000) + b"}", 400, None),
    ("nesting one past the bound", b'{"model": "triage", "messages": '
     + nested(MAX_JSON_DEPTH) + b"}", 400, None),
    ("NaN", b'{"model": "triage", "messages": [], "temperature": NaN}', 400, None),
    ("Infinity", b'{"model": "triage", "messages": [], "temperature": -Infinity}', 400, None),
    ("1e999", b'{"model": "triage", "messages": [], "temperature": 1e999}', 400, None),
    ("5,000-digit integer", b'{"model": "triage", "max_tokens": ' + b"9" * 5000 + b"}", 400,
     None),
    ("not UTF-8", b'{"model": "\xff\xfe"}', 400, None),
    ("empty body", b"", 400, None),
    ("top-level array", b"[]", 400, None),
]


def assert_openai_error(reply_status: int, content_type: str, error: dict, status: int,
                        param: str | None) -> None:
    assert reply_status == status
    assert content_type.startswith("application/json")
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param


def test_bad_requests_get_4xx_and_the_connection_serves_on(
        served: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with connect(served.gateway.base_url) as sock:  # one kept-alive connection for all
        for what, body, status, param in CASES:
            sock.sendall(request(body))
            reply = read_reply(sock)
            assert "connection" not in reply.headers, what
            assert_openai_error(reply.status, reply.headers["content-type"], reply.error,
                                status, param)
        long_name = next(r for w, r, *_ in CASES if w.startswith("100,000-char"))
        assert len(json.dumps(long_name)) > 100_000  # ... and its 404 quotes it shortened
        sock.sendall(request(chat("a" * 100_000)))
        assert len(read_reply(sock).error["message"]) < 200
        sock.sendall(request(b'{"model": "triage", "messages": [{"role": "user", "content": '
                             b'"ANSWER: bug"}], "metadata": ' + nested(MAX_JSON_DEPTH - 2)
                             + b"}"))
        assert read_reply(sock).status == 200  # nesting within the bound is served
        for path, status in [("/v1/models/triage:%C2%B2", 400), ("/v1/models/triage:1", 200),
                             ("/v1/models/%F0%9F", 404)]:
            sock.sendall(request(b"", method="GET", path=path))
            assert read_reply(sock).status == status, path
        sock.sendall(request(chat("triage")))
        reply = read_reply(sock)
        assert reply.status == 200 and reply.json()["choices"][0]["message"]["content"] == "bug"
    with connect(served.gateway.base_url) as sock:  # not even HTTP: 400, then closed
        sock.sendall("GET /v1/models/triage:² HTTP/1.1\r\nhost: x\r\n\r\n".encode())
        reply = read_reply(sock)
        assert reply.status == 400 and reply.error["code"] == "invalid_http"
        assert closed_by_server(sock)
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


# -- fuzzing -------------------------------------------------------------------------------

NAMES = st.one_of(
    st.sampled_from(["triage", "triage@production", "triage@staging", "triage:1", "triage:3",
                     "triage:01", "nope", "triage@", "@", ":", "triage:-1", "triage: 1",
                     f"triage:{MAX_VERSION}", f"triage:{MAX_VERSION + 1}"]),
    st.text(alphabet="triage:@0123456789²٣ .\x00\ud800", max_size=20),
    st.text(max_size=30),
)
SCALARS = (st.none() | st.booleans() | st.integers(-10**30, 10**30)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=12)
# Contents the loopback upstream can read (it is a test double, not a validator): the
# gateway passes contents through untouched, so their shape is the upstream's business.
CONTENT = st.none() | st.text(max_size=40) | st.lists(
    st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=20)}), max_size=2)
MESSAGE = st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "assistant"])},
                                optional={"content": CONTENT})
STREAM_OPTIONS = st.fixed_dictionaries({}, optional={"include_usage": JSON}) | JSON
# Routable bodies, with anything in the other fields: the expected answer is known.
ROUTABLE = st.fixed_dictionaries(
    {"model": st.sampled_from(["triage", "triage@staging", "triage:3"]),
     "messages": st.lists(MESSAGE, min_size=1, max_size=3)},
    optional={"stream": st.booleans(), "stream_options": STREAM_OPTIONS, "temperature": JSON,
              "max_tokens": JSON, "user": JSON, "tools": JSON})
WILD = st.fixed_dictionaries({}, optional={
    "model": NAMES | JSON, "messages": st.lists(MESSAGE, min_size=1, max_size=3) | JSON,
    "stream": st.booleans() | JSON, "stream_options": STREAM_OPTIONS, "temperature": JSON,
}) | JSON


def deep(depth: int, arrays: bool) -> object:
    """A value nested exactly ``depth`` arrays (or objects) deep."""
    value: object = 1
    for _ in range(depth):
        value = [value] if arrays else {"k": value}
    return value


def non_finite(value: object) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        value = list(value.values())
    return isinstance(value, list) and any(non_finite(v) for v in value)


@pytest.fixture
def in_process(store: Store, db_path: Path, tmp_path: Path, fake_openai: FakeOpenAIServer):
    build_world(store, tmp_path, fake_openai.base_url)
    deploy.deploy(store, "triage", 1, "production")
    deploy.deploy(store, "triage", 2, "staging")
    with InProcessGateway(db_path) as gateway:
        yield gateway, fake_openai


def check(reply, fake: FakeOpenAIServer) -> None:
    assert reply.status in (200, 400, 404), reply.body[:300]
    if reply.status != 200:
        error = json.loads(reply.body)["error"]
        assert_openai_error(reply.status, reply.headers["content-type"], error, reply.status,
                            error["param"])
        assert fake.base_url not in error["message"]


def test_fuzzed_bodies_get_an_answer_in_format(in_process,
                                               caplog: pytest.LogCaptureFixture) -> None:
    gateway, fake = in_process

    @settings(max_examples=120, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(body=ROUTABLE, wild=WILD, use_wild=st.booleans())
    def fuzz(body: dict, wild, use_wild: bool) -> None:
        reply = gateway.post(json.dumps(wild if use_wild else body, allow_nan=True).encode())
        check(reply, fake)
        if not use_wild:  # a routable body: served unless one of its values is not JSON
            options = body.get("stream_options")
            refused = non_finite(body) or not (options is None or isinstance(options, dict))
            assert reply.status == (400 if refused else 200), reply.body[:300]

    fuzz()
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


def test_fuzzed_nesting_is_bounded(in_process) -> None:
    gateway, fake = in_process

    @settings(max_examples=60, deadline=None, database=None)
    @given(depth=st.integers(0, 3 * MAX_JSON_DEPTH), arrays=st.booleans())
    def fuzz(depth: int, arrays: bool) -> None:
        reply = gateway.post(json.dumps(chat("triage", metadata=deep(depth, arrays))).encode())
        check(reply, fake)
        assert reply.status == (400 if 1 + depth > MAX_JSON_DEPTH else 200)

    fuzz()
    for depth in (MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH):  # the edge, whatever was drawn
        fuzz.hypothesis.inner_test(depth, True)


def test_fuzzed_model_names_get_an_answer_in_format(in_process,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    gateway, fake = in_process

    @settings(max_examples=150, deadline=None, database=None)
    @given(name=NAMES, stream=st.booleans())
    def fuzz(name: str, stream: bool) -> None:
        reply = gateway.post(json.dumps(chat(name, stream=stream)).encode())
        check(reply, fake)
        if reply.status == 200 and not stream:
            assert json.loads(reply.body)["choices"][0]["message"]["content"] == "bug"
        path = "/v1/models/" + name.encode("utf-8", "surrogatepass").decode("latin-1")
        check(gateway.get(path), fake)

    fuzz()
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


@settings(max_examples=200, deadline=None, database=None)
@given(raw=st.binary(max_size=200)
       | st.tuples(ROUTABLE, st.integers(0, 2 * MAX_JSON_DEPTH)).map(
           lambda b: json.dumps({**b[0], "x": deep(b[1], True)}, allow_nan=True).encode()))
def test_fuzzed_bytes_never_break_the_parser(raw: bytes) -> None:
    from mlops_desk.gateway.compose import parse_chat_request
    from mlops_desk.gateway.errors import GatewayError

    try:
        body = parse_chat_request(raw)
    except GatewayError as err:
        assert err.status == 400
    else:  # whatever passes can be sent upstream as JSON
        json.dumps(body, allow_nan=False)
        assert not non_finite(body)
