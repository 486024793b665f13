"""Local "models" for the gateway's python-endpoint tests (``module:function`` targets)."""

from __future__ import annotations


def echo_label(messages: list[dict], params: dict) -> dict:
    """Answer the word after 'ANSWER:' in the last message, and report usage."""
    text = messages[-1]["content"]
    answer = text.split("ANSWER:")[-1].strip() if "ANSWER:" in text else "other"
    return {"text": answer, "usage": {"prompt_tokens": len(text.split()), "completion_tokens": 1}}


def broken(messages: list[dict], params: dict) -> str:
    raise RuntimeError("the local model fell over")
