"""The loopback Batch API follows OpenAI's objects and status flow, driven by the real SDK."""

from __future__ import annotations

import json

import openai
import pytest

from tests.support.fixtures import fake_openai_fixture  # noqa: F401


def line(custom_id: str, answer: str = "yes") -> dict:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "fake-model",
                     "messages": [{"role": "user", "content": f"q\nANSWER: {answer}"}]}}


def upload(client, lines: list[dict]):
    content = "".join(json.dumps(x) + "\n" for x in lines).encode()
    return client.files.create(file=("in.jsonl", content), purpose="batch")


@pytest.fixture
def client(fake_openai):
    with openai.OpenAI(base_url=fake_openai.base_url, api_key="k", max_retries=0,
                       timeout=10) as sdk:
        yield sdk


def test_status_flow_files_and_request_counts(client, fake_openai):
    fake_openai.batch_api.plan.fail_line("b", times=1, status=500)
    uploaded = upload(client, [line("a"), line("b"), line("c", "no")])
    assert client.files.retrieve(uploaded.id).purpose == "batch"
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                  completion_window="24h", metadata={"k": "v"})
    assert batch.status == "validating" and batch.metadata == {"k": "v"}
    seen = [client.batches.retrieve(batch.id) for _ in range(3)]
    assert [b.status for b in seen] == ["in_progress", "finalizing", "completed"]
    done = seen[-1]
    assert (done.request_counts.total, done.request_counts.completed,
            done.request_counts.failed) == (3, 2, 1)
    output = [json.loads(x) for x in client.files.content(done.output_file_id).text.splitlines()]
    assert [(x["custom_id"], x["response"]["status_code"],
             x["response"]["body"]["choices"][0]["message"]["content"]) for x in output] == \
        [("a", 200, "yes"), ("c", 200, "no")]
    errors = [json.loads(x) for x in client.files.content(done.error_file_id).text.splitlines()]
    assert [(x["custom_id"], x["response"]["status_code"]) for x in errors] == [("b", 500)]
    assert [b.id for b in client.batches.list()] == [batch.id]


def test_validation_failure_expiry_and_cancel(client, fake_openai):
    duplicate = upload(client, [line("a"), line("a")])
    failed = client.batches.create(input_file_id=duplicate.id,
                                   endpoint="/v1/chat/completions", completion_window="24h")
    failed = client.batches.retrieve(failed.id)
    assert failed.status == "failed"
    assert failed.errors.data[0].code == "duplicate_custom_id" and failed.errors.data[0].line == 2

    fake_openai.batch_api.plan.expire_line("x")
    expiring = client.batches.create(input_file_id=upload(client, [line("x"), line("y")]).id,
                                     endpoint="/v1/chat/completions", completion_window="24h")
    for _ in range(3):
        expiring = client.batches.retrieve(expiring.id)
    assert expiring.status == "expired"
    error = json.loads(client.files.content(expiring.error_file_id).text)
    assert error["custom_id"] == "x" and error["error"]["code"] == "batch_expired"

    fake_openai.batch_api.hold = True
    held = client.batches.create(input_file_id=upload(client, [line("z")]).id,
                                 endpoint="/v1/chat/completions", completion_window="24h")
    assert client.batches.retrieve(held.id).status == "in_progress"
    assert client.batches.cancel(held.id).status == "cancelling"
    assert client.batches.retrieve(held.id).status == "cancelled"
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_nope")
