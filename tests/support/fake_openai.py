"""A loopback OpenAI-compatible server with fault injection, for tests and benchmarks.

Pure stdlib: an asyncio HTTP/1.1 server (keep-alive, Content-Length request bodies) running
its own event loop in a daemon thread, so synchronous tests can drive it directly::

    with FakeOpenAIServer(latency_s=0.05) as server:
        server.faults.add("429", count=2, retry_after_ms=10)
        ...  # point a client at server.base_url

Benchmarks run it as a separate process so its CPU does not compete with the client's GIL::

    python -m tests.support.fake_openai --port 0 --latency-ms 50
    # prints "READY http://127.0.0.1:PORT/v1", serves until SIGTERM/SIGINT or stdin closes

or, from Python, ``with spawn_fake_openai(latency_ms=50) as base_url: ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from tests.support.fake_batches import FakeBatchAPI

Responder = Callable[[dict], str | dict]

FAULT_KINDS = frozenset(
    {"429", "insufficient_quota", "500", "503", "401", "slow", "malformed", "drop"}
)

# kind -> (status, message, type, code), following the shapes OpenAI actually returns.
_ERRORS: dict[str, tuple[int, str, str, str | None]] = {
    "429": (
        429,
        "Rate limit reached for requests. Please try again later.",
        "rate_limit_exceeded",
        "rate_limit_exceeded",
    ),
    "insufficient_quota": (
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        "insufficient_quota",
    ),
    "500": (
        500,
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    ),
    "503": (
        503,
        "The engine is currently overloaded, please try again later.",
        "server_error",
        None,
    ),
    "401": (401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
}

_ANSWER_LINE = re.compile(r"^[ \t]*ANSWER:[ \t]*(.*?)[ \t]*$", re.MULTILINE)
_REPO_ROOT = Path(__file__).resolve().parents[2]


# --- fault plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    kind: str
    opts: dict[str, Any] = field(default_factory=dict)


class FaultPlan:
    """Which chat requests fail and how. Safe to change from any thread while serving.

    Scripted faults (``add``) are used first, in order; otherwise each ``set_rate`` entry
    is drawn and the first hit applies.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[list] = deque()  # [Fault, remaining uses]
        self._rates: dict[str, tuple[float, random.Random, dict[str, Any]]] = {}
        self._injected: Counter[str] = Counter()

    def add(self, kind: str, count: int = 1, **opts: Any) -> None:
        """Apply ``kind`` to the next ``count`` chat requests (after any already queued)."""
        _check_kind(kind)
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._queue.append([Fault(kind, opts), count])

    def set_rate(self, kind: str, probability: float, seed: int = 0, **opts: Any) -> None:
        """Apply ``kind`` to each chat request with ``probability`` (0 removes the rate)."""
        _check_kind(kind)
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        with self._lock:
            if probability == 0.0:
                self._rates.pop(kind, None)
            else:
                self._rates[kind] = (probability, random.Random(seed), opts)

    def clear(self) -> None:
        """Drop every scripted fault and rate, and zero the ``injected`` counts."""
        with self._lock:
            self._queue.clear()
            self._rates.clear()
            self._injected.clear()

    @property
    def pending(self) -> int:
        """Scripted fault uses not yet consumed."""
        with self._lock:
            return sum(remaining for _, remaining in self._queue)

    @property
    def injected(self) -> dict[str, int]:
        """How many times each kind has been applied since the last ``clear``."""
        with self._lock:
            return dict(self._injected)

    def take(self) -> Fault | None:
        """The fault for the next chat request, if any (called by the server)."""
        with self._lock:
            # Every rate is drawn on every request, so the number of hits over N requests
            # depends only on the seeds, not on the order concurrent requests arrive in.
            hits = [
                Fault(kind, opts)
                for kind, (probability, rng, opts) in self._rates.items()
                if rng.random() < probability
            ]
            if self._queue:
                entry = self._queue[0]
                entry[1] -= 1
                if entry[1] == 0:
                    self._queue.popleft()
                hits.insert(0, entry[0])
            if not hits:
                return None
            self._injected[hits[0].kind] += 1
            return hits[0]


