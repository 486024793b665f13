"""Slow clients cannot starve others: uvicorn's HTTP protocol with a connection guard.

uvicorn bounds neither the time a client may take to send its request headers nor the
number of connections that are still sending one, so clients that send half a request and
wait keep their sockets (and our file descriptors) for as long as they like. The guard,
shared by every connection of one server and used on the event loop's thread only:

- caps open connections (``Limits.max_connections``): past the cap, the connection idle
  the longest in keep-alive is closed, or, if none is idle, the newcomer gets a 503;
- caps connections still sending their request (``max_incomplete``): past it, the one that
  has been sending the longest is dropped, so a crowd of slow clients never holds every
  slot while whole requests are served;
- gives each request ``header_timeout_s`` for its headers (then 408) and at most
  ``max_header_bytes`` of them (then 431); the app answers a body that takes longer than
  ``body_timeout_s`` with 408, and the guard closes the connection shortly after if the
  app has not read it (a GET that announced a body and never sent it);
- when the app answers before the body has arrived (a wrong token, a body too large) and
  closes, the guard shuts our side and discards the rest of the body for up to
  ``LINGER_S`` before closing: closing a socket with unread data sends a TCP reset, and a
  client that is still sending would lose the answer.
"""

from __future__ import annotations

import asyncio
import time

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mlops_desk.core.logs import get_logger
from mlops_desk.gateway.errors import raw_error
from mlops_desk.gateway.limits import Limits

log = get_logger("gateway")
BODY_GRACE_S = 1.0  # the app's own body time-out answers first, with a 408
LINGER_S = 2.0


class ConnectionGuard:
    def __init__(self, limits: Limits):
        self.limits = limits.resolved()
        # connection -> deadline; dicts keep insertion order, so the first is the oldest
        self.incomplete: dict[GuardedProtocol, float] = {}
        self.idle: dict[GuardedProtocol, None] = {}
        self._sweep: asyncio.TimerHandle | None = None
        self._tick_s = max(0.02, min(1.0, min(self.limits.header_timeout_s,
                                               self.limits.body_timeout_s) / 5))

    def protocol(self) -> type[GuardedProtocol]:
        """The protocol class for ``uvicorn.Config(http=...)``, bound to this guard."""
        return type("GuardedProtocol", (GuardedProtocol,), {"guard": self})

    # -- events from the connections -------------------------------------------

    def opened(self, conn: GuardedProtocol, n_open: int) -> bool:
        """A new connection; False if it was refused."""
        if n_open > self.limits.max_connections:
            if self.idle:
                _close(next(iter(self.idle)), "idle connection closed to make room")
            else:
                log.warning("connection refused: %d connections open (the limit)",
                            self.limits.max_connections)
                conn.reject(503, "Service Unavailable", "The gateway is serving as many "
                            "connections as it can; try again shortly.", "overloaded")
                return False
        self.request_started(conn)
        return True

    def request_started(self, conn: GuardedProtocol) -> None:
        self.idle.pop(conn, None)
        if conn in self.incomplete:
            return
        self.incomplete[conn] = time.monotonic() + self.limits.header_timeout_s
        if len(self.incomplete) > self.limits.max_incomplete:
            oldest = next(iter(self.incomplete))
            log.info("slow client dropped: %d connections were still sending a request",
                     len(self.incomplete))
            oldest.reject(408, "Request Timeout", "The request did not arrive in time: too "
                          "many clients were sending requests slowly.", "request_timeout")
        self._ensure_sweeping(conn)

    def headers_received(self, conn: GuardedProtocol) -> None:
        if conn in self.incomplete:
            self.incomplete[conn] = (time.monotonic() + self.limits.body_timeout_s
                                     + BODY_GRACE_S)

    def request_received(self, conn: GuardedProtocol) -> None:
        self.incomplete.pop(conn, None)

    def lingering(self, conn: GuardedProtocol) -> None:
        if conn in self.incomplete:
            self.incomplete[conn] = min(self.incomplete[conn], time.monotonic() + LINGER_S)

    def response_sent(self, conn: GuardedProtocol) -> None:
        if conn not in self.incomplete and conn.waiting_for_request():
            self.idle[conn] = None

    def closed(self, conn: GuardedProtocol) -> None:
        self.incomplete.pop(conn, None)
        self.idle.pop(conn, None)

    # -- deadlines -------------------------------------------------------------

    def _ensure_sweeping(self, conn: GuardedProtocol) -> None:
        if self._sweep is None:
            self._sweep = conn.loop.call_later(self._tick_s, self._expire, conn.loop)

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweep = None
        now = time.monotonic()
        for conn, deadline in list(self.incomplete.items()):
            if deadline <= now:
                if conn.headers_done:
                    _close(conn, "request body not read in time; connection closed")
                else:
                    log.info("request headers not received within %g s",
                             self.limits.header_timeout_s)
                    conn.reject(408, "Request Timeout", "The request headers did not arrive "
                                f"within {self.limits.header_timeout_s:g} s.", "request_timeout")
        if self.incomplete:
            self._sweep = loop.call_later(self._tick_s, self._expire, loop)


