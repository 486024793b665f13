"""Environments, deploy, rollback and the deployment history.

An environment is a per-model pointer to a version. Only ``deploy`` and ``rollback`` move
it, each in one transaction that also appends a history row and an audit event, so the
pointer, the history and the audit log can never disagree. Rollback undoes the last move:
replaying the history (deploy pushes, rollback pops) gives the version to go back to.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mlops_desk.core import archive, audit, gates
from mlops_desk.core.errors import BadInput, Conflict, MlopsError, NotFound
from mlops_desk.core.registry import (
    Version,
    check_name,
    get_endpoint,
    get_model,
    get_version,
)
from mlops_desk.core.secrets import redact
from mlops_desk.core.store import Store, utcnow

ACTIONS = ("deploy", "rollback")


# -- environments ----------------------------------------------------------------


@dataclass(frozen=True)
class Environment:
    model: str
    name: str
    version: int | None
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def add_environment(store: Store, model_name: str, name: str) -> Environment:
    check_name(name, "environment")  # no '@' or ':', which gateway model names use
    with store.transaction() as db:
        model = get_model(store, model_name)
        if db.execute("SELECT 1 FROM environments WHERE model_id = ? AND name = ?",
                      [model.id, name]).fetchone():
            raise Conflict(f"model {model.name} already has an environment {name}")
        now = utcnow()
        db.execute("INSERT INTO environments (model_id, name, created_at, updated_at) "
                   "VALUES (?, ?, ?, ?)", [model.id, name, now, now])
        audit.append(store, "environment.add", f"model:{model.name}", {"environment": name})
    return get_environment(store, model.name, name)


_ENV_SELECT = (
    "SELECT e.name, v.number, e.updated_at FROM environments e "
    "LEFT JOIN versions v ON v.id = e.version_id WHERE e.model_id = ? "
)


def list_environments(store: Store, model_name: str) -> list[Environment]:
    model = get_model(store, model_name)
    rows = store.db.execute(_ENV_SELECT + "ORDER BY e.id", [model.id]).fetchall()
    return [Environment(model.name, name, number, updated) for name, number, updated in rows]


def get_environment(store: Store, model_name: str, name: str) -> Environment:
    model = get_model(store, model_name)
    row = store.db.execute(_ENV_SELECT + "AND e.name = ?", [model.id, name]).fetchone()
    if row is None:
        raise NotFound(f"model {model.name} has no environment {name!r}",
                       hint=f"see 'env list {model.name}'")
    return Environment(model.name, *row)


def deployed_version(store: Store, model_name: str, environment: str) -> Version | None:
    number = served_version(store, model_name, environment)
    return None if number is None else get_version(store, model_name, number)


# -- which version serves --------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """One environment that serves a version now."""

    model: str
    environment: str
    version: int


def served_version(store: Store, model_name: str, environment: str) -> int | None:
    """The version number ``model_name@environment`` serves now, None when nothing is deployed
    there; NotFound when the model or the environment does not exist."""
    return get_environment(store, model_name, environment).version


def served(store: Store, *, model: str | None = None,
           environment: str | None = None) -> list[Served]:
    """Every environment that serves a version, optionally of one model or one environment
    name, ordered by model name then environment creation: the batch form of
    ``served_version`` for pages and the gateway that list many at once. Raw ``store.conn``
    so the Overview does not pay for sqlite-utils' import."""
    sql = ("SELECT m.name, e.name, v.number FROM environments e "
           "JOIN models m ON m.id = e.model_id JOIN versions v ON v.id = e.version_id "
           "WHERE (? IS NULL OR m.name = ?) AND (? IS NULL OR e.name = ?) "
           "ORDER BY m.name, e.id")
    rows = store.conn.execute(sql, [model, model, environment, environment]).fetchall()
    return [Served(*row) for row in rows]


# -- history ---------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """One row of the deployment history."""

    id: int
    ts: str
    user: str
    model: str
    environment: str
    action: str
    from_version: int | None
    to_version: int
    reason: str
    gate_run_id: int | None
    forced: bool
    gate_report: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_HISTORY_SELECT = (
    "SELECT d.id, d.ts, d.user, d.environment, d.action, fv.number, tv.number, d.reason, "
    "d.gate_run_id, d.forced, d.gate_report FROM deployments d "
    "LEFT JOIN versions fv ON fv.id = d.from_version_id "
    "JOIN versions tv ON tv.id = d.to_version_id WHERE d.model_id = ? "
)


def history(store: Store, model_name: str, environment: str | None = None) -> list[Move]:
    """Every move of a model's environments, oldest first."""
    model = get_model(store, model_name)
    sql, params = _HISTORY_SELECT, [model.id]
    if environment is not None:
        get_environment(store, model.name, environment)
        sql += "AND d.environment = ? "
        params.append(environment)
    rows = store.db.execute(sql + "ORDER BY d.id", params).fetchall()
    return [Move(r[0], r[1], r[2], model.name, r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]),
                 json.loads(r[10])) for r in rows]


def rollback_target(moves: list[Move]) -> int | None:
    """The version a rollback returns to: replay deploys (push) and rollbacks (pop)."""
    stack: list[int] = []
    for move in moves:
        if move.action == "deploy":
            stack.append(move.to_version)
        elif stack:
            stack.pop()
    return stack[-2] if len(stack) >= 2 else None


# -- moves -----------------------------------------------------------------------


@dataclass(frozen=True)
class DeployResult:
    move: Move | None  # None when the environment already pointed at the version
    gate: gates.GateReport | None
    manifest: Path | None = None

    @property
    def changed(self) -> bool:
        return self.move is not None

    def to_dict(self) -> dict[str, Any]:
        return {"changed": self.changed, "move": self.move.to_dict() if self.move else None,
                "gate": self.gate.to_dict() if self.gate else None,
                "manifest": str(self.manifest) if self.manifest else None}


