"""The ASGI app: ``POST /v1/chat/completions``, ``GET /v1/models`` and ``GET /health``.

Everything that touches SQLite (routing, the request log) runs on connections owned by
one thread each: the router on the event loop's, the request log on its writer thread's.

Every answer is a proper HTTP response, errors in OpenAI's format: a handler that fails
in a way nobody foresaw answers 500 in that format and logs the bug, and the connection
stays usable. The token is checked from the headers alone, before any of the body is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from mlops_desk.core.logs import get_logger
from mlops_desk.core.store import Store
from mlops_desk.gateway.compose import input_chars, parse_chat_request, upstream_body
from mlops_desk.gateway.errors import GatewayError, error_response
from mlops_desk.gateway.limits import Limits
from mlops_desk.gateway.request_log import Entry, RequestLog
from mlops_desk.gateway.routing import Router, Target
from mlops_desk.gateway.upstream import Outcome, Upstream

log = get_logger("gateway")
CLIENT_CLOSED = 499  # nginx's code for "the client went away before the answer"
Handler = Callable[[Request], Awaitable[Response]]


def answered(handler: Handler) -> Handler:
    """Whatever happens in ``handler``, the client gets an answer in OpenAI's format."""
    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except GatewayError as err:
            return err.response()
        except ClientDisconnect:
            log.info("client %s went away before sending its whole request", _peer(request))
            return Response(status_code=CLIENT_CLOSED)  # nobody is left to read it
        except Exception as exc:  # a bug: log it, answer, keep serving
            log.exception("gateway failed on %s %s", request.method, request.url.path)
            return error_response(500, f"internal gateway error ({type(exc).__name__})",
                                  "server_error")
    return wrapper


