"""Endpoints, models and immutable, fingerprinted versions.

Every change appends an audit event in the same transaction.
"""

from __future__ import annotations

import json
import math
import re
import string
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mlops_desk.core import audit
from mlops_desk.core.canonical import normalise, sha256_of
from mlops_desk.core.errors import BadInput, Conflict, NotFound
from mlops_desk.core.names import check_name, check_name_free
from mlops_desk.core.parsing import validate_parser_spec
from mlops_desk.core.schema import DEFAULT_ENVIRONMENTS
from mlops_desk.core.secrets import describe, has_url_credentials, redact_url, store_in_keyring
from mlops_desk.core.store import Store, utcnow
from mlops_desk.core.user_input import parse_version_ref  # noqa: F401  (callers use registry.)

MODEL_KINDS = ("classification", "extraction", "generation")
ENDPOINT_KINDS = ("openai", "python")
_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
DEFAULT_BATCH_DISCOUNT = 0.5  # OpenAI's Batch API: half the online price


# -- endpoints ---------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    id: int
    name: str
    kind: str
    base_url: str | None
    target: str | None
    api_key_ref: str
    timeout_s: float
    max_concurrency: int
    rpm: int | None
    tpm: int | None
    prices: dict[str, list[float]]
    created_at: str
    updated_at: str
    archived: bool = False  # hidden from lists; versions still resolve it
    batch_discount: float = DEFAULT_BATCH_DISCOUNT  # fraction off the price for Batch API work

    def price_for(self, model_id: str) -> tuple[float, float] | None:
        """USD per 1M (input, output) tokens for a model id, or the '*' default."""
        price = self.prices.get(model_id) or self.prices.get("*")
        return (float(price[0]), float(price[1])) if price else None

    @property
    def display_url(self) -> str | None:
        """The base URL to show: a password stored before URLs with one were refused is
        masked (``http://user:***@host/v1``)."""
        return redact_url(self.base_url) if self.base_url else self.base_url

    def public_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["base_url"] = self.display_url
        data["api_key"] = describe(self.api_key_ref)
        del data["api_key_ref"]
        return data


def _endpoint(row: dict) -> Endpoint:
    return Endpoint(
        id=row["id"], name=row["name"], kind=row["kind"], base_url=row["base_url"],
        target=row["target"], api_key_ref=row["api_key_ref"], timeout_s=row["timeout_s"],
        max_concurrency=row["max_concurrency"], rpm=row["rpm"], tpm=row["tpm"],
        prices=json.loads(row["prices"]), created_at=row["created_at"],
        updated_at=row["updated_at"], archived=bool(row.get("archived")),
        batch_discount=row.get("batch_discount", DEFAULT_BATCH_DISCOUNT),
    )


def parse_price(spec: str) -> tuple[str, list[float]]:
    """``MODEL_ID=IN,OUT`` (USD per 1M tokens) -> (model_id, [in, out])."""
    model_id, sep, values = spec.partition("=")
    parts = values.split(",")
    try:
        if not sep or not model_id or len(parts) != 2:
            raise ValueError
        prices = [float(parts[0]), float(parts[1])]
        if not all(0 <= p < math.inf for p in prices):  # nan fails this too
            raise ValueError
    except ValueError:
        raise BadInput(
            f"bad price {spec!r}: expected MODEL_ID=IN,OUT in USD per 1M tokens"
        ) from None
    return model_id, prices


class CredentialsInUrl(BadInput):
    """A base URL with a user name or password in it: they would be stored and shown."""


def check_base_url(url: str | None) -> str:
    """An ``http(s)://host[:port]/path`` URL without credentials, or BadInput saying why."""
    shown = repr(redact_url(url or ""))
    if has_url_credentials(url or ""):  # any '@' before the query: no base URL needs one
        raise CredentialsInUrl(
            f"the base URL {shown} contains a user name or password, which would be stored "
            "and shown in clear; give the URL without them and keep the API key in the OS "
            "keyring or an environment variable")
    try:
        parsed = urlsplit(url or "")
        parsed.port  # noqa: B018 - raises ValueError for a port that is not 0..65535
    except ValueError:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise BadInput(f"bad base URL {shown}: expected http(s)://host[:port]/path")
    return url


def _check_endpoint_fields(kind: str, base_url: str | None, target: str | None,
                           timeout_s: float, max_concurrency: int) -> None:
    if kind not in ENDPOINT_KINDS:
        raise BadInput(f"unknown endpoint kind {kind!r}: use one of {', '.join(ENDPOINT_KINDS)}")
    if kind == "openai":
        check_base_url(base_url)
    elif not _TARGET.match(target or ""):
        raise BadInput(f"bad python target {target!r}: expected module:function")
    if not 0 < timeout_s <= 3600:
        raise BadInput(f"bad timeout {timeout_s}: expected seconds between 0 and 3600")
    if not 1 <= max_concurrency <= 1024:
        raise BadInput(f"bad max concurrency {max_concurrency}: expected 1..1024")


def add_endpoint(
    store: Store, name: str, *, kind: str = "openai", base_url: str | None = None,
    target: str | None = None, api_key_ref: str = "", timeout_s: float = 60.0,
    max_concurrency: int = 8, rpm: int | None = None, tpm: int | None = None,
    prices: dict[str, list[float]] | None = None,
    batch_discount: float = DEFAULT_BATCH_DISCOUNT,
) -> Endpoint:
    check_name(name, "endpoint")
    _check_endpoint_fields(kind, base_url, target, timeout_s, max_concurrency)
    check_batch_discount(batch_discount)
    now = utcnow()
    with store.transaction() as db:
        if db.execute("SELECT 1 FROM endpoints WHERE name = ?", [name]).fetchone():
            raise Conflict(f"endpoint {name} already exists; edit it instead",
                           hint="use 'endpoint edit'")
        check_name_free(db.conn, name, "endpoint")
        db["endpoints"].insert({
            "name": name, "kind": kind, "base_url": base_url if kind == "openai" else None,
            "target": target if kind == "python" else None, "api_key_ref": api_key_ref,
            "timeout_s": float(timeout_s), "max_concurrency": int(max_concurrency),
            "rpm": rpm, "tpm": tpm, "prices": json.dumps(prices or {}, sort_keys=True),
            "created_at": now, "updated_at": now,
            # The column's default is the same number; left out, the row also fits a
            # schema-4 table (tests that build older registries use this function).
            **({"batch_discount": float(batch_discount)}
               if batch_discount != DEFAULT_BATCH_DISCOUNT else {}),
        })
        endpoint = get_endpoint(store, name)
        audit.append(store, "endpoint.add", f"endpoint:{name}", _audit_view(endpoint))
    return endpoint


def update_endpoint(store: Store, name: str, **changes: Any) -> Endpoint:
    """Edit an endpoint's connection settings (versions refer to it by name)."""
    allowed = {"base_url", "target", "api_key_ref", "timeout_s", "max_concurrency", "rpm",
               "tpm", "prices", "batch_discount"}
    unknown = set(changes) - allowed
    if unknown:
        raise BadInput(f"cannot change endpoint field(s): {', '.join(sorted(unknown))}")
    with store.transaction() as db:
        current = get_endpoint(store, name)
        merged = {**asdict(current), **changes}
        _check_endpoint_fields(current.kind, merged["base_url"], merged["target"],
                               merged["timeout_s"], merged["max_concurrency"])
        if "batch_discount" in changes:
            check_batch_discount(changes["batch_discount"])
        if "prices" in changes:
            changes["prices"] = json.dumps(changes["prices"] or {}, sort_keys=True)
        db["endpoints"].update(current.id, {**changes, "updated_at": utcnow()})
        endpoint = get_endpoint(store, name)
        audit.append(store, "endpoint.edit", f"endpoint:{name}", _audit_view(endpoint))
    return endpoint


