"""Turning a version's config into a request, shared by the runner and the gateway."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from mlops_desk.core.endpoint_check import load_target
from mlops_desk.core.errors import MlopsError

# Version params that configure MLOps Desk itself rather than the API request.
LOCAL_PARAM_KEYS = frozenset({"scorer", "judge_rubric", "allow_client_override"})


def render_messages(config: dict[str, Any], row: dict[str, Any]) -> list[dict[str, str]]:
    """System prompt (if any) then the template filled with the row's columns."""
    values = {k: "" if v is None else v for k, v in row.items()}
    user = config["template"].format_map(values)
    messages = []
    if config.get("system_prompt"):
        messages.append({"role": "system", "content": config["system_prompt"]})
    messages.append({"role": "user", "content": user})
    return messages


def request_params(config: dict[str, Any]) -> dict[str, Any]:
    """Parameters sent to the endpoint (temperature, max_tokens, response_format, ...)."""
    return {k: v for k, v in (config.get("params") or {}).items() if k not in LOCAL_PARAM_KEYS}


def request_body(config: dict[str, Any], messages: list[dict[str, str]]) -> dict[str, Any]:
    """The chat-completions request body, as sent online and written into batch files."""
    return {**request_params(config), "model": config["model_id"], "messages": messages}


def cache_key(fingerprint: str, messages: list[dict[str, str]], params: dict[str, Any]) -> str:
    """Version fingerprint + the exact rendered request."""
    payload = json.dumps([fingerprint, messages, params], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


def completion_from_body(data: dict[str, Any]) -> Completion:
    """The answer text and token counts of a chat-completion body (online or a batch line).

    Raises KeyError/TypeError/AttributeError/IndexError on a body of the wrong shape.
    """
    choice = data["choices"][0] if data.get("choices") else None
    text = (choice["message"].get("content") or "") if choice is not None else ""
    usage = data.get("usage") or {}
    return Completion(text, usage.get("prompt_tokens"), usage.get("completion_tokens"))


def call_python_target(target: str, messages: list[dict[str, str]],
                       params: dict[str, Any]) -> Completion:
    """Call a ``module:function`` model: ``fn(messages, params) -> str | dict``.

    A dict may carry ``text`` (or ``content``) and ``usage`` with
    ``prompt_tokens``/``completion_tokens``.
    """
    result = load_target(target)(messages, params)
    if isinstance(result, str):
        return Completion(result)
    if isinstance(result, dict):
        text = result.get("text", result.get("content"))
        if isinstance(text, str):
            usage = result.get("usage") or {}
            return Completion(text, usage.get("prompt_tokens"), usage.get("completion_tokens"))
    raise MlopsError(f"{target} returned {type(result).__name__}; expected str or "
                     "{'text': ..., 'usage': {...}}")


def cost_usd(price: tuple[float, float] | None, prompt_tokens: int | None,
             completion_tokens: int | None) -> float | None:
    """USD for one call at (input, output) USD per 1M tokens; None when unpriced."""
    if price is None or (prompt_tokens is None and completion_tokens is None):
        return None
    return ((prompt_tokens or 0) * price[0] + (completion_tokens or 0) * price[1]) / 1_000_000
