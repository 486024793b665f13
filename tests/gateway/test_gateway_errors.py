"""Failures in OpenAI's format: malformed bodies, upstream down or failing, token auth, keys.

What the client reads never names the endpoint, its base URL or its Python target (the
operator's business); the request log keeps those details.
"""

from __future__ import annotations

import json
import socket

import httpx2
import openai
import pytest

from mlops_desk.core import deploy, registry, secrets
from mlops_desk.core.errors import BadInput
from mlops_desk.gateway import server
from mlops_desk.gateway.limits import Limits
from tests.gateway.conftest import Served

MESSAGES = [{"role": "user", "content": "ANSWER: bug"}]


def post(served: Served, body: bytes | dict, **headers: str) -> httpx2.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    with httpx2.Client(trust_env=False) as http:
        return http.post(f"{served.gateway.base_url}/chat/completions", content=content,
                         headers={"content-type": "application/json", **headers}, timeout=10)


@pytest.mark.parametrize(("body", "param"), [
    (b"{not json", None),
    (b"[1, 2]", None),
    ({"messages": MESSAGES}, "model"),
    ({"model": "triage"}, "messages"),
    ({"model": "triage", "messages": []}, "messages"),
    ({"model": "triage", "messages": ["hi"]}, "messages"),
    ({"model": "triage", "messages": MESSAGES, "stream": "yes"}, "stream"),
])
def test_malformed_body_is_400(served: Served, body: bytes | dict, param: str | None) -> None:
    response = post(served, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert error["message"]


def test_sdk_sees_400_and_unknown_routes_stay_in_format(served: Served) -> None:
    with served.client() as client, pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="triage", messages=[])
    with httpx2.Client(trust_env=False) as http:
        missing = http.get(served.gateway.base_url + "/embeddings")
        wrong_method = http.get(served.gateway.base_url + "/chat/completions")
    assert missing.status_code == 404 and "error" in missing.json()
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_internal_names_hidden(served: Served, err: openai.APIStatusError) -> None:
    text = json.dumps(err.body) + err.message
    assert "fake" not in text.replace("fake-model", "")  # the endpoint's name
    assert "127.0.0.1" not in text and "python_model" not in text


def test_upstream_down_is_502_with_the_reason(served: Served) -> None:
    down = f"http://127.0.0.1:{free_port()}/v1"
    registry.update_endpoint(served.store, "fake", base_url=down)
    for stream in (False, True):
        with served.client() as client, pytest.raises(openai.InternalServerError) as err:
            client.chat.completions.create(model="triage", messages=MESSAGES, stream=stream)
        assert err.value.status_code == 502
        assert "'triage@production' cannot be served now: its upstream cannot be reached" in (
            err.value.message)
        assert err.value.body["code"] == "upstream_unreachable"
        assert_internal_names_hidden(served, err.value)
    rows = served.logged(2)
    assert [r["status"] for r in rows] == [502, 502]
    assert f"cannot reach endpoint fake at {down}" in rows[0]["error"]


@pytest.mark.parametrize(("fault", "reason"), [
    ("500", "answered 500: The server had an error"),
    ("401", "answered 401: Incorrect API key"),
])
@pytest.mark.parametrize("stream", [False, True])
def test_upstream_errors_are_502_with_the_upstreams_reason(served: Served, fault: str,
                                                           reason: str, stream: bool) -> None:
    served.fake.faults.add(fault)
    with served.client() as client, pytest.raises(openai.InternalServerError) as err:
        client.chat.completions.create(model="triage", messages=MESSAGES, stream=stream)
    assert err.value.status_code == 502
    assert f"The upstream of 'triage@production' {reason}" in err.value.message
    assert_internal_names_hidden(served, err.value)
    assert f"endpoint fake {reason}" in served.logged(1)[0]["error"]


