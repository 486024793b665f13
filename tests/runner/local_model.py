"""Tiny local "models" for python-endpoint tests: they answer the row's ``ANSWER:`` line."""

from __future__ import annotations

CALLS: list[dict] = []


def _answer(messages: list[dict]) -> str:
    return messages[-1]["content"].rsplit("ANSWER:", 1)[1].strip()


def answer(messages: list[dict], params: dict) -> str:
    """Plain text, no usage."""
    CALLS.append({"messages": messages, "params": params})
    text = _answer(messages)
    if text == "boom":
        raise ValueError("the local model exploded")
    return text


def answer_with_usage(messages: list[dict], params: dict) -> dict:
    """Text plus usage, as a local model with a tokenizer would report it."""
    return {"text": _answer(messages), "usage": {"prompt_tokens": 7, "completion_tokens": 1}}
