"""``endpoint test``: is the endpoint reachable, how fast, which model ids does it serve."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field

from mlops_desk.core import secrets
from mlops_desk.core.errors import MlopsError
from mlops_desk.core.registry import Endpoint

CHECK_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class CheckResult:
    endpoint: str
    reachable: bool
    latency_ms: float | None
    model_ids: list[str] = field(default_factory=list)
    error: str | None = None


def check_endpoint(endpoint: Endpoint) -> CheckResult:
    if endpoint.kind == "python":
        return _check_python(endpoint)
    return _check_openai(endpoint)


def _check_openai(endpoint: Endpoint) -> CheckResult:
    import openai  # lazily: ~0.5 s of imports the GUI should not pay at start-up

    try:
        key = secrets.resolve(endpoint.name, endpoint.api_key_ref)
    except MlopsError as exc:
        return CheckResult(endpoint.name, False, None, error=str(exc))
    started = time.perf_counter()
    try:
        with openai.OpenAI(
            api_key=key, base_url=endpoint.base_url, max_retries=0,
            timeout=min(endpoint.timeout_s, CHECK_TIMEOUT_S),
        ) as client:
            ids = sorted(model.id for model in client.models.list())
    except openai.APIStatusError as exc:
        latency = (time.perf_counter() - started) * 1000
        return CheckResult(endpoint.name, False, latency,
                           error=secrets.redact(f"HTTP {exc.status_code}: {_message(exc)}"))
    except openai.APITimeoutError:
        return CheckResult(endpoint.name, False, None,
                           error=f"no answer within {min(endpoint.timeout_s, CHECK_TIMEOUT_S):g} s")
    except openai.APIConnectionError as exc:
        cause = exc.__cause__ or exc
        return CheckResult(endpoint.name, False, None,
                           error=secrets.redact(f"cannot connect to {endpoint.base_url}: {cause}"))
    latency = (time.perf_counter() - started) * 1000
    return CheckResult(endpoint.name, True, latency, ids)


def _message(exc: object) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(getattr(exc, "message", exc)).splitlines()[0]


def _check_python(endpoint: Endpoint) -> CheckResult:
    started = time.perf_counter()
    try:
        load_target(endpoint.target or "")
    except MlopsError as exc:
        return CheckResult(endpoint.name, False, None, error=str(exc))
    return CheckResult(endpoint.name, True, (time.perf_counter() - started) * 1000,
                       [endpoint.target or ""])


def load_target(target: str):
    """Import ``module:function`` and return the callable."""
    module_name, _, func_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise MlopsError(f"cannot import {module_name} for {target}: "
                         f"{type(exc).__name__}: {exc}") from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise MlopsError(f"{target}: {module_name} has no callable {func_name}")
    return func