def _check_kind(kind: str) -> None:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")


# --- default responder -----------------------------------------------------------------------


def message_text(content: Any) -> str:
    """Text of a message's content, whether a string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"] for part in content if isinstance(part, dict) and "text" in part
        )
    return ""


def default_responder(request: dict) -> str:
    """Reply with the last ``ANSWER: xyz`` line of the last user message, else ``"ok"``."""
    user_texts = [
        message_text(m.get("content")) for m in request["messages"] if m.get("role") == "user"
    ]
    answers = _ANSWER_LINE.findall(user_texts[-1]) if user_texts else []
    return answers[-1] if answers else "ok"


def count_prompt_words(request: dict) -> int:
    """Default prompt_tokens: whitespace-separated words over all message contents."""
    return sum(len(message_text(m.get("content")).split()) for m in request["messages"])


# --- HTTP plumbing ---------------------------------------------------------------------------


@dataclass
class _Reply:
    status: int
    body: bytes | list[bytes]  # a list is sent chunked, one chunk per item (SSE events)
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def _json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, json.dumps(payload).encode(), headers or {})


def _error_reply(
    status: int, message: str, type_: str, code: str | None, headers: dict[str, str] | None = None
) -> _Reply:
    error = {"message": message, "type": type_, "param": None, "code": code}
    return _json_reply(status, {"error": error}, headers)


def _encode(reply: _Reply, keep_alive: bool) -> bytes:
    lines = [
        f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}",
        f"content-type: {reply.content_type}",
        f"connection: {'keep-alive' if keep_alive else 'close'}",
        *(f"{name}: {value}" for name, value in reply.headers.items()),
    ]
    if isinstance(reply.body, bytes):
        lines.append(f"content-length: {len(reply.body)}")
        body = reply.body
    else:
        lines.append("transfer-encoding: chunked")
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in reply.body)
        body += b"0\r\n\r\n"
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _split(text: str, pieces: int) -> list[str]:
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)]


# --- the server ------------------------------------------------------------------------------


class FakeOpenAIServer:
    """OpenAI-compatible ``/v1/models`` and ``/v1/chat/completions`` on loopback, and the
    Batch API's ``/v1/files`` and ``/v1/batches`` (``batch_api``, see ``fake_batches``).

    ``requests`` holds every parsed chat request body (including ones answered with a fault
    or a 401), and ``request_headers`` their lower-cased headers, in arrival order.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_s: float = 0.0,
        models: tuple[str, ...] = ("fake-model",),
        api_key: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.latency_s = latency_s  # read per request, so it can change while serving
        self.models = tuple(models)
        self.api_key = api_key
        self.responder: Responder = default_responder
        self.faults = FaultPlan()
        self.batch_api = FakeBatchAPI(self._batch_completion)  # /v1/files and /v1/batches
        self.requests: list[dict] = []
        self.request_headers: list[dict[str, str]] = []
        self.connection_count = 0  # TCP connections accepted; shows whether keep-alive works
        self.base_url = ""
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._startup_error: BaseException | None = None
        self._handlers: set[asyncio.Task] = set()

    # lifecycle

    def start(self) -> FakeOpenAIServer:
        if self._thread is not None:
            raise RuntimeError("server already started")
        ready = threading.Event()
        self._startup_error = None
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(ready),), name="fake-openai", daemon=True
        )
        self._thread.start()
        ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise self._startup_error
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join()
        self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # inspection

    @property
    def request_count(self) -> int:
        """Chat requests received (every attempt, whatever the answer)."""
        with self._lock:
            return len(self.requests)

    def reset(self) -> None:
        """Forget recorded requests and the fault plan (``latency_s`` is left alone)."""
        with self._lock:
            self.requests.clear()
            self.request_headers.clear()
        self.faults.clear()

    # event-loop side

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            server = await asyncio.start_server(self._handle, self.host, self.port)
        except OSError as exc:
            self._startup_error = exc
            ready.set()
            return
        self.port = server.sockets[0].getsockname()[1]
        self.base_url = f"http://{self.host}:{self.port}/v1"
        ready.set()
        async with server:
            await self._stopping.wait()
            server.close()
            # Idle keep-alive connections and sleeping "slow" requests would otherwise
            # hold the loop (and the thread) open.
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._handlers.add(task)
        self.connection_count += 1
        try:
            while await self._serve_one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away or sent garbage; there is no one left to answer
        except asyncio.CancelledError:
            # stop() cancelled us. Ending normally matters: on Python 3.11 the stream
            # callback calls task.exception() on a cancelled handler and logs an error.
            pass
        finally:
            self._handlers.discard(task)
            writer.close()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; return whether to keep the connection open."""
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name:
                headers[name.strip().lower()] = value.strip()
        try:
            method, target, version = head[0].split(" ", 2)
            length = int(headers.get("content-length") or 0)
        except ValueError:
            reply = _error_reply(400, "Malformed HTTP request", "invalid_request_error", None)
            writer.write(_encode(reply, keep_alive=False))
            await writer.drain()
            return False
        body = await reader.readexactly(length) if length else b""

        reply = await self._dispatch(method, target.partition("?")[0], headers, body)
        if reply is None:  # the "drop" fault: hang up without a byte of response
            return False
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" and (version == "HTTP/1.1" or connection == "keep-alive")
        writer.write(_encode(reply, keep_alive))
        await writer.drain()
        return keep_alive

    async def _dispatch(self, method: str, path: str, headers: dict, body: bytes) -> _Reply | None:
        if method == "POST" and path == "/v1/chat/completions":
            return await self._chat(headers, body)
        if denied := self._check_auth(headers):
            return denied
        if path.startswith(("/v1/files", "/v1/batches")):
            answer = self.batch_api.handle(method, path, headers, body)
            if answer is not None:
                status, payload = answer
                if isinstance(payload, bytes):
                    return _Reply(status, payload, {}, "application/octet-stream")
                return _json_reply(status, payload)
        if method == "GET" and path == "/v1/models":
            return _json_reply(
                200, {"object": "list", "data": [self._model(m) for m in self.models]}
            )
        model_id = path.removeprefix("/v1/models/")
        if method == "GET" and model_id != path and model_id in self.models:
            return _json_reply(200, self._model(model_id))
        return _error_reply(
            404, f"Unknown request URL: {method} {path}.", "invalid_request_error", "unknown_url"
        )

    def _check_auth(self, headers: dict) -> _Reply | None:
        if self.api_key is None or headers.get("authorization") == f"Bearer {self.api_key}":
            return None
        return _error_reply(*_ERRORS["401"])

    @staticmethod
    def _model(model_id: str) -> dict:
        return {"id": model_id, "object": "model", "created": 1700000000, "owned_by": "fake-openai"}

    async def _chat(self, headers: dict, body: bytes) -> _Reply | None:
        try:
            request = json.loads(body)
            messages = request["messages"]
            if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
                raise TypeError("messages must be a list of objects")
        except (ValueError, KeyError, TypeError) as exc:
            return _error_reply(400, f"Invalid chat request: {exc}", "invalid_request_error", None)
        with self._lock:
            self.requests.append(request)
            self.request_headers.append(headers)
        if denied := self._check_auth(headers):
            return denied

        fault = self.faults.take()
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        if fault is None:
            return self._completion(request)
        if fault.kind == "slow":
            await asyncio.sleep(fault.opts.get("delay_s", 1.0))
            return self._completion(request)
        if fault.kind == "drop":
            return None
        if fault.kind == "malformed":
            if request.get("stream"):
                return _Reply(
                    200,
                    [b'data: {"id": "chatcmpl-broken", "choices": [\n\n'],
                    {},
                    "text/event-stream",
                )
            return _Reply(200, b'{"id": "chatcmpl-broken", "choices": [')
        extra = {}
        if "retry_after_ms" in fault.opts:
            extra["retry-after-ms"] = str(fault.opts["retry_after_ms"])
        if "retry_after" in fault.opts:
            extra["Retry-After"] = str(fault.opts["retry_after"])
        return _error_reply(*_ERRORS[fault.kind], headers=extra)

    def _batch_completion(self, request: dict) -> tuple[int, dict]:
        """One batch line answered as a chat request would be: (status_code, body)."""
        reply = self._completion(request)
        return reply.status, json.loads(reply.body)

    def _completion(self, request: dict) -> _Reply:
        try:
            out = self.responder(request)
        except Exception as exc:  # surface responder bugs as a readable 500, not a hang-up
            return _error_reply(500, f"fake responder failed: {exc!r}", "server_error", None)
        if isinstance(out, str):
            out = {"content": out}
        content = str(out["content"])
        prompt_tokens = out.get("prompt_tokens", count_prompt_words(request))
        completion_tokens = out.get("completion_tokens", len(content.split()))
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        finish_reason = out.get("finish_reason", "stop")
        number = next(self._ids)
        base = {
            "id": f"chatcmpl-fake{number}",
            "created": int(time.time()),
            "model": request.get("model", self.models[0]),
            "system_fingerprint": None,
        }
        headers = {"x-request-id": f"req_fake{number}"}
        if not request.get("stream"):
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
            payload = {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
            return _json_reply(200, payload, headers)

        include_usage = bool((request.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict, finish: str | None = None) -> dict:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            event = {**base, "object": "chat.completion.chunk", "choices": [choice]}
            if include_usage:  # as OpenAI does: null on every chunk but the usage one
                event["usage"] = None
            return event

        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": piece}) for piece in _split(content, 3)]
        events.append(chunk({}, finish_reason))
        if include_usage:
            events.append(
                {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}
            )
        chunks = [b"data: %s\n\n" % json.dumps(event).encode() for event in events]
        chunks.append(b"data: [DONE]\n\n")
        return _Reply(200, chunks, headers, "text/event-stream")


# --- subprocess mode -------------------------------------------------------------------------


@contextlib.contextmanager
def spawn_fake_openai(*, latency_ms: float = 0.0, args: tuple[str, ...] = ()) -> Iterator[str]:
    """Run the fake in a child process (its own GIL) and yield its base_url."""
    command = [sys.executable, "-m", "tests.support.fake_openai", "--latency-ms", str(latency_ms)]
    with subprocess.Popen(
        [*command, *args], cwd=_REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            line = process.stdout.readline()
            if not line.startswith("READY "):
                raise RuntimeError(f"fake OpenAI server did not start: {line!r}")
            yield line.split()[1]
        finally:
            process.terminate()


def _stdin_can_close() -> bool:
    # Only a pipe, socket or terminal signals "parent went away" by closing; /dev/null or a
    # file would read EOF at once and stop the server before it served anything.
    try:
        mode = os.fstat(0).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(0)


def _wait_for_eof(done: threading.Event) -> None:
    with contextlib.suppress(OSError):
        while os.read(0, 65536):
            pass
    done.set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.fake_openai", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--api-key")
    parser.add_argument("--model", action="append", dest="models", help="repeatable")
    parser.add_argument(
        "--fault-rate", action="append", default=[], metavar="KIND=P", help="e.g. 429=0.05"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for --fault-rate draws")
    args = parser.parse_args(argv)

    server = FakeOpenAIServer(
        host=args.host,
        port=args.port,
        latency_s=args.latency_ms / 1000,
        models=tuple(args.models or ("fake-model",)),
        api_key=args.api_key,
    )
    for spec in args.fault_rate:
        kind, _, probability = spec.partition("=")
        try:
            server.faults.set_rate(kind, float(probability), seed=args.seed)
        except ValueError as exc:
            parser.error(f"--fault-rate {spec}: {exc}")

    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    if _stdin_can_close():
        threading.Thread(target=_wait_for_eof, args=(done,), daemon=True).start()
    with server:
        print(f"READY {server.base_url}", flush=True)
        while not done.wait(0.5):  # a timeout keeps the main thread responsive to signals
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