def save_endpoint(store: Store, name: str, *, kind: str | None = None, key: str | None = None,
                  **fields: Any) -> Endpoint:
    """Add (``kind`` given) or update an endpoint and keep ``key`` in the OS keyring, all or
    nothing: a keyring failure rolls the endpoint change back, and a refused change never
    overwrites another key. The one place both faces save an endpoint with its key."""
    with store.transaction():
        if kind is None:
            endpoint = update_endpoint(store, name, **fields)
        else:
            endpoint = add_endpoint(store, name, kind=kind, **fields)
        if key:
            store_in_keyring(name, key)
    return endpoint


def check_batch_discount(discount: float) -> None:
    if not 0.0 <= discount < 1.0:
        raise BadInput(f"bad batch discount {discount:g}: expected a fraction of the online "
                       "price from 0 (none) to below 1, e.g. 0.5 for half price")


def _audit_view(endpoint: Endpoint) -> dict[str, Any]:
    data = endpoint.public_dict()
    for key in ("id", "created_at", "updated_at", "archived"):
        data.pop(key)
    return data


def get_endpoint(store: Store, name: str) -> Endpoint:
    rows = list(store.db.query("SELECT * FROM endpoints WHERE name = ?", [name]))
    if not rows:
        raise NotFound(f"no endpoint named {name!r}", hint="see 'endpoint list'")
    return _endpoint(rows[0])


def list_endpoints(store: Store, *, include_archived: bool = True) -> list[Endpoint]:
    where = "" if include_archived else "WHERE archived = 0 "
    return [_endpoint(r) for r in store.db.query(f"SELECT * FROM endpoints {where}ORDER BY name")]


# -- models ------------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    id: int
    name: str
    kind: str
    labels: list[str]
    description: str
    created_at: str
    archived: bool = False  # hidden from lists; its versions and runs stay


def _model(row: dict) -> Model:
    return Model(id=row["id"], name=row["name"], kind=row["kind"],
                 labels=json.loads(row["labels"]), description=row["description"],
                 created_at=row["created_at"], archived=bool(row.get("archived")))


def parse_labels(text: str | None) -> list[str]:
    labels = [part.strip() for part in (text or "").split(",") if part.strip()]
    if len(set(labels)) != len(labels):
        raise BadInput(f"duplicate labels in {text!r}")
    return labels


def create_model(store: Store, name: str, *, kind: str = "classification",
                 labels: list[str] | None = None, description: str = "") -> Model:
    check_name(name, "model")
    if kind not in MODEL_KINDS:
        raise BadInput(f"unknown model kind {kind!r}: use one of {', '.join(MODEL_KINDS)}")
    with store.transaction() as db:
        if db.execute("SELECT 1 FROM models WHERE name = ?", [name]).fetchone():
            raise Conflict(f"model {name} already exists")
        check_name_free(db.conn, name, "model")
        db["models"].insert({"name": name, "kind": kind, "labels": json.dumps(labels or []),
                             "description": description, "created_at": utcnow()})
        model = get_model(store, name)
        now = utcnow()
        db.conn.executemany(  # every model starts with empty staging and production
            "INSERT INTO environments (model_id, name, created_at, updated_at) "
            "VALUES (?, ?, ?, ?)", [(model.id, env, now, now) for env in DEFAULT_ENVIRONMENTS])
        audit.append(store, "model.create", f"model:{name}",
                     {"kind": kind, "labels": model.labels, "description": description})
    return model


def update_model(store: Store, name: str, *, description: str | None = None,
                 labels: list[str] | None = None) -> Model:
    changes: dict[str, Any] = {}
    if description is not None:
        changes["description"] = description
    if labels is not None:
        changes["labels"] = json.dumps(labels)
    with store.transaction() as db:
        model = get_model(store, name)
        if changes:
            db["models"].update(model.id, changes)
            audit.append(store, "model.edit", f"model:{name}",
                         {k: json.loads(v) if k == "labels" else v for k, v in changes.items()})
    return get_model(store, name)


def get_model(store: Store, name: str) -> Model:
    rows = list(store.db.query("SELECT * FROM models WHERE name = ?", [name]))
    if not rows:
        raise NotFound(f"no model named {name!r}", hint="see 'model list'")
    return _model(rows[0])