def deploy(store: Store, model_name: str, number: int, environment: str, *, reason: str = "",
           force: bool = False, manifest_dir: Path | str | None = None) -> DeployResult:
    """Point ``environment`` at version ``number`` if its gate agrees (or ``force``).

    Raises ``gates.GateRefused`` (exit 1) with every check when the gate says no.
    """
    reason = " ".join((reason or "").split())
    if force and not reason:
        raise BadInput("a forced deploy must say why: give a reason",
                       hint="--force needs --reason TEXT")
    candidate = get_version(store, model_name, number)
    if candidate.archived:
        raise Conflict(f"{candidate.ref} is archived; unarchive it before deploying")
    env = get_environment(store, model_name, environment)
    if env.version == candidate.number:
        return DeployResult(None, None, _maybe_manifest(store, candidate, environment,
                                                        manifest_dir, None))
    current = None if env.version is None else get_version(store, model_name, env.version)
    report = gates.evaluate(store, candidate, environment, current)
    if not report.passed and not force:
        raise gates.GateRefused(report)
    forced = force and not report.passed
    move = _move(store, candidate, env, current, "deploy", reason, report.run_id, forced,
                 report.to_dict())
    return DeployResult(move, report,
                        _maybe_manifest(store, candidate, environment, manifest_dir, move))


def rollback(store: Store, model_name: str, environment: str, *, reason: str = "") -> Move:
    """Return ``environment`` to the version deployed before the current one (not gated:
    it is the way out of a bad deploy, to a version that already served)."""
    reason = " ".join((reason or "").split())
    env = get_environment(store, model_name, environment)
    target = rollback_target(history(store, model_name, environment))
    if env.version is None or target is None:
        raise Conflict(f"{env.model}@{env.name} has no earlier version to roll back to")
    current = get_version(store, model_name, env.version)
    previous = get_version(store, model_name, target)
    return _move(store, previous, env, current, "rollback", reason, None, False, {})


def _move(store: Store, to: Version, env: Environment, current: Version | None, action: str,
          reason: str, gate_run_id: int | None, forced: bool, report: dict[str, Any]) -> Move:
    model = get_model(store, env.model)
    now, user = utcnow(), audit.os_user()
    with store.transaction() as db:
        if action == "deploy":  # a rollback is the way out, so it is never refused here
            archive.check_deployable(db.conn, model.id, to.config.get("endpoint", ""))
        # Compare-and-set as the first write: a concurrent move makes this a no-op we detect.
        cursor = db.execute(
            "UPDATE environments SET version_id = ?, updated_at = ? "
            "WHERE model_id = ? AND name = ? AND version_id IS ?",
            [to.id, now, model.id, env.name, current.id if current else None])
        if cursor.rowcount != 1:
            raise Conflict(f"{env.model}@{env.name} was changed by someone else meanwhile; "
                           "look at its deployment history and retry", hint="see 'history'")
        move_id = db.execute(
            "INSERT INTO deployments (ts, user, model_id, environment, from_version_id, "
            "to_version_id, action, reason, gate_run_id, forced, gate_report) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [now, user, model.id, env.name, current.id if current else None, to.id, action,
             reason, gate_run_id, int(forced), json.dumps(report)]).lastrowid
        audit.append(store, action, to.ref, {
            "environment": env.name, "from": current.number if current else None,
            "to": to.number, "reason": reason, "gate_run_id": gate_run_id, "forced": forced,
            "deployment_id": move_id,
        })
    return Move(move_id, now, user, model.name, env.name, action,
                current.number if current else None, to.number, reason, gate_run_id, forced,
                report)


# -- manifest --------------------------------------------------------------------


def _maybe_manifest(store: Store, version: Version, environment: str,
                    directory: Path | str | None, move: Move | None) -> Path | None:
    if directory is None:
        return None
    try:
        return write_manifest(store, version, environment, Path(directory), move)
    except OSError as exc:
        done = "deployed" if move else "already deployed"
        raise MlopsError(f"{version.ref} {done} to {environment}, but the manifest could not be "
                         f"written to {directory}: {exc.strerror or exc}") from None


def manifest_data(store: Store, version: Version, environment: str,
                  move: Move | None) -> dict[str, Any]:
    """What applications need to call the deployed version themselves; never a key."""
    config = version.config
    endpoint = get_endpoint(store, config["endpoint"])
    if move is None:  # re-writing the manifest of what is already there: use its last move
        moves = [m for m in history(store, version.model, environment)
                 if m.to_version == version.number]
        move = moves[-1] if moves else None
    return {
        "model": version.model, "environment": environment, "version": version.number,
        "fingerprint": version.fingerprint,
        "endpoint": {"name": endpoint.name, "kind": endpoint.kind,
                     "base_url": public_url(endpoint.base_url), "target": endpoint.target},
        "model_id": config["model_id"], "system_prompt": config["system_prompt"],
        "template": config["template"], "params": config["params"], "parser": config["parser"],
        "deployed_at": move.ts if move else None, "deployed_by": move.user if move else None,
        "deployment_id": move.id if move else None,
    }


def public_url(url: str | None) -> str | None:
    """A base URL without user:password or query string (where some providers put keys)."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return redact(urlunsplit((parts.scheme, host, parts.path, "", "")))


def write_manifest(store: Store, version: Version, environment: str, directory: Path,
                   move: Move | None = None) -> Path:
    """Write ``MODEL.ENV.json`` atomically (temp file + os.replace): readers see old or new."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{version.model}.{environment}.json"
    text = json.dumps(manifest_data(store, version, environment, move), indent=2,
                      ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes it private; other programs read manifests
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target
