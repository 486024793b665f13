"""Archiving endpoints, models and datasets: a flag that hides them from lists.

Nothing is deleted: versions, runs, deployments and gate policies keep referring to an
archived object, which still resolves by name. Archiving is refused while something it
would hide serves traffic: a model with a deployed version, or an endpoint a deployed
version calls (the gateway would keep serving something the lists no longer show).
Likewise a version of an archived model, or on an archived endpoint, is not deployed.
Each change is an audit event (``endpoint.archive``, ``model.restore``, ...).
"""

from __future__ import annotations

import sqlite3

from mlops_desk.core import audit
from mlops_desk.core.errors import BadInput, Conflict
from mlops_desk.core.store import Store

KINDS = ("endpoint", "model", "dataset")
_TABLES = {"endpoint": "endpoints", "model": "models", "dataset": "datasets"}

# (model, environment, version number) of every environment that serves something.
_SERVING = (
    "SELECT m.name, e.name, v.number FROM environments e "
    "JOIN versions v ON v.id = e.version_id JOIN models m ON m.id = e.model_id "
)


def set_archived(store: Store, kind: str, name: str, archived: bool = True) -> bool:
    """Archive (or restore) one object; False when it already was in that state."""
    if kind not in KINDS:
        raise BadInput(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    table = _TABLES[kind]
    with store.transaction() as db:
        row = db.execute(f"SELECT id, archived FROM {table} WHERE name = ?", [name]).fetchone()
        if row is None:
            _not_found(store, kind, name)
        object_id, current = row
        if bool(current) == archived:
            return False
        if archived:
            _refuse_if_serving(db.conn, kind, object_id, name)
        db.execute(f"UPDATE {table} SET archived = ? WHERE id = ?", [int(archived), object_id])
        audit.append(store, f"{kind}.{'archive' if archived else 'restore'}", f"{kind}:{name}")
    return True


def _not_found(store: Store, kind: str, name: str) -> None:
    """Raise the NotFound of the module that owns ``kind`` (one wording for each)."""
    from mlops_desk.core import datasets, registry

    getter = {"endpoint": registry.get_endpoint, "model": registry.get_model,
              "dataset": datasets.get_dataset}[kind]
    getter(store, name)


def _refuse_if_serving(conn: sqlite3.Connection, kind: str, object_id: int, name: str) -> None:
    if kind == "model":
        serving = conn.execute(_SERVING + "WHERE e.model_id = ? ORDER BY e.id",
                               [object_id]).fetchall()
        why, fix = "it is deployed", "what serves traffic stays listed"
    elif kind == "endpoint":
        serving = conn.execute(
            _SERVING + "WHERE json_extract(v.config, '$.endpoint') = ? ORDER BY m.name, e.id",
            [name]).fetchall()
        why, fix = ("a deployed version calls it",
                    "deploy versions on another endpoint there first")
    else:
        return  # a gate policy or run still finds an archived dataset by id
    if serving:
        shown = ", ".join(f"{model}:{number} serves {env}" for model, env, number in serving)
        raise Conflict(f"{kind} {name} cannot be archived while {why} ({shown}); {fix}")


def check_deployable(conn: sqlite3.Connection, model_id: int, endpoint: str) -> None:
    """Refuse to deploy onto something archived (it would serve while hidden)."""
    row = conn.execute("SELECT name FROM models WHERE id = ? AND archived = 1",
                       [model_id]).fetchone()
    if row:
        raise Conflict(f"model {row[0]} is archived; restore it before deploying")
    if conn.execute("SELECT 1 FROM endpoints WHERE name = ? AND archived = 1",
                    [endpoint]).fetchone():
        raise Conflict(f"endpoint {endpoint} is archived; restore it before deploying")
