"""The gateway driven by the real openai SDK (sync, async, streaming) over the fake upstream."""

from __future__ import annotations

import asyncio

import openai
import pytest

from mlops_desk.core import deploy, registry
from tests.gateway.conftest import Served

MESSAGES = [{"role": "user", "content": "Ticket: printer on fire\nANSWER: bug"}]


def test_sync_chat_uses_the_deployed_version(served: Served) -> None:
    with served.client() as client:
        raw = client.chat.completions.with_raw_response.create(
            model="triage", messages=MESSAGES, temperature=0.9)
        reply = raw.parse()
    assert reply.choices[0].message.content == "bug"
    assert reply.model == "triage:1"  # the version that served, not the upstream's model id
    assert reply.usage.prompt_tokens > 0
    assert raw.headers["x-mlops-desk-version"] == "triage:1"
    assert raw.headers["x-mlops-desk-served-as"] == "triage@production"
    sent = served.fake.requests[-1]
    assert sent["model"] == "fake-model"
    assert sent["messages"] == [{"role": "system", "content": "You are version 1."}, *MESSAGES]
    assert sent["temperature"] == 0  # the version's own parameter wins


def test_clients_override_only_what_the_version_allows(served: Served) -> None:
    config = registry.make_config(
        endpoint="fake", model_id="fake-model", system_prompt="v4", parser="label",
        params={"temperature": 0, "max_tokens": 5, "allow_client_override": ["max_tokens"]})
    registry.register_version(served.store, "triage", config)
    deploy.deploy(served.store, "triage", 4, "staging")
    with served.client() as client:
        client.chat.completions.create(model="triage@staging", messages=MESSAGES,
                                       temperature=0.9, max_tokens=7, seed=3)
    sent = served.fake.requests[-1]
    assert (sent["temperature"], sent["max_tokens"], sent["seed"]) == (0, 7, 3)
    assert "allow_client_override" not in sent


def test_async_client_with_concurrent_requests(served: Served) -> None:
    async def main() -> list[str]:
        async with served.async_client() as client:
            replies = await asyncio.gather(*(
                client.chat.completions.create(
                    model="triage", messages=[{"role": "user", "content": f"ANSWER: n{i}"}])
                for i in range(12)))
        return [r.choices[0].message.content for r in replies]

    assert asyncio.run(main()) == [f"n{i}" for i in range(12)]


def test_streaming_sync_and_usage_only_when_asked(served: Served) -> None:
    with served.client() as client:
        chunks = list(client.chat.completions.create(
            model="triage", messages=[{"role": "user", "content": "ANSWER: billing"}],
            stream=True))
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == "billing"
        assert {c.model for c in chunks} == {"triage:1"}
        assert all(c.choices for c in chunks)  # no usage-only chunk the client did not ask for
        with_usage = list(client.chat.completions.create(
            model="triage", messages=[{"role": "user", "content": "ANSWER: billing"}],
            stream=True, stream_options={"include_usage": True}))
    assert with_usage[-1].choices == [] and with_usage[-1].usage.completion_tokens == 1
    # The gateway asked upstream for usage both times, for its request log.
    assert all(r["stream_options"]["include_usage"] for r in served.fake.requests)
    rows = served.logged(2)
    assert [(r["stream"], r["completion_tokens"], r["label"]) for r in rows] == [
        (1, 1, "billing"), (1, 1, "billing")]


def test_streaming_async(served: Served) -> None:
    async def main() -> str:
        async with served.async_client() as client:
            stream = await client.chat.completions.create(model="triage", messages=MESSAGES,
                                                          stream=True)
            return "".join([c.choices[0].delta.content or "" async for c in stream])

    assert asyncio.run(main()) == "bug"


def test_a_deploy_takes_effect_on_the_next_request_and_so_does_rollback(served: Served) -> None:
    with served.client() as client:
        def ask() -> str:
            client.chat.completions.create(model="triage", messages=MESSAGES)
            return served.system_prompt_sent()

        assert ask() == "You are version 1."
        deploy.deploy(served.store, "triage", 2, "production")
        assert ask() == "You are version 2."
        deploy.rollback(served.store, "triage", "production")
        assert ask() == "You are version 1."


def test_names_pick_environments_and_pinned_versions(served: Served) -> None:
    with served.client() as client:
        with pytest.raises(openai.NotFoundError, match="nothing is deployed to triage@staging"):
            client.chat.completions.create(model="triage@staging", messages=MESSAGES)
        deploy.deploy(served.store, "triage", 3, "staging")
        client.chat.completions.create(model="triage@staging", messages=MESSAGES)
        assert served.system_prompt_sent() == "You are version 3."
        client.chat.completions.create(model="triage:2", messages=MESSAGES)
        assert served.system_prompt_sent() == "You are version 2."
        assert [m.id for m in client.models.list()] == [
            "triage", "triage@staging", "triage@production"]
        assert client.models.retrieve("triage:2").id == "triage:2"
    rows = served.logged(2)
    assert [(r["environment"], r["version_id"]) for r in rows] == [
        ("staging", served.world.version(3).id), (None, served.world.version(2).id)]


@pytest.mark.parametrize("name", ["nope", "triage:9", "triage@nowhere"])
def test_unknown_model_is_404_in_openai_format(served: Served, name: str) -> None:
    with served.client() as client, pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model=name, messages=MESSAGES)
    assert err.value.status_code == 404
    assert err.value.body["code"] == "model_not_found" and name in err.value.body["message"]
