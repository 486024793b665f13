"""Calling a version's endpoint: OpenAI-compatible servers over HTTP, or local Python models.

OpenAI-kind answers are relayed byte for byte (the gateway adds no re-serialisation cost);
they are parsed only to learn the reply text and token usage for the request log. Every
failure becomes a 502 carrying the upstream's own reason, with keys redacted, except an
upstream 429, which is passed on as a 429 with its ``Retry-After``: OpenAI clients wait
and retry a 429. What the client reads names the model it asked for, never the endpoint,
its base URL or its Python target; those go to the request log and the log file.

The HTTP client is aiohttp: its C parser and cheap connection pool cost ~0.12 ms of CPU
per call where httpx (pure Python, and probing every idle pooled socket on each request)
costs ~0.75 ms, which decides the gateway's throughput on a small machine.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
import urllib.request
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from mlops_desk.core.errors import MlopsError
from mlops_desk.core.inference import call_python_target
from mlops_desk.gateway.errors import GatewayError, upstream_failure
from mlops_desk.gateway.routing import MAX_VERSION, Target

_RETRY_HEADERS = ("retry-after", "retry-after-ms")


@dataclass
class Outcome:
    """What the request log needs to know about one upstream call."""

    status: int = 200
    text_parts: list[str] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error: str | None = None

    @property
    def text(self) -> str | None:
        return "".join(self.text_parts) if self.text_parts else None

    def take_usage(self, usage: Any) -> None:
        if isinstance(usage, dict):
            self.prompt_tokens = token_count(usage.get("prompt_tokens"))
            self.completion_tokens = token_count(usage.get("completion_tokens"))

    def fail(self, err: GatewayError) -> None:
        self.status, self.error = err.status, err.detail


def token_count(value: Any) -> int | None:
    """A usage figure fit for the request log (an upstream may send anything)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_VERSION:
        return value
    return None