def _close(conn: GuardedProtocol, why: str) -> None:
    log.info("%s", why)
    conn.guard.closed(conn)
    conn.transport.close()


class GuardedProtocol(HttpToolsProtocol):
    guard: ConnectionGuard  # set on the subclass ConnectionGuard.protocol() makes

    headers_done = False
    _header_bytes = 0
    _completed = False  # a request ended during the current data_received
    _lingering = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.guard.opened(self, len(self.connections))

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.closed(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        in_headers, self._completed = not self.headers_done, False
        super().data_received(data)
        # Only a chunk that was all headers counts (one that ended the headers or a whole
        # request is mostly body, which has its own limit).
        if (in_headers and not self.headers_done and not self._completed
                and not self.transport.is_closing()):
            self._header_bytes += len(data)
            if self._header_bytes > self.guard.limits.max_header_bytes:
                self.reject(431, "Request Header Fields Too Large", "The request headers are "
                            f"larger than {self.guard.limits.max_header_bytes} bytes.",
                            "headers_too_large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.guard.request_started(self)

    def on_headers_complete(self) -> None:
        self.headers_done = True
        self.guard.headers_received(self)
        super().on_headers_complete()
        if self.cycle is not None:
            self.cycle.transport = _AnswerTransport(self)

    def on_message_complete(self) -> None:
        self.headers_done, self._header_bytes = False, 0  # what follows is the next request
        self._completed = True
        self.guard.request_received(self)
        super().on_message_complete()
        if self._lingering:
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.guard.response_sent(self)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to bytes that are not HTTP/1.1, in OpenAI's format."""
        if not self.transport.is_closing():
            self.transport.write(raw_error(400, "Bad Request", "The request is not valid "
                                           "HTTP/1.1.", "invalid_http"))
            self.transport.close()

    # -- for the guard ---------------------------------------------------------

    def close_after_answer(self) -> None:
        """The answer is out and the connection is to close (see ``_AnswerTransport``)."""
        if self.transport.is_closing():
            return
        if self.headers_done and self in self.guard.incomplete and self.transport.can_write_eof():
            self._lingering = True
            self.transport.write_eof()  # the client sees the answer end; we read on
            self.guard.lingering(self)
        else:
            self.transport.close()

    def waiting_for_request(self) -> bool:
        """Kept alive between requests (nothing received, nothing being answered)."""
        return (not self.transport.is_closing() and not self.pipeline
                and (self.cycle is None or self.cycle.response_complete))

    def reject(self, status: int, reason: str, message: str, code: str) -> None:
        """Close the connection; while its request headers are still arriving and nothing
        else is being answered on it, answer with an error first. Once the app has the
        request, it sees the client gone (and answers nobody)."""
        self.guard.closed(self)
        if self.transport.is_closing():
            return
        if not self.headers_done and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(raw_error(status, reason, message, code))
        self.transport.close()


class _AnswerTransport:
    """The transport as uvicorn's request cycle sees it: the cycle closes it after an
    answer that ends the connection, which, while the request body is still arriving,
    becomes a lingering close (``GuardedProtocol.close_after_answer``)."""

    def __init__(self, conn: GuardedProtocol):
        self._conn = conn
        self.write, self.is_closing = conn.transport.write, conn.transport.is_closing

    def close(self) -> None:
        self._conn.close_after_answer()

    def __getattr__(self, name: str):
        return getattr(self._conn.transport, name)