@pytest.mark.parametrize("stream", [False, True])
def test_an_upstream_429_is_passed_on_with_its_retry_after(served: Served,
                                                           stream: bool) -> None:
    served.fake.faults.add("429", retry_after=7, retry_after_ms=20)
    with served.client() as client, pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(model="triage", messages=MESSAGES, stream=stream)
    assert err.value.status_code == 429
    assert err.value.response.headers["retry-after"] == "7"
    assert err.value.response.headers["retry-after-ms"] == "20"
    assert err.value.body["code"] == "rate_limit_exceeded"
    assert "is rate limited: Rate limit reached" in err.value.message
    assert_internal_names_hidden(served, err.value)
    # The SDK retries a 429 after the wait it was given, and then gets its answer.
    served.fake.faults.add("429", retry_after_ms=20)
    with served.client(max_retries=1) as client:
        reply = client.chat.completions.create(model="triage", messages=MESSAGES)
    assert reply.choices[0].message.content == "bug"
    assert [r["status"] for r in served.logged(3)] == [429, 429, 200]


def test_upstream_timeout_is_502(served: Served) -> None:
    registry.update_endpoint(served.store, "fake", timeout_s=0.2)
    served.fake.faults.add("slow", delay_s=1.0)
    with served.client() as client, pytest.raises(openai.InternalServerError) as err:
        client.chat.completions.create(model="triage", messages=MESSAGES)
    assert err.value.status_code == 502 and "did not answer within 0.2 s" in err.value.message
    assert_internal_names_hidden(served, err.value)


def test_malformed_upstream_answers(served: Served) -> None:
    served.fake.faults.add("malformed", count=2)
    with served.client() as client:
        with pytest.raises(openai.InternalServerError, match="malformed chat completion"):
            client.chat.completions.create(model="triage", messages=MESSAGES)
        with pytest.raises(openai.APIError, match="malformed stream event"):
            list(client.chat.completions.create(model="triage", messages=MESSAGES,
                                                stream=True))
    assert [r["status"] for r in served.logged(2)] == [502, 502]


def test_python_endpoints_are_served_too(served: Served) -> None:
    registry.add_endpoint(served.store, "local", kind="python",
                          target="tests.gateway.python_model:echo_label")
    registry.add_endpoint(served.store, "broken", kind="python",
                          target="tests.gateway.python_model:broken")
    for endpoint in ("local", "broken"):
        config = registry.make_config(endpoint=endpoint, model_id="rules", parser="label")
        registry.register_version(served.store, "triage", config)
    with served.client() as client:
        reply = client.chat.completions.create(model="triage:4", messages=MESSAGES)
        assert reply.choices[0].message.content == "bug" and reply.usage.completion_tokens == 1
        chunks = list(client.chat.completions.create(
            model="triage:4", messages=MESSAGES, stream=True,
            stream_options={"include_usage": True}))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "bug"
        assert chunks[-1].usage.prompt_tokens == 2
        with pytest.raises(openai.InternalServerError, match="the local model fell over") as err:
            client.chat.completions.create(model="triage:5", messages=MESSAGES)
    assert "'triage:5' failed: it raised RuntimeError" in err.value.message
    assert_internal_names_hidden(served, err.value)
    row = served.logged(3)[-1]
    assert "tests.gateway.python_model:broken raised RuntimeError" in row["error"]


