"""Errors in OpenAI's format: ``{"error": {"message", "type", "param", "code"}}``.

The openai SDK turns these into its own exception classes (NotFoundError, BadRequestError,
...), so clients handle gateway failures exactly as they handle OpenAI's.
"""

from __future__ import annotations

from starlette.responses import JSONResponse

from mlops_desk.core.secrets import redact


class GatewayError(Exception):
    """A failure the client should see, with its HTTP status and OpenAI error type."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None):
        message = redact(message)  # upstream texts and exception messages may quote a key
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = (
            status, message, type_, code, param)

    def response(self) -> JSONResponse:
        return error_response(self.status, self.message, self.type, self.code, self.param)


def error_response(status: int, message: str, type_: str = "invalid_request_error",
                   code: str | None = None, param: str | None = None) -> JSONResponse:
    body = {"error": {"message": redact(message), "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status)


def bad_request(message: str, param: str | None = None) -> GatewayError:
    return GatewayError(400, message, "invalid_request_error", None, param)


def not_found(message: str) -> GatewayError:
    return GatewayError(404, message, "invalid_request_error", "model_not_found", "model")


def upstream_failure(message: str, code: str | None = None) -> GatewayError:
    return GatewayError(502, message, "upstream_error", code)
