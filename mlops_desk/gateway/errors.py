"""Errors in OpenAI's format: ``{"error": {"message", "type", "param", "code"}}``.

The openai SDK turns these into its own exception classes (NotFoundError, BadRequestError,
...), so clients handle gateway failures exactly as they handle OpenAI's.

A client sees ``message``; the request log and the log file see ``detail``, which may name
the endpoint, its base URL or its Python target. Those are the operator's business, not the
client's.
"""

from __future__ import annotations

import json

from starlette.responses import JSONResponse

from mlops_desk.core.secrets import redact


class GatewayError(Exception):
    """A failure the client should see, with its HTTP status and OpenAI error type.

    ``close`` ends the connection after the answer: for errors sent before the request body
    was read, so a client refused at its headers cannot keep streaming a body at us.
    """

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None, *,
                 detail: str | None = None, headers: dict[str, str] | None = None,
                 close: bool = False):
        message = redact(message)  # upstream texts and exception messages may quote a key
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = (
            status, message, type_, code, param)
        self.detail = redact(detail) if detail is not None else message
        self.headers = dict(headers or {})
        if close:
            self.headers["connection"] = "close"

    def response(self) -> JSONResponse:
        return error_response(self.status, self.message, self.type, self.code, self.param,
                              self.headers)


def error_body(message: str, type_: str = "invalid_request_error", code: str | None = None,
               param: str | None = None) -> dict:
    return {"error": {"message": redact(message), "type": type_, "param": param, "code": code}}


def error_response(status: int, message: str, type_: str = "invalid_request_error",
                   code: str | None = None, param: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(message, type_, code, param), status_code=status,
                        headers=headers)


def raw_error(status: int, reason: str, message: str, code: str | None = None) -> bytes:
    """A whole HTTP/1.1 error answer that closes the connection, for use below the app
    (a request whose headers never arrived has no app to answer it)."""
    body = json.dumps(error_body(message, "invalid_request_error", code)).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")
    return head.encode("ascii") + body


def bad_request(message: str, param: str | None = None) -> GatewayError:
    return GatewayError(400, message, "invalid_request_error", None, param)


def not_found(message: str) -> GatewayError:
    return GatewayError(404, message, "invalid_request_error", "model_not_found", "model")


def upstream_failure(message: str, code: str | None = None, *,
                     detail: str | None = None) -> GatewayError:
    return GatewayError(502, message, "upstream_error", code, detail=detail)


def shown(text: str, limit: int = 80) -> str:
    """A client-supplied name, quoted back safely: printable and short."""
    text = "".join(c if c.isprintable() else "?" for c in text[:limit + 1])
    return text if len(text) <= limit else text[:limit] + "…"