class Upstream:
    """One pooled HTTP client for all endpoints, and a small pool for Python models."""

    def __init__(self, *, max_connections: int = 256, python_workers: int = 8):
        # Created inside the running event loop (the app's lifespan), as aiohttp requires.
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_connections),
            trust_env=False,  # proxies are looked up once per URL (_proxy_for), not per call
        )
        self._pool = ThreadPoolExecutor(python_workers, thread_name_prefix="gateway-python")

    async def aclose(self) -> None:
        await self._http.close()
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- non-streaming -------------------------------------------------------

    async def complete(self, target: Target, body: dict[str, Any],
                       outcome: Outcome) -> bytes:
        if target.endpoint.kind == "python":
            return json.dumps(await self._python(target, body, outcome)).encode()
        try:
            async with self._http.post(
                    _url(target), data=json.dumps(body).encode(), headers=_headers(target),
                    proxy=_proxy_for(_url(target)),
                    timeout=aiohttp.ClientTimeout(total=target.endpoint.timeout_s)) as response:
                status, content = response.status, await response.read()
            headers = response.headers
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _transport_failure(target, exc) from None
        if status != 200:
            raise _status_failure(target, status, content, headers)
        try:
            data = json.loads(content)
            outcome.text_parts.append(data["choices"][0]["message"].get("content") or "")
            outcome.take_usage(data.get("usage"))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError):
            raise _malformed(target, "chat completion") from None
        data["model"] = target.version.ref  # the version that served, not the upstream's id
        return json.dumps(data).encode()

    # -- streaming -----------------------------------------------------------

    async def open_stream(self, target: Target, body: dict[str, Any],
                          outcome: Outcome) -> AsyncIterator[bytes]:
        """Start the upstream stream (errors before the first byte raise GatewayError)."""
        want_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        if target.endpoint.kind == "python":
            completion = await self._python(target, {**body, "stream": False}, outcome)
            return _python_chunks(completion, want_usage)
        # Ask for usage always, for the log; the extra chunk is dropped if the client did not.
        body = {**body, "stream_options": {**(body.get("stream_options") or {}),
                                           "include_usage": True}}
        # A stream may run long: the timeout bounds the wait for each piece, not the total.
        timeout = aiohttp.ClientTimeout(sock_connect=target.endpoint.timeout_s,
                                        sock_read=target.endpoint.timeout_s)
        try:
            response = await self._http.post(_url(target), data=json.dumps(body).encode(),
                                             headers=_headers(target), timeout=timeout,
                                             proxy=_proxy_for(_url(target)))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _transport_failure(target, exc) from None
        if response.status != 200:
            try:
                content = await response.read()
            except (aiohttp.ClientError, TimeoutError):
                content = b""
            finally:
                response.release()
            raise _status_failure(target, response.status, content, response.headers)
        return _relay(target, response, outcome, want_usage)

    # -- python models -------------------------------------------------------

    async def _python(self, target: Target, body: dict[str, Any],
                      outcome: Outcome) -> dict[str, Any]:
        params = {k: v for k, v in body.items() if k not in ("model", "messages", "stream",
                                                            "stream_options")}
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(self._pool, call_python_target, target.endpoint.target or "",
                                    body["messages"], params)
        served, where = target.served_as, target.endpoint.target
        try:
            completion = await asyncio.wait_for(call, target.endpoint.timeout_s)
        except TimeoutError:
            raise _timeout(target) from None
        except MlopsError as exc:  # cannot import it, or it answered something unusable
            raise upstream_failure(f"The model '{served}' could not be served: its Python "
                                   "model could not be called.", detail=str(exc)) from None
        except Exception as exc:  # the user's model raised: report it, keep serving
            raised = f"{type(exc).__name__}: {exc}"
            raise upstream_failure(f"The model '{served}' failed: it raised {raised}",
                                   detail=f"{where} raised {raised}") from None
        outcome.text_parts.append(completion.text)
        outcome.prompt_tokens = token_count(completion.prompt_tokens)
        outcome.completion_tokens = token_count(completion.completion_tokens)
        usage = None
        if outcome.prompt_tokens is not None or outcome.completion_tokens is not None:
            usage = {"prompt_tokens": outcome.prompt_tokens or 0,
                     "completion_tokens": outcome.completion_tokens or 0,
                     "total_tokens": (outcome.prompt_tokens or 0)
                     + (outcome.completion_tokens or 0)}
        return {
            "id": f"chatcmpl-mlops{time.time_ns()}", "object": "chat.completion",
            "created": int(time.time()), "model": target.version.ref,
            "choices": [{"index": 0, "message": {"role": "assistant",
                                                 "content": completion.text},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": usage,
        }


def _url(target: Target) -> str:
    return (target.endpoint.base_url or "").rstrip("/") + "/chat/completions"


@functools.lru_cache(maxsize=256)
def _proxy_for(url: str) -> str | None:
    """The proxy HTTPS_PROXY / HTTP_PROXY / NO_PROXY name for a URL, as the run engine's
    openai client would use. Cached: aiohttp's own trust_env re-reads the environment on
    every call, which costs a third of the gateway's CPU per request."""
    parts = urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return urllib.request.getproxies().get(parts.scheme)


def _headers(target: Target) -> dict[str, str]:
    return {"authorization": f"Bearer {target.api_key}", "content-type": "application/json"}


def _timeout(target: Target) -> GatewayError:
    after = f"{target.endpoint.timeout_s:g} s"
    where = target.endpoint.target or target.endpoint.name
    return upstream_failure(f"The model '{target.served_as}' did not answer within {after}.",
                            "timeout", detail=f"endpoint {where} did not answer within {after}")


def _malformed(target: Target, what: str) -> GatewayError:
    return upstream_failure(f"The upstream of '{target.served_as}' sent a malformed {what}.",
                            detail=f"endpoint {target.endpoint.name} sent a malformed {what}")


def _transport_failure(target: Target, exc: Exception) -> GatewayError:
    if isinstance(exc, TimeoutError):
        return _timeout(target)
    # aiohttp's texts name the host and port; only the log may see them.
    reason = str(exc) or type(exc).__name__
    return upstream_failure(
        f"The model '{target.served_as}' cannot be served now: its upstream cannot be "
        "reached.", "upstream_unreachable",
        detail=f"cannot reach endpoint {target.endpoint.name} at {target.endpoint.base_url}: "
               f"{reason}")


def _status_failure(target: Target, status: int, content: bytes,
                    headers: Any = None) -> GatewayError:
    message, code, type_ = f"HTTP {status}", None, None
    try:
        error = json.loads(content).get("error")
        if isinstance(error, dict):
            message = error.get("message") or message
            code = error.get("code") or error.get("type")
            type_ = error.get("type")
        elif isinstance(error, str):
            message = error
    except (ValueError, AttributeError, RecursionError):
        text = content.decode("utf-8", "replace").strip()
        message = text[:300] or message
    message, code = str(message)[:1000], str(code) if code is not None else None
    detail = f"endpoint {target.endpoint.name} answered {status}: {message}"
    if status == 429:  # the client should wait and retry, as it would with OpenAI
        retry = {name: value for name in _RETRY_HEADERS
                 if _plain(value := (headers or {}).get(name, ""))}
        return GatewayError(429, f"The upstream of '{target.served_as}' is rate limited: "
                            f"{message}", type_ if isinstance(type_, str) else "requests",
                            code or "rate_limit_exceeded", detail=detail, headers=retry)
    return upstream_failure(f"The upstream of '{target.served_as}' answered {status}: "
                            f"{message}", code, detail=detail)


def _plain(value: str) -> bool:
    """A header value safe to pass on (a seconds count or an HTTP date)."""
    return 0 < len(value) <= 64 and value.isascii() and value.isprintable()


async def _relay(target: Target, response: aiohttp.ClientResponse, outcome: Outcome,
                 want_usage: bool) -> AsyncIterator[bytes]:
    """Pass SSE events through as they arrive, noting text and usage on the way."""
    buffer = b""
    try:
        async for chunk in response.content.iter_any():
            buffer = (buffer + chunk).replace(b"\r\n", b"\n")
            while (end := buffer.find(b"\n\n")) >= 0:
                event, buffer = buffer[:end], buffer[end + 2:]
                relayed = _relayed_event(target, event, outcome, want_usage)
                if relayed is not None:
                    yield relayed
                if outcome.error:
                    return
    except (aiohttp.ClientError, TimeoutError) as exc:
        yield _error_event(outcome, _transport_failure(target, exc))
    finally:
        response.release()


def _error_event(outcome: Outcome, err: GatewayError) -> bytes:
    # Headers are gone already; the openai SDK raises on an SSE event with an "error".
    outcome.fail(err)
    payload = {"error": {"message": err.message, "type": err.type, "code": err.code}}
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _relayed_event(target: Target, event: bytes, outcome: Outcome,
                   want_usage: bool) -> bytes | None:
    """Note what an event says; return what the client gets (None: nothing)."""
    data = b"\n".join(line[5:].lstrip() for line in event.split(b"\n")
                      if line.startswith(b"data:"))
    if not data or data == b"[DONE]":
        return event + b"\n\n"
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        return _error_event(outcome, _malformed(target, "stream event"))
    if not isinstance(obj, dict):
        return event + b"\n\n"
    if isinstance(error := obj.get("error"), dict):
        reason = str(error.get("message", "error"))[:1000]
        code = error.get("code") if isinstance(error.get("code"), str) else None
        return _error_event(outcome, upstream_failure(
            f"The upstream of '{target.served_as}' failed mid-stream: {reason}", code,
            detail=f"endpoint {target.endpoint.name} failed mid-stream: {reason}"))
    choices = obj.get("choices") if isinstance(obj.get("choices"), list) else []
    for choice in choices:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if isinstance(delta, dict) and isinstance(delta.get("content"), str):
            outcome.text_parts.append(delta["content"])
    if obj.get("usage"):
        outcome.take_usage(obj["usage"])
        if not (want_usage or choices):
            return None  # the usage chunk we asked for on the client's behalf
    if "model" in obj:  # the version that served, not the upstream's model id
        obj["model"] = target.version.ref
        return b"data: " + json.dumps(obj).encode() + b"\n\n"
    return event + b"\n\n"


async def _python_chunks(completion: dict[str, Any], want_usage: bool) -> AsyncIterator[bytes]:
    base = {"id": completion["id"], "object": "chat.completion.chunk",
            "created": completion["created"], "model": completion["model"]}
    text = completion["choices"][0]["message"]["content"]
    deltas = [({"role": "assistant", "content": ""}, None), ({"content": text}, None), ({}, "stop")]
    for delta, finish in deltas:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        yield b"data: " + json.dumps({**base, "choices": [choice]}).encode() + b"\n\n"
    if want_usage and completion.get("usage"):
        usage_chunk = {**base, "choices": [], "usage": completion["usage"]}
        yield b"data: " + json.dumps(usage_chunk).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"