def test_keys_never_reach_clients_or_the_log(served: Served,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-live-gateway-test-5f2a9c0b7e1d"
    monkeypatch.setenv("FAKE_KEY", key)
    served.fake.api_key = key
    registry.update_endpoint(served.store, "fake", api_key_ref=secrets.env_ref("FAKE_KEY"))

    def leaky(request: dict) -> str:  # an upstream that quotes the credentials in its error
        raise ValueError(f"rejected {served.fake.request_headers[-1]['authorization']}")

    with served.client() as client:
        assert client.chat.completions.create(model="triage", messages=MESSAGES)
        served.fake.responder = leaky
        with pytest.raises(openai.InternalServerError) as err:
            client.chat.completions.create(model="triage", messages=MESSAGES)
    assert served.fake.request_headers[-1]["authorization"] == f"Bearer {key}"
    assert "rejected" in err.value.message and key not in err.value.message
    assert key not in json.dumps(err.value.body)
    rows = served.logged(2)
    assert "rejected" in rows[1]["error"] and key not in rows[1]["error"]


def test_a_token_protects_every_v1_route(served: Served, start_gateway) -> None:
    guarded = start_gateway(token="s3cret-token")
    with served.client(base_url=guarded.base_url, api_key="wrong") as client:
        with pytest.raises(openai.AuthenticationError) as err:
            client.chat.completions.create(model="triage", messages=MESSAGES)
        assert err.value.status_code == 401
        with pytest.raises(openai.AuthenticationError):
            client.models.list()
    with httpx2.Client(trust_env=False) as http:
        bare = http.post(guarded.base_url + "/chat/completions",
                         json={"model": "triage", "messages": MESSAGES})
        assert bare.status_code == 401 and bare.json()["error"]["code"] == "invalid_api_key"
        assert http.get(guarded.base_url.removesuffix("/v1") + "/health").status_code == 200
    with served.client(base_url=guarded.base_url, api_key="s3cret-token") as client:
        assert client.chat.completions.create(model="triage", messages=MESSAGES)


def test_binding_beyond_loopback_requires_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(server.TOKEN_ENV, raising=False)
    assert server.token_for("127.0.0.1") is None and server.token_for("::1") is None
    assert server.token_for("localhost") is None
    with pytest.raises(BadInput, match=server.TOKEN_ENV):
        server.token_for("0.0.0.0")
    monkeypatch.setenv(server.TOKEN_ENV, "t0ken")
    assert server.token_for("0.0.0.0") == "t0ken"
    assert server.token_for("127.0.0.1") == "t0ken"  # once set, loopback enforces it too


def test_serve_refuses_a_public_bind_without_token(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(server.TOKEN_ENV, raising=False)
    result = cli("serve", "--host", "0.0.0.0", "--port", "0")
    assert result.code == 2 and len(result.err_lines) == 1
    assert server.TOKEN_ENV in result.err


def test_the_request_log_has_what_monitoring_needs(served: Served) -> None:
    deploy.deploy(served.store, "triage", 2, "staging")
    with served.client() as client:
        client.chat.completions.create(model="triage", messages=MESSAGES)
        client.chat.completions.create(model="triage@staging", messages=[
            {"role": "user", "content": "first"}, {"role": "assistant", "content": "x"},
            {"role": "user", "content": "ANSWER: Billing."}])
    rows = served.logged(2)
    first, second = rows
    assert (first["environment"], first["status"], first["label"]) == ("production", 200, "bug")
    assert first["input_chars"] == len("ANSWER: bug") and first["latency_ms"] > 0
    assert first["prompt_tokens"] == 6 and first["completion_tokens"] == 1
    assert first["cost"] == pytest.approx((6 * 1.0 + 1 * 2.0) / 1e6)  # $1 / $2 per 1M
    assert (second["environment"], second["label"]) == ("staging", "billing")
    assert second["input_chars"] == len("ANSWER: Billing.")
    assert second["version_id"] == served.world.version(2).id


def test_an_oversized_body_is_413(served: Served, start_gateway) -> None:
    small = start_gateway(limits=Limits(max_body_bytes=1000))
    big = {"model": "triage", "messages": [{"role": "user", "content": "x" * 2000}]}
    with httpx2.Client(trust_env=False) as http:
        declared = http.post(f"{small.base_url}/chat/completions", json=big)
        chunked = http.post(f"{small.base_url}/chat/completions",  # no length announced
                            content=iter([json.dumps(big).encode()[i:i + 100]
                                          for i in range(0, 2100, 100)]))
    for response in (declared, chunked):
        assert response.status_code == 413
        assert "larger than 1000 bytes" in response.json()["error"]["message"]
