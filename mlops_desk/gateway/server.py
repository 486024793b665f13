"""Running the gateway: in the foreground (``mlops-desk serve``) or in a background thread.

Loopback needs no token. Any other address requires a bearer token from
``$MLOPS_DESK_GATEWAY_TOKEN``; if that variable is set, loopback enforces it too.
We bind the listening socket ourselves so that port 0 works and the real port is known
before the first request. ``Limits`` (gateway.limits) bound connections and the time and
size of a request; uvicorn runs our guarded protocol (gateway.connections) to enforce them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from mlops_desk.core.errors import BadInput
from mlops_desk.core.gateway_address import DEFAULT_HOST, DEFAULT_PORT
from mlops_desk.gateway.app import create_app
from mlops_desk.gateway.connections import ConnectionGuard
from mlops_desk.gateway.limits import Limits, raise_open_file_limit

TOKEN_ENV = "MLOPS_DESK_GATEWAY_TOKEN"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_for(host: str) -> str | None:
    """The token to enforce, or None; refuses a non-loopback bind without one."""
    token = os.environ.get(TOKEN_ENV, "").strip() or None
    if token is None and not is_loopback(host):
        raise BadInput(f"serving on {host} (not loopback) requires a bearer token: "
                       f"set ${TOKEN_ENV} and give clients that token as their API key")
    return token


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise BadInput(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/v1"


def _server(db_path: Path | str, token: str | None, limits: Limits | None = None,
            **app_options: Any) -> uvicorn.Server:
    guard = ConnectionGuard(limits or Limits())
    config = uvicorn.Config(
        create_app(db_path, token=token, limits=guard.limits, **app_options), lifespan="on",
        access_log=False, log_config=None,  # leave the process's logging setup alone
        log_level="warning", timeout_graceful_shutdown=5, server_header=False,
        proxy_headers=False,  # nothing sits in front of us whose X-Forwarded-For to trust
        http=guard.protocol(),
    )
    return uvicorn.Server(config)


def serve(db_path: Path | str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
          on_ready: Callable[[str], None] | None = None, **app_options: Any) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn handles them in the main thread)."""
    token = token_for(host)
    raise_open_file_limit()  # this process is the gateway: room for more connections
    sock = bind(host, port)
    server = _server(db_path, token, **app_options)
    url = base_url(sock)
    # uvicorn re-raises the signal it stopped on once it has shut down; with these handlers
    # in place that ends the command normally (exit 0) instead of as "interrupted".
    def stop(*_: object) -> None:
        server.should_exit = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if on_ready is not None:
            threading.Thread(target=_announce, args=(server, url, on_ready), daemon=True).start()
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()


def _announce(server: uvicorn.Server, url: str, on_ready: Callable[[str], None]) -> None:
    while not server.started and not server.should_exit:
        time.sleep(0.01)
    if server.started:
        on_ready(url)


class BackgroundGateway:
    """The gateway in a thread of this process (tests, embedding): ``with ... as gw:``."""

    def __init__(self, db_path: Path | str, host: str = DEFAULT_HOST, port: int = 0, *,
                 token: str | None = None, **app_options: Any):
        self._db_path, self._host, self._port = db_path, host, port
        self._token, self._app_options = token, app_options
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.base_url = ""

    def start(self, timeout_s: float = 10.0) -> BackgroundGateway:
        self._sock = bind(self._host, self._port)
        self.base_url = base_url(self._sock)
        self._server = _server(self._db_path, self._token, **self._app_options)
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._server.serve(sockets=[self._sock]),),
            name="mlops-desk-gateway", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the gateway did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    @property
    def gateway(self):
        """The app's ``Gateway`` (its request log, router...), for tests and embedding."""
        return self._server.config.app.state.gateway if self._server else None

    def __enter__(self) -> BackgroundGateway:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