def model_summaries(store: Store, *, include_archived: bool = True) -> list[dict[str, Any]]:
    """What a model listing shows: each model with its number of versions."""
    where = "" if include_archived else "WHERE m.archived = 0 "
    rows = store.db.query(
        "SELECT m.name, m.kind, m.labels, m.description, m.created_at, m.archived, "
        "(SELECT count(*) FROM versions v WHERE v.model_id = m.id) AS versions "
        f"FROM models m {where}ORDER BY m.name")
    return [{**r, "labels": json.loads(r["labels"]), "archived": bool(r["archived"])}
            for r in rows]


def get_model_by_id(store: Store, model_id: int) -> Model:
    return _model(next(store.db.query("SELECT * FROM models WHERE id = ?", [model_id])))


def list_models(store: Store, *, include_archived: bool = True) -> list[Model]:
    where = "" if include_archived else "WHERE archived = 0 "
    return [_model(r) for r in store.db.query(f"SELECT * FROM models {where}ORDER BY name")]


# -- versions ----------------------------------------------------------------

CONFIG_KEYS = ("endpoint", "model_id", "system_prompt", "template", "params", "parser")


@dataclass(frozen=True)
class Version:
    id: int
    model: str
    number: int
    fingerprint: str
    config: dict[str, Any]
    parent_number: int | None
    note: str
    tags: list[str]
    archived: bool
    created_at: str
    created_by: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.model}:{self.number}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("extra")
        data["ref"] = self.ref
        return data


def make_config(*, endpoint: str, model_id: str, system_prompt: str = "",
                template: str = "{input}", params: dict[str, Any] | None = None,
                parser: str = "text") -> dict[str, Any]:
    """The inference config that a version freezes; validated and normalised."""
    if not model_id:
        raise BadInput("a version needs a model id (the name the endpoint serves)",
                       hint="--model-id")
    template_columns(template)  # raises on a malformed template
    return normalise({
        "endpoint": endpoint, "model_id": model_id, "system_prompt": system_prompt or "",
        "template": template, "params": dict(params or {}),
        "parser": validate_parser_spec(parser or "text"),
    })


def fingerprint(config: dict[str, Any]) -> str:
    return sha256_of({key: config.get(key) for key in CONFIG_KEYS})


def template_columns(template: str) -> list[str]:
    """Column names a template uses (``{column}``); ``{{`` and ``}}`` are literal braces."""
    try:
        parts = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(template)
                 if name is not None]
    except ValueError as exc:
        raise BadInput(f"malformed prompt template: {exc}") from None
    fields = [name for name, _, _ in parts]
    for name, spec, conv in parts:
        # A conversion or format spec ({x!r}, {x:d}) would garble or break every row's render.
        if not name or not re.match(r"^[^\[\].!:]+$", name) or spec or conv:
            shown = name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "")
            raise BadInput(
                f"malformed prompt template placeholder {{{shown}}}: use {{column}} "
                "(write {{ and }} for literal braces)"
            )
    return list(dict.fromkeys(fields))


def check_template_columns(template: str, columns: list[str], dataset_name: str) -> None:
    """Catch, before any request is sent, a template naming a column the dataset lacks."""
    missing = [c for c in template_columns(template) if c not in columns]
    if missing:
        raise BadInput(
            f"the prompt template uses column(s) {', '.join(missing)} that dataset "
            f"{dataset_name} lacks (it has: {', '.join(columns)})"
        )


def _version(row: dict, model_name: str) -> Version:
    return Version(
        id=row["id"], model=model_name, number=row["number"], fingerprint=row["fingerprint"],
        config=json.loads(row["config"]), parent_number=row.get("parent_number"),
        note=row["note"], tags=json.loads(row["tags"]), archived=bool(row["archived"]),
        created_at=row["created_at"], created_by=row["created_by"],
    )


_VERSION_SELECT = (
    "SELECT v.*, p.number AS parent_number FROM versions v "
    "LEFT JOIN versions p ON p.id = v.parent_id "
)


def register_version(store: Store, model_name: str, config: dict[str, Any], *,
                     note: str = "", tags: list[str] | None = None,
                     parent_number: int | None = None,
                     created_at: str | None = None) -> tuple[Version, bool]:
    """Register a config; an identical one returns the existing version (created=False).

    ``created_at`` back-dates the version; only the sample workspace uses it, because a
    version's timestamp is immutable once written.
    """
    config = normalise(config)
    digest = fingerprint(config)
    with store.transaction() as db:
        model = get_model(store, model_name)
        get_endpoint(store, config["endpoint"])
        existing = list(db.query(_VERSION_SELECT + "WHERE v.model_id = ? AND v.fingerprint = ?",
                                 [model.id, digest]))
        if existing:
            return _version(existing[0], model.name), False
        latest = db.execute("SELECT id, number FROM versions WHERE model_id = ? "
                            "ORDER BY number DESC LIMIT 1", [model.id]).fetchone()
        if parent_number is not None:
            parent = get_version(store, model.name, parent_number)
            parent_id = parent.id
        else:
            parent_id = latest[0] if latest else None
        number = (latest[1] if latest else 0) + 1
        db["versions"].insert({
            "model_id": model.id, "number": number, "fingerprint": digest,
            "config": json.dumps(config, sort_keys=True), "parent_id": parent_id, "note": note,
            "tags": json.dumps(tags or []), "archived": 0, "created_at": created_at or utcnow(),
            "created_by": audit.os_user(),
        })
        version = get_version(store, model.name, number)
        audit.append(store, "version.register", version.ref,
                     {"fingerprint": digest, "parent": version.parent_number, "note": note})
    return version, True


def get_version(store: Store, model_name: str, number: int) -> Version:
    model = get_model(store, model_name)
    rows = list(store.db.query(_VERSION_SELECT + "WHERE v.model_id = ? AND v.number = ?",
                               [model.id, number]))
    if not rows:
        raise NotFound(f"model {model_name} has no version {number}",
                       hint="see 'version list'")
    return _version(rows[0], model.name)


def get_version_by_id(store: Store, version_id: int) -> Version:
    row = next(store.db.query(_VERSION_SELECT + "WHERE v.id = ?", [version_id]))
    return _version(row, get_model_by_id(store, row["model_id"]).name)


def list_versions(store: Store, model_name: str, *, include_archived: bool = True) -> list[Version]:
    model = get_model(store, model_name)
    sql = _VERSION_SELECT + "WHERE v.model_id = ?"
    if not include_archived:
        sql += " AND v.archived = 0"
    return [_version(r, model.name) for r in store.db.query(sql + " ORDER BY v.number", [model.id])]


def set_version_meta(store: Store, model_name: str, number: int, *, note: str | None = None,
                     tags: list[str] | None = None, archived: bool | None = None) -> Version:
    """Notes, tags and the archived flag stay editable; the config never does."""
    changes: dict[str, Any] = {}
    if note is not None:
        changes["note"] = note
    if tags is not None:
        changes["tags"] = json.dumps(tags)
    if archived is not None:
        changes["archived"] = int(archived)
    with store.transaction() as db:
        version = get_version(store, model_name, number)
        if changes:
            db["versions"].update(version.id, changes)
            audit.append(store, "version.edit", version.ref,
                         {k: json.loads(v) if k == "tags" else v for k, v in changes.items()})
    return get_version(store, model_name, number)


def diff_configs(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, a value, b value) for every config field that differs; params per key."""
    changes: list[tuple[str, Any, Any]] = []
    for key in CONFIG_KEYS:
        if key == "params":
            pa, pb = a.get("params") or {}, b.get("params") or {}
            for name in sorted(set(pa) | set(pb)):
                if pa.get(name) != pb.get(name):
                    changes.append((f"params.{name}", pa.get(name), pb.get(name)))
        elif a.get(key) != b.get(key):
            changes.append((key, a.get(key), b.get(key)))
    return changes
