"""Check a client's chat request and turn it into the request the version sends upstream.

The version's system prompt goes first (the client's own messages follow unchanged), and
its parameters win over the client's except for the names listed in the version's
``allow_client_override`` param (``"*"`` allows all). Parameters the version does not set
pass through from the client (``user``, ``seed``, ``tools``, ...).
"""

from __future__ import annotations

import json
from typing import Any

from mlops_desk.gateway.errors import bad_request
from mlops_desk.gateway.routing import Target

_CLIENT_ONLY = ("model", "messages")


def parse_chat_request(raw: bytes) -> dict[str, Any]:
    """The JSON body, checked just enough to route it and build the upstream request."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise bad_request("'model' is required and must be a string.", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("'messages' must be a non-empty array.", "messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise bad_request(f"messages[{i}] must be an object with a 'role'.", "messages")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise bad_request("'stream' must be a boolean.", "stream")
    return body


def upstream_body(target: Target, request: dict[str, Any]) -> dict[str, Any]:
    client = {k: v for k, v in request.items() if k not in _CLIENT_ONLY}
    allow_all = "*" in target.overridable
    merged = dict(client)
    for key, value in target.params.items():
        if key in client and (allow_all or key in target.overridable):
            continue  # the version lets the client choose this one
        merged[key] = value
    config = target.version.config
    messages = request["messages"]
    if config.get("system_prompt"):
        messages = [{"role": "system", "content": config["system_prompt"]}, *messages]
    return {"model": config["model_id"], "messages": messages, **merged}


def message_text(content: Any) -> str:
    """A message's text, whether a string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content
                        if isinstance(part, dict) and isinstance(part.get("text"), str))
    return ""


def input_chars(messages: list[dict[str, Any]]) -> int | None:
    """Length of the last user message: the drift monitor's input-length signal."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return len(message_text(message.get("content")))
    return None
