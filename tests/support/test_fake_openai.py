"""Tests for the fake OpenAI server, driven through the real openai SDK where possible."""

import asyncio
import http.client
import json
import threading
import time

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from tests.support.fake_openai import FakeOpenAIServer, spawn_fake_openai
from tests.support.fixtures import fake_openai_fixture  # noqa: F401

USER = [{"role": "user", "content": "What is six times seven?\nANSWER: 42"}]


def sync_client(server: FakeOpenAIServer, **kwargs) -> OpenAI:
    options = {"api_key": "sk-test", "max_retries": 0, "timeout": 5.0, **kwargs}
    return OpenAI(base_url=server.base_url, **options)


def ask(client: OpenAI, **kwargs):
    return client.chat.completions.create(model="fake-model", messages=USER, **kwargs)


def raw_request(server: FakeOpenAIServer, method: str, path: str, body: bytes = b""):
    """Plain http.client call, for things the SDK would not send."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        connection.request(method, path, body=body)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


# --- normal traffic ----------------------------------------------------------------------------


def test_sync_completion_uses_answer_line_and_word_counts(fake_openai):
    with sync_client(fake_openai) as client:
        completion = client.chat.completions.create(
            model="my-model",
            messages=[{"role": "system", "content": "Be brief."}, *USER],
        )

    assert completion.model == "my-model"
    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.choices[0].message.content == "42"
    assert completion.choices[0].finish_reason == "stop"
    # "Be brief." = 2 words, the user message = 7 words; the reply "42" = 1 word.
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (9, 1)
    assert completion.usage.total_tokens == 10
    assert fake_openai.request_count == 1
    assert fake_openai.requests[0]["model"] == "my-model"


def test_default_reply_is_ok_without_answer_line(fake_openai):
    with sync_client(fake_openai) as client:
        completion = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
        )
    assert completion.choices[0].message.content == "ok"
    assert completion.usage.prompt_tokens == 1


def test_async_completion(fake_openai):
    async def main():
        async with AsyncOpenAI(
            base_url=fake_openai.base_url, api_key="sk-test", max_retries=0, timeout=5.0
        ) as client:
            return await client.chat.completions.create(model="fake-model", messages=USER)

    assert asyncio.run(main()).choices[0].message.content == "42"


def test_custom_responder_with_token_counts(fake_openai):
    fake_openai.responder = lambda request: {
        "content": request["messages"][-1]["content"].upper(),
        "prompt_tokens": 100,
        "completion_tokens": 7,
    }
    with sync_client(fake_openai) as client:
        completion = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "shout"}]
        )
    assert completion.choices[0].message.content == "SHOUT"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (100, 7)


def test_streaming_with_usage(fake_openai):
    fake_openai.responder = lambda request: "streamed reply text"
    with sync_client(fake_openai) as client:
        chunks = list(ask(client, stream=True, stream_options={"include_usage": True}))

    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "streamed reply text"
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 1
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == 3


def test_streaming_without_usage_sends_no_usage_chunk(fake_openai):
    with sync_client(fake_openai) as client:
        chunks = list(ask(client, stream=True))
    assert all(c.choices and c.usage is None for c in chunks)


def test_models_list_and_retrieve():
    with (
        FakeOpenAIServer(models=("alpha", "beta")) as server,
        sync_client(server) as client,
    ):
        assert [m.id for m in client.models.list()] == ["alpha", "beta"]
        assert client.models.retrieve("beta").id == "beta"


def test_unknown_path_and_bad_body(fake_openai):
    status, body = raw_request(fake_openai, "GET", "/v1/nope")
    assert status == 404
    assert body["error"]["code"] == "unknown_url"
    assert set(body["error"]) == {"message", "type", "param", "code"}

    status, body = raw_request(fake_openai, "POST", "/v1/chat/completions", b"{not json")
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"


def test_keep_alive_reuses_one_connection(fake_openai):
    with sync_client(fake_openai) as client:
        for _ in range(5):
            ask(client)
    assert fake_openai.connection_count == 1


def test_latency_applies_per_request_and_overlaps(fake_openai):
    fake_openai.latency_s = 0.3  # settable while serving

    async def main():
        async with AsyncOpenAI(
            base_url=fake_openai.base_url, api_key="sk-test", max_retries=0, timeout=5.0
        ) as client:
            start = time.perf_counter()
            await asyncio.gather(
                *(client.chat.completions.create(model="m", messages=USER) for _ in range(8))
            )
            return time.perf_counter() - start

    elapsed = asyncio.run(main())
    assert 0.3 <= elapsed < 1.5  # serial would take 2.4 s


# --- faults ----------------------------------------------------------------------------------


def test_429_carries_retry_headers_and_error_body(fake_openai):
    fake_openai.faults.add("429", retry_after_ms=250, retry_after=1)
    with sync_client(fake_openai) as client, pytest.raises(openai.RateLimitError) as caught:
        ask(client)

    err = caught.value
    assert err.response.headers["retry-after-ms"] == "250"
    assert err.response.headers["retry-after"] == "1"
    assert err.code == "rate_limit_exceeded"
    assert err.type == "rate_limit_exceeded"


def test_insufficient_quota_is_a_429_with_its_own_code(fake_openai):
    fake_openai.faults.add("insufficient_quota")
    with sync_client(fake_openai) as client, pytest.raises(openai.RateLimitError) as caught:
        ask(client)
    assert (caught.value.code, caught.value.type) == ("insufficient_quota", "insufficient_quota")


@pytest.mark.parametrize(
    ("kind", "status", "error"),
    [
        ("500", 500, openai.InternalServerError),
        ("503", 503, openai.InternalServerError),
        ("401", 401, openai.AuthenticationError),
    ],
)
def test_status_faults(fake_openai, kind, status, error):
    fake_openai.faults.add(kind)
    with sync_client(fake_openai) as client, pytest.raises(error) as caught:
        ask(client)
    assert caught.value.status_code == status


def test_drop_raises_connection_error(fake_openai):
    fake_openai.faults.add("drop")
    with sync_client(fake_openai) as client:
        with pytest.raises(openai.APIConnectionError) as caught:
            ask(client)
        assert not isinstance(caught.value, openai.APITimeoutError)
        assert ask(client).choices[0].message.content == "42"  # the next request is fine


def test_slow_past_the_timeout_raises_timeout(fake_openai):
    fake_openai.faults.add("slow", delay_s=2.0)
    with sync_client(fake_openai, timeout=0.2) as client, pytest.raises(openai.APITimeoutError):
        ask(client)


def test_slow_within_the_timeout_still_answers(fake_openai):
    fake_openai.faults.add("slow", delay_s=0.05)
    with sync_client(fake_openai) as client:
        assert ask(client).choices[0].message.content == "42"


def test_malformed_body_fails_to_parse(fake_openai):
    fake_openai.faults.add("malformed")
    # The SDK trusts a 200 with a JSON content type and lets the decode error escape.
    with sync_client(fake_openai) as client, pytest.raises(json.JSONDecodeError):
        ask(client)


def test_malformed_stream_fails_to_parse(fake_openai):
    fake_openai.faults.add("malformed")
    with sync_client(fake_openai) as client, pytest.raises(json.JSONDecodeError):
        list(ask(client, stream=True))


def test_add_count_applies_to_the_next_n_requests_and_sdk_retries_through(fake_openai):
    fake_openai.faults.add("429", count=2, retry_after_ms=10)
    with sync_client(fake_openai, max_retries=2) as client:
        assert ask(client).choices[0].message.content == "42"

    assert fake_openai.request_count == 3
    retries = [h.get("x-stainless-retry-count") for h in fake_openai.request_headers]
    assert retries == ["0", "1", "2"]
    assert fake_openai.faults.injected == {"429": 2}
    assert fake_openai.faults.pending == 0


def test_scripted_faults_run_in_order(fake_openai):
    fake_openai.faults.add("500")
    fake_openai.faults.add("401")
    with sync_client(fake_openai) as client:
        with pytest.raises(openai.InternalServerError):
            ask(client)
        with pytest.raises(openai.AuthenticationError):
            ask(client)
        ask(client)


def test_set_rate_with_seed_is_reproducible(fake_openai):
    def failures() -> int:
        fake_openai.reset()
        fake_openai.faults.set_rate("500", 0.3, seed=7)
        failed = 0
        with sync_client(fake_openai) as client:
            for _ in range(40):
                try:
                    ask(client)
                except openai.InternalServerError:
                    failed += 1
        return failed

    first = failures()
    assert 0 < first < 40
    assert failures() == first
    assert fake_openai.faults.injected == {"500": first}
    assert fake_openai.request_count == 40


def test_fault_kinds_are_validated(fake_openai):
    with pytest.raises(ValueError, match="unknown fault kind"):
        fake_openai.faults.add("418")
    with pytest.raises(ValueError):
        fake_openai.faults.set_rate("500", 1.5)


def test_reset_clears_requests_and_faults(fake_openai):
    fake_openai.faults.add("500", count=3)
    with sync_client(fake_openai) as client, pytest.raises(openai.InternalServerError):
        ask(client)
    fake_openai.reset()
    assert (fake_openai.request_count, fake_openai.faults.pending) == (0, 0)


# --- auth, lifecycle, load, subprocess ---------------------------------------------------------


def test_api_key_is_enforced():
    with FakeOpenAIServer(api_key="sk-right") as server:
        with (
            sync_client(server, api_key="sk-wrong") as client,
            pytest.raises(openai.AuthenticationError) as caught,
        ):
            ask(client)
        assert caught.value.code == "invalid_api_key"

        with sync_client(server, api_key="sk-right") as client:
            assert ask(client).choices[0].message.content == "42"
            assert len(client.models.list().data) == 1


def test_stop_leaves_no_thread_even_with_open_and_sleeping_connections():
    before = set(threading.enumerate())
    server = FakeOpenAIServer().start()
    with sync_client(server, timeout=0.2) as client:
        ask(client)  # leaves an idle keep-alive connection behind
        server.faults.add("slow", delay_s=30)
        with pytest.raises(openai.APITimeoutError):
            ask(client)  # leaves a handler asleep in the "slow" fault
        server.stop()
    assert set(threading.enumerate()) == before
    server.stop()  # idempotent


def test_200_concurrent_async_requests_all_succeed(fake_openai):
    async def main():
        async with AsyncOpenAI(
            base_url=fake_openai.base_url, api_key="sk-test", max_retries=0, timeout=10.0
        ) as client:

            async def one(i: int) -> str:
                messages = [{"role": "user", "content": f"ANSWER: {i}"}]
                reply = await client.chat.completions.create(model="m", messages=messages)
                return reply.choices[0].message.content

            return await asyncio.gather(*(one(i) for i in range(200)))

    assert asyncio.run(main()) == [str(i) for i in range(200)]
    assert fake_openai.request_count == 200


def test_subprocess_mode_serves_until_terminated():
    with spawn_fake_openai(latency_ms=1) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        with OpenAI(base_url=base_url, api_key="sk-test", max_retries=0, timeout=5.0) as client:
            assert ask(client).choices[0].message.content == "42"
