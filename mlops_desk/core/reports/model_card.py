"""The model card's facts: the model, its versions and lineage, metrics over time,
environments and deployment history, gate policies with their last results, monitoring.

"Last result" of a gate is what the gate said at the newest move into that environment
that was checked (the deployment history keeps each move's gate report). Monitoring covers
the last ``MONITOR_WINDOW_S`` of gateway traffic; drift is checked without recording.
"""

from __future__ import annotations

import time
from typing import Any

from mlops_desk.core import deploy, gates, monitoring, timeseries
from mlops_desk.core.errors import BadInput
from mlops_desk.core.registry import get_endpoint, get_model, list_versions
from mlops_desk.core.reports.common import clean, header
from mlops_desk.core.store import Store

MONITOR_WINDOW_S = 24 * 3600.0
HISTORY_MOVES = 100
POINTS = 500


def build_model_card(store: Store, name: str, *, now: float | None = None) -> dict[str, Any]:
    model = get_model(store, name)
    now = time.time() if now is None else now
    moves = deploy.history(store, model.name)
    report = header(store, "model", f"Model card: {model.name}", f"model:{model.name}")
    report.update({
        "model": {"name": model.name, "kind": model.kind, "labels": model.labels,
                  "description": model.description, "created_at": model.created_at},
        "versions": [_version_row(store, v) for v in list_versions(store, model.name)],
        "metrics_over_time": metrics_over_time(store, model.name),
        "environments": [env.to_dict() for env in deploy.list_environments(store, model.name)],
        "deployments": {"n_total": len(moves),
                        "moves": [_move_row(m) for m in moves[-HISTORY_MOVES:]]},
        "gates": [_gate_row(p, moves) for p in gates.list_policies(store, model.name)],
        "monitoring": _monitoring(store, model.name, now),
    })
    return clean(report)


def _version_row(store: Store, version) -> dict[str, Any]:
    config = version.config
    try:
        endpoint_kind = get_endpoint(store, config["endpoint"]).kind
    except BadInput:  # an endpoint renamed away since: the card still shows the version
        endpoint_kind = None
    return {"number": version.number, "ref": version.ref, "fingerprint": version.fingerprint,
            "parent": version.parent_number, "created_at": version.created_at,
            "created_by": version.created_by, "note": version.note, "tags": version.tags,
            "archived": version.archived, "endpoint": config.get("endpoint"),
            "endpoint_kind": endpoint_kind, "model_id": config.get("model_id"),
            "parser": config.get("parser")}


def metrics_over_time(store: Store, model: str) -> dict[str, Any]:
    """The Charts page's data for this model: completed runs in time order (newest POINTS)."""
    data = timeseries.load_chart_data(store, model=model)
    points: list[dict[str, Any]] = []
    for series in data.series:
        points += [series.point(i) for i in range(len(series))]
    points = points[-POINTS:]
    markers = [{"x": m.x, "kind": m.kind, "label": m.label, "detail": m.detail}
               for m in data.markers if m.model == model]
    return {"n_runs": data.n_runs, "points": points, "markers": markers}


def _move_row(move: deploy.Move) -> dict[str, Any]:
    return {"id": move.id, "ts": move.ts, "user": move.user, "environment": move.environment,
            "action": move.action, "from_version": move.from_version,
            "to_version": move.to_version, "gate_run_id": move.gate_run_id,
            "forced": move.forced, "reason": move.reason}


def _gate_row(policy: gates.Policy, moves: list[deploy.Move]) -> dict[str, Any]:
    checked = [m for m in moves if m.environment == policy.environment and m.gate_report
               and m.gate_report.get("checks")]
    last = checked[-1] if checked else None
    return {**policy.to_dict(),
            "last_result": None if last is None else {
                "move_id": last.id, "ts": last.ts, "version": last.to_version,
                "passed": bool(last.gate_report.get("passed")), "forced": last.forced,
                "checks": [{"name": c.get("name"), "passed": c.get("passed"),
                            "message": c.get("message")}
                           for c in last.gate_report.get("checks", [])]}}


def _monitoring(store: Store, model: str, now: float) -> dict[str, Any]:
    summary = monitoring.summary(store, model, since=now - MONITOR_WINDOW_S, until=now)
    drift = monitoring.check_drift(store, model, window_s=MONITOR_WINDOW_S, now=now).to_dict()
    return {"window_s": MONITOR_WINDOW_S, "summary": summary, "drift": drift}
