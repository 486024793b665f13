"""The gateway's ASGI app driven in-process (no socket, no uvicorn), for fast fuzzing.

One event loop for the driver's whole life (the app's aiohttp session and SQLite
connection belong to it); the app's lifespan runs once around all requests. The upstream
is still the real loopback fake OpenAI server.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from mlops_desk.gateway.app import create_app


@dataclass
class AsgiReply:
    status: int
    headers: dict[str, str]
    body: bytes


class InProcessGateway:
    def __init__(self, db_path: Path, **app_options):
        self.app = create_app(db_path, log_flush_s=0.02, drift_check_s=0, **app_options)
        self._runner = asyncio.Runner()
        self._lifespan = self.app.state.gateway.lifespan(self.app)

    def __enter__(self) -> InProcessGateway:
        self._runner.run(self._lifespan.__aenter__())
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._runner.run(self._lifespan.__aexit__(None, None, None))
        finally:
            self._runner.close()

    def post(self, body: bytes, path: str = "/v1/chat/completions") -> AsgiReply:
        return self._runner.run(self._call("POST", path, body))

    def get(self, path: str) -> AsgiReply:
        return self._runner.run(self._call("GET", path, b""))

    async def _call(self, method: str, path: str, body: bytes) -> AsgiReply:
        scope = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1", "method": method, "scheme": "http", "path": path,
            "raw_path": path.encode("utf-8", "surrogateescape"), "query_string": b"",
            "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8700),
            "headers": [(b"host", b"gateway"), (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())],
        }
        sent = False
        never = asyncio.Event()
        reply = AsgiReply(0, {}, b"")

        async def receive() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await never.wait()  # the client stays until the answer is complete
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                reply.status = message["status"]
                reply.headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                                 for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                reply.body += message.get("body", b"")

        await self.app(scope, receive, send)
        return reply