class Gateway:
    def __init__(self, db_path: Path | str, *, token: str | None = None,
                 log_requests: bool = True, log_flush_s: float = 0.25,
                 drift_check_s: float = 300.0, limits: Limits | None = None):
        self._db_path = db_path
        self.limits = (limits or Limits()).resolved()
        self._log_flush_s = log_flush_s
        self._token = token.encode() if token else None
        self._log_requests = log_requests
        self._drift_check_s = drift_check_s
        self.store: Store | None = None
        self.router: Router | None = None
        self.upstream: Upstream | None = None
        self.request_log: RequestLog | None = None

    # -- lifecycle (the event loop's thread) ----------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        self.store = Store(self._db_path)
        self.router = Router(self.store)
        self.upstream = Upstream(max_connections=self.limits.upstream_connections)
        if self._log_requests:
            self.request_log = RequestLog(self.store, flush_s=self._log_flush_s,
                                          drift_check_s=self._drift_check_s)
            self.request_log.start()
        try:
            yield
        finally:
            await self.upstream.aclose()
            if self.request_log is not None:
                self.request_log.stop()
            self.store.close()

    # -- endpoints -----------------------------------------------------------

    async def chat(self, request: Request) -> Response:
        started, ts = time.perf_counter(), time.time()
        self._authorise(request, body_unread=True)
        body = parse_chat_request(await self._body(request))
        try:
            target = self.router.resolve(body["model"])
        except GatewayError as err:
            if err.status >= 500:  # not the client's fault: the operator needs the detail
                log.warning("cannot serve %r: %s", body["model"], err.detail)
            raise
        outcome = Outcome()
        stream = bool(body.get("stream"))
        headers = {"x-mlops-desk-version": target.version.ref,
                   "x-mlops-desk-served-as": target.served_as}

        def finish() -> None:
            self._record(target, body, outcome, started, ts, stream)

        try:
            forwarded = upstream_body(target, body)
            if stream:
                events = await self.upstream.open_stream(target, forwarded, outcome)
                return StreamingResponse(_finally(events, outcome, finish),
                                         media_type="text/event-stream", headers=headers)
            content = await self.upstream.complete(target, forwarded, outcome)
        except GatewayError as err:
            outcome.fail(err)
            finish()
            return err.response()
        except Exception as exc:  # a bug: answer in OpenAI's format, keep serving
            log.exception("gateway failed on a request for %s", target.served_as)
            outcome.fail(GatewayError(500, f"internal gateway error ({type(exc).__name__})",
                                      "server_error"))
            finish()
            return error_response(500, outcome.error or "internal error", "server_error")
        finish()
        return Response(content, media_type="application/json", headers=headers)

    async def models(self, request: Request) -> Response:
        self._authorise(request)
        return JSONResponse({"object": "list",
                             "data": [_model_object(n) for n in self.router.served_names()]})

    async def model(self, request: Request) -> Response:
        self._authorise(request)
        name = request.path_params["name"]
        self.router.resolve(name)
        return JSONResponse(_model_object(name))

    async def health(self, _request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    # -- helpers -------------------------------------------------------------

    def _authorise(self, request: Request, *, body_unread: bool = False) -> None:
        if self._token is None:
            return
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                value.strip().encode("utf-8", "surrogateescape"), self._token):
            raise GatewayError(401, "Missing or wrong bearer token: send the token from "
                               "$MLOPS_DESK_GATEWAY_TOKEN as the API key.",
                               "invalid_request_error", "invalid_api_key", close=body_unread)

    async def _body(self, request: Request) -> bytes:
        """The request body, within the size and time limits (a 413 or 408 otherwise)."""
        limit = self.limits.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            raise GatewayError(413, f"The request body is larger than {limit} bytes.",
                               close=True)
        chunks, size = [], 0
        try:
            async with asyncio.timeout(self.limits.body_timeout_s):
                async for chunk in request.stream():  # chunked bodies have no length
                    size += len(chunk)
                    if size > limit:
                        raise GatewayError(413, f"The request body is larger than {limit} "
                                           "bytes.", close=True)
                    chunks.append(chunk)
        except TimeoutError:
            raise GatewayError(408, "The request body did not arrive within "
                               f"{self.limits.body_timeout_s:g} s.", code="request_timeout",
                               close=True) from None
        return b"".join(chunks)

    def _record(self, target: Target, body: dict, outcome: Outcome, started: float, ts: float,
                stream: bool) -> None:
        if self.request_log is None:
            return
        config = target.version.config
        self.request_log.record(Entry(
            ts=ts, model=target.model, model_id=target.model_id,
            environment=target.environment, version_id=target.version.id,
            latency_ms=(time.perf_counter() - started) * 1000, status=outcome.status,
            prompt_tokens=outcome.prompt_tokens, completion_tokens=outcome.completion_tokens,
            price=target.endpoint.price_for(config["model_id"]), error=outcome.error,
            input_chars=input_chars(body["messages"]),
            text=outcome.text if outcome.status == 200 else None, parser=config["parser"],
            labels=target.labels, stream=stream,
        ))


async def _finally(events: AsyncIterator[bytes], outcome: Outcome,
                   finish) -> AsyncIterator[bytes]:
    """Relay a stream and log it once it ends, however it ends."""
    completed = False
    try:
        async for event in events:
            yield event
        completed = True
    finally:
        if not completed and outcome.status == 200:
            outcome.status, outcome.error = CLIENT_CLOSED, "the client closed the stream"
        with contextlib.suppress(Exception):
            await events.aclose()
        finish()


def _peer(request: Request) -> str:
    return f"{request.client.host}:{request.client.port}" if request.client else "(unknown)"


def _model_object(name: str) -> dict:
    return {"id": name, "object": "model", "created": 0, "owned_by": "mlops-desk"}


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, str(exc.detail), "invalid_request_error")


def create_app(db_path: Path | str, *, token: str | None = None, log_requests: bool = True,
               log_flush_s: float = 0.25, drift_check_s: float = 300.0,
               limits: Limits | None = None) -> Starlette:
    gateway = Gateway(db_path, token=token, log_requests=log_requests, log_flush_s=log_flush_s,
                      drift_check_s=drift_check_s, limits=limits)
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", answered(gateway.chat), methods=["POST"]),
            Route("/v1/models", answered(gateway.models), methods=["GET"]),
            Route("/v1/models/{name:path}", answered(gateway.model), methods=["GET"]),
            Route("/health", answered(gateway.health), methods=["GET"]),
        ],
        exception_handlers={HTTPException: _http_error},
        lifespan=gateway.lifespan,
    )
    app.state.gateway = gateway
    return app
