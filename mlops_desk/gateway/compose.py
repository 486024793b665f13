"""Check a client's chat request and turn it into the request the version sends upstream.

The version's system prompt goes first (the client's own messages follow unchanged), and
its parameters win over the client's except for the names listed in the version's
``allow_client_override`` param (``"*"`` allows all). Parameters the version does not set
pass through from the client (``user``, ``seed``, ``tools``, ...).
"""

from __future__ import annotations

import json
import math
from typing import Any

from mlops_desk.gateway.errors import bad_request
from mlops_desk.gateway.routing import Target

_CLIENT_ONLY = ("model", "messages")
# Real requests nest a handful of levels (a tool's JSON schema a dozen or two). The bound
# keeps every later walk over the body (re-encoding it upstream, the request log) far from
# Python's recursion limit, which a hostile body would otherwise hit as a 500.
MAX_JSON_DEPTH = 64


def load_json(raw: bytes) -> Any:
    """Parse a client's JSON safely: bounded nesting, finite numbers only, or a 400."""
    try:
        body = _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
    except RecursionError:
        raise _too_deep() from None
    except (ValueError, UnicodeDecodeError):  # also NaN/Infinity and >4300-digit integers
        raise bad_request("The request body is not valid JSON.") from None
    # Counting brackets is C-speed; only a body that could be too deep is walked.
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and _depth(body) > MAX_JSON_DEPTH:
        raise _too_deep()
    return body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: upstream JSON has no infinity
        raise ValueError(f"{text} is out of range")
    return value


# One decoder, built once (json.loads with hooks would build one per request).
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite_float)


def _too_deep() -> Exception:
    return bad_request(f"The request body nests JSON more than {MAX_JSON_DEPTH} levels deep.")


def _depth(value: Any) -> int:
    """Deepest nesting of arrays and objects, walked without recursion."""
    if not isinstance(value, (dict, list)):
        return 0
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > MAX_JSON_DEPTH:
                return deepest
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return deepest


def parse_chat_request(raw: bytes) -> dict[str, Any]:
    """The JSON body, checked just enough to route it and build the upstream request."""
    body = load_json(raw)
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
    if body.get("stream_options") is not None and not isinstance(body["stream_options"], dict):
        raise bad_request("'stream_options' must be an object.", "stream_options")
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
