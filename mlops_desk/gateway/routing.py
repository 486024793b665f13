"""Which version serves a request's ``model``: ``NAME`` (production), ``NAME@ENV``, ``NAME:N``.

Resolution is cached and the cache is dropped whenever another connection commits to the
database (``Store.data_version`` changes), so a deploy or rollback takes effect on the
next request without a restart, at the cost of one cheap pragma per request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from mlops_desk.core import secrets, user_input
from mlops_desk.core.deploy import served, served_version
from mlops_desk.core.errors import BadInput, MlopsError, NotFound
from mlops_desk.core.inference import request_params
from mlops_desk.core.registry import (
    Endpoint,
    Version,
    check_name,
    get_endpoint,
    get_model,
    get_version,
)
from mlops_desk.core.store import Store
from mlops_desk.gateway.errors import bad_request, not_found, shown, upstream_failure

DEFAULT_ENVIRONMENT = "production"
KEY_TTL_S = 60.0  # re-read keys now and then: a key changed in the keyring is picked up
MAX_VERSION = user_input.SQLITE_MAX_INT  # a larger number cannot name a version


@dataclass(frozen=True)
class Target:
    """Everything needed to serve one gateway model name."""

    model_id: int
    model: str
    labels: tuple[str, ...]
    environment: str | None  # None for a pinned NAME:N
    version: Version
    endpoint: Endpoint
    params: dict[str, Any]  # the version's request parameters
    overridable: frozenset[str]  # parameter names a client may override ("*" = all)
    api_key: str = field(default="", repr=False)

    @property
    def served_as(self) -> str:
        return self.version.ref if self.environment is None else (
            f"{self.model}@{self.environment}")


def parse_name(name: str) -> tuple[str, str | None, int | None]:
    """``NAME`` / ``NAME@ENV`` / ``NAME:N`` -> (model, environment, pinned version).

    Model and environment names never hold ':' or '@' (the registry refuses them), so a ':'
    always introduces a version number, which must be plain ASCII digits within SQLite's
    range; anything else there is a malformed name (400), not an unknown one (404).
    """
    model, sep, number = name.rpartition(":")
    if sep:
        return model, None, _version_number(name, number)
    model, sep, env = name.partition("@")
    if sep:
        return model, env, None
    return name, DEFAULT_ENVIRONMENT, None


def _version_number(name: str, text: str) -> int:
    number = user_input.int_or_none(text, minimum=1)  # ASCII digits only: not '²'
    if number is None:
        raise bad_request(f"'{shown(name)}' is not a valid model name: the version after ':' "
                          f"must be a whole number from 1 to {MAX_VERSION}.", "model")
    return number


def _check_names(name: str, model: str, env: str | None) -> None:
    """A name the registry could never hold does not exist; no need to ask the database."""
    try:
        check_name(model, "model")
        if env is not None:
            check_name(env, "environment")
    except BadInput:
        raise not_found(f"The model '{shown(name)}' does not exist.") from None


class Router:
    """Per-thread (the event loop's): it uses that thread's SQLite connection."""

    def __init__(self, store: Store):
        self._store = store
        self._targets: dict[str, Target] = {}
        self._keys: dict[tuple[str, str], tuple[float, str]] = {}
        self._data_version: int | None = None

    def resolve(self, name: str) -> Target:
        self._drop_stale()
        target = self._targets.get(name)
        if target is None:
            target = self._targets[name] = self._load(name)
        return target

    def served_names(self) -> list[str]:
        """Every name that resolves now: NAME (production) and NAME@ENV per deployed env."""
        rows = [(s.model, s.environment) for s in served(self._store)]
        names = []
        for model, env in rows:
            if env == DEFAULT_ENVIRONMENT:
                names.append(model)
        names += [f"{model}@{env}" for model, env in rows]
        return sorted(names, key=lambda name: (name.partition("@")[0], "@" in name))

    def _drop_stale(self) -> None:
        version = self._store.data_version()
        if version != self._data_version:
            self._targets.clear()
            self._data_version = version

    def _load(self, name: str) -> Target:
        model_name, env, number = parse_name(name)
        _check_names(name, model_name, env)
        try:
            model = get_model(self._store, model_name)
        except NotFound:
            raise not_found(f"The model '{name}' does not exist: no model named "
                            f"'{model_name}' is registered.") from None
        if number is None:
            number = self._env_version(name, model.name, env)
        try:
            version = get_version(self._store, model.name, number)
        except NotFound:
            raise not_found(f"The model '{name}' does not exist: {model.name} has no "
                            f"version {number}.") from None
        endpoint = get_endpoint(self._store, version.config["endpoint"])
        params = request_params(version.config)
        allowed = (version.config.get("params") or {}).get("allow_client_override") or []
        if isinstance(allowed, str):
            allowed = [allowed]
        return Target(model.id, model.name, tuple(model.labels), env, version, endpoint, params,
                      frozenset(str(k) for k in allowed), self._key(endpoint, name))

    def _env_version(self, name: str, model: str, env: str | None) -> int:
        try:
            number = served_version(self._store, model, env or DEFAULT_ENVIRONMENT)
        except NotFound:
            raise not_found(f"The model '{name}' does not exist: {model} has no environment "
                            f"'{env}'.") from None
        if number is None:
            raise not_found(f"The model '{name}' is not being served: nothing is deployed "
                            f"to {model}@{env}.")
        return number

    def _key(self, endpoint: Endpoint, name: str) -> str:
        if endpoint.kind != "openai":
            return ""
        cache_key = (endpoint.name, endpoint.api_key_ref)
        cached = self._keys.get(cache_key)
        if cached and time.monotonic() - cached[0] < KEY_TTL_S:
            return cached[1]
        try:
            key = secrets.resolve(endpoint.name, endpoint.api_key_ref)
        except MlopsError as exc:
            raise upstream_failure(
                f"The model '{name}' cannot be served now: the gateway has no API key for its "
                "upstream.", "upstream_key_missing",
                detail=f"cannot call endpoint {endpoint.name}: {exc}") from None
        self._keys[cache_key] = (time.monotonic(), key)
        return key
