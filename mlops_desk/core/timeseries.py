"""Run metrics over time, per model, for the Charts page (and anything else that plots).

One query pulls only the numbers a chart needs out of each completed run's metrics
(``json_extract``, so 10,000 runs never parse their confusion matrices), with x as
float epoch seconds, the unit pyqtgraph's ``DateAxisItem`` reads. Missing values are
NaN so a plotted line simply breaks there. Markers are the moments a version was
registered or deployed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlops_desk.core import metric_catalogue
from mlops_desk.core.store import Store

# Plotted metrics, from the catalogue: (key in the series, json path in runs.metrics); the
# interval ends keep their short series keys, which the chart draws as one band.
_SERIES_KEY = {"accuracy_ci_low": "ci_low", "accuracy_ci_high": "ci_high"}
METRICS = tuple((_SERIES_KEY.get(key, key), f"$.{key}") for key in metric_catalogue.CHARTED)
MAX_MODELS = 12  # "all models" draws the ones with the most recent runs, at most this many
MAX_MARKERS = 400
# julianday -> Unix epoch seconds, done in SQL so Python never parses 10,000 timestamps.
_EPOCH = "(julianday({}) - 2440587.5) * 86400.0"


@dataclass
class Series:
    """One model's completed runs in time order; lists are parallel."""

    model: str
    run_ids: list[int] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    values: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k, _ in METRICS})

    def __len__(self) -> int:
        return len(self.x)

    def point(self, i: int) -> dict[str, Any]:
        """Everything known about point ``i`` (for a hover read-out)."""
        return {"model": self.model, "run_id": self.run_ids[i], "version": self.versions[i],
                "dataset": self.datasets[i], "x": self.x[i],
                **{key: values[i] for key, values in self.values.items()}}


@dataclass(frozen=True)
class Marker:
    x: float
    model: str
    kind: str  # "version" or "deploy"
    label: str  # short text drawn on the chart, e.g. "v3" or "v3 → production"
    detail: str  # longer text for the hover read-out


@dataclass
class ChartData:
    series: list[Series]
    markers: list[Marker]
    n_runs: int
    models_with_runs: int  # before MAX_MODELS cut the list

    @property
    def truncated(self) -> bool:
        return self.models_with_runs > len(self.series)


@dataclass(frozen=True)
class ChartFilters:
    """The choices the Charts page offers: models with runs, their versions, datasets."""

    models: list[str]
    versions: dict[str, list[int]]
    datasets: list[str]


def chart_filters(store: Store) -> ChartFilters:
    rows = store.db.execute(
        "SELECT DISTINCT m.name, v.number FROM runs r JOIN models m ON m.id = r.model_id "
        "JOIN versions v ON v.id = r.version_id WHERE r.status = 'completed' "
        "ORDER BY m.name, v.number").fetchall()
    versions: dict[str, list[int]] = {}
    for name, number in rows:
        versions.setdefault(name, []).append(number)
    datasets = [r[0] for r in store.db.execute(
        "SELECT DISTINCT d.name FROM runs r JOIN datasets d ON d.id = r.dataset_id "
        "WHERE r.status = 'completed' ORDER BY d.name")]
    return ChartFilters(sorted(versions), versions, datasets)


def load_chart_data(store: Store, *, model: str | None = None, version: int | None = None,
                    dataset: str | None = None, max_models: int = MAX_MODELS) -> ChartData:
    """Completed runs, filtered, grouped per model, each series sorted by time."""
    where, params = ["r.status = 'completed'", "r.metrics IS NOT NULL"], []
    if model:
        where.append("m.name = ?")
        params.append(model)
        if version is not None:
            where.append("v.number = ?")
            params.append(version)
    if dataset:
        where.append("d.name = ?")
        params.append(dataset)
    models_ranked = [r[0] for r in store.db.execute(
        "SELECT m.name FROM runs r JOIN models m ON m.id = r.model_id "
        "JOIN versions v ON v.id = r.version_id JOIN datasets d ON d.id = r.dataset_id "
        f"WHERE {' AND '.join(where)} GROUP BY m.name "
        "ORDER BY max(coalesce(r.started_at, r.created_at)) DESC", params)]
    shown = sorted(models_ranked[:max_models])
    if not shown:
        return ChartData([], [], 0, 0)
    where.append(f"m.name IN ({', '.join('?' * len(shown))})")
    extracts = ", ".join(f"json_extract(r.metrics, '{path}')" for _, path in METRICS)
    ts = _EPOCH.format("coalesce(r.started_at, r.created_at)")
    cursor = store.db.execute(
        f"SELECT r.id, m.name, v.number, d.name, {ts} AS ts, {extracts} FROM runs r "
        "JOIN models m ON m.id = r.model_id JOIN versions v ON v.id = r.version_id "
        f"JOIN datasets d ON d.id = r.dataset_id WHERE {' AND '.join(where)} "
        "ORDER BY m.name, ts, r.id", [*params, *shown])
    by_model: dict[str, Series] = {}
    n_runs = 0
    for run_id, name, number, dataset_name, x, *numbers in cursor:
        series = by_model.get(name)
        if series is None:
            series = by_model[name] = Series(name)
        series.run_ids.append(run_id)
        series.versions.append(number)
        series.datasets.append(dataset_name)
        series.x.append(x)
        for (key, _), value in zip(METRICS, numbers, strict=True):
            series.values[key].append(_number(value))
        n_runs += 1
    markers = version_markers(store, shown, version) + deploy_markers(store, shown, version)
    return ChartData([by_model[name] for name in shown if name in by_model],
                     sorted(markers, key=lambda m: m.x), n_runs, len(models_ranked))


def version_markers(store: Store, models: list[str], version: int | None = None) -> list[Marker]:
    """One marker per registered version of ``models`` (the newest ``MAX_MARKERS``)."""
    if not models:
        return []
    sql = (f"SELECT {_EPOCH.format('v.created_at')} AS ts, m.name, v.number, v.note "
           "FROM versions v JOIN models m ON m.id = v.model_id "
           f"WHERE m.name IN ({', '.join('?' * len(models))})")
    params: list[Any] = list(models)
    if version is not None:
        sql += " AND v.number = ?"
        params.append(version)
    rows = store.db.execute(sql + f" ORDER BY ts DESC, v.id DESC LIMIT {MAX_MARKERS}",
                            params).fetchall()
    return [Marker(ts, name, "version", f"v{number}",
                   f"{name}:{number} registered" + (f": {note}" if note else ""))
            for ts, name, number, note in reversed(rows)]


def deploy_markers(store: Store, models: list[str], version: int | None = None) -> list[Marker]:
    """One marker per deploy or rollback of ``models`` (empty without the deploy module)."""
    try:
        from mlops_desk.core import deploy
    except ImportError:  # a build without deployments: charts still work
        return []
    markers: list[Marker] = []
    for name in models:
        for move in deploy.history(store, name)[-MAX_MARKERS:]:
            if version is not None and move.to_version != version:
                continue
            verb = "rolled back to" if move.action == "rollback" else "deployed"
            markers.append(Marker(
                iso_to_epoch(move.ts), name, "deploy", f"v{move.to_version} → {move.environment}",
                f"{name}:{move.to_version} {verb} to {move.environment} by {move.user}"
                + (f": {move.reason}" if move.reason else "")))
    return markers


def iso_to_epoch(text: str) -> float:
    """Our ISO-8601 UTC timestamps (``...Z``) as float epoch seconds."""
    return datetime.fromisoformat(text).timestamp()


def _number(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan
