"""Run metrics over time, per model, for the Charts page (and anything else that plots).

One query pulls only the numbers a chart needs out of each completed run's metrics
(``json_extract``, so 10,000 runs never parse their confusion matrices), with x as
float epoch seconds, the unit pyqtgraph's ``DateAxisItem`` reads. Missing values are
NaN so a plotted line simply breaks there. Markers are the moments a version was
registered or deployed.

Like with like: one series per (model, dataset), since accuracy on an easy 30-row set and on
the gate set are not one line. ``reference_only`` keeps each model's reference dataset
(``core.reference``), the Charts page's default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlops_desk.core import metric_catalogue
from mlops_desk.core.reference import reference_datasets
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
    """One model's completed runs on one dataset in time order; lists are parallel."""

    model: str
    dataset: str = ""
    model_id: int = 0  # a stable key for the model's colour
    reference: bool = False  # the dataset is the model's reference dataset
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
    parts: tuple[tuple[int, str], ...] = ()  # (version, environment) behind the label


@dataclass
class ChartData:
    series: list[Series]
    markers: list[Marker]
    n_runs: int
    models_with_runs: int  # before MAX_MODELS cut the list

    @property
    def truncated(self) -> bool:
        return self.models_with_runs > len({s.model for s in self.series})


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
                    dataset: str | None = None, reference_only: bool = False,
                    max_models: int = MAX_MODELS) -> ChartData:
    """Completed runs, filtered, one series per (model, dataset), each sorted by time.

    ``reference_only``: each model's runs on its reference dataset only."""
    where, params = ["r.status = 'completed'", "r.metrics IS NOT NULL"], []
    references = reference_datasets(store)
    if reference_only:
        if not references:
            return ChartData([], [], 0, 0)
        where.append(f"(m.name, d.name) IN (VALUES {', '.join(['(?, ?)'] * len(references))})")
        params += [part for ref in references.values() for part in (ref.model, ref.dataset)]
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
        f"SELECT r.id, m.name, m.id, v.number, d.name, {ts} AS ts, {extracts} FROM runs r "
        "JOIN models m ON m.id = r.model_id JOIN versions v ON v.id = r.version_id "
        f"JOIN datasets d ON d.id = r.dataset_id WHERE {' AND '.join(where)} "
        "ORDER BY m.name, d.name, ts, r.id", [*params, *shown])
    by_line: dict[tuple[str, str], Series] = {}
    n_runs = 0
    for run_id, name, model_id, number, dataset_name, x, *numbers in cursor:
        series = by_line.get((name, dataset_name))
        if series is None:
            ref = references.get(name)
            series = by_line[name, dataset_name] = Series(
                name, dataset_name, model_id, ref is not None and ref.dataset == dataset_name)
        series.run_ids.append(run_id)
        series.versions.append(number)
        series.datasets.append(dataset_name)
        series.x.append(x)
        for (key, _), value in zip(METRICS, numbers, strict=True):
            series.values[key].append(_number(value))
        n_runs += 1
    markers = version_markers(store, shown, version) + deploy_markers(store, shown, version)
    # Per model, its reference dataset's line first, then the others by name.
    lines = sorted(by_line.values(), key=lambda s: (s.model, not s.reference, s.dataset))
    return ChartData(lines, sorted(markers, key=lambda m: m.x), n_runs, len(models_ranked))


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
                   f"{name}:{number} registered" + (f": {note}" if note else ""),
                   ((number, ""),))
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
                + (f": {move.reason}" if move.reason else ""),
                ((move.to_version, move.environment),)))
    return markers


def merge_markers(markers: list[Marker], within_s: float = 3600.0) -> list[Marker]:
    """One line for markers of the same model and kind within an hour (e.g. a deploy to
    staging and one to production minutes apart); two models never share a line.

    A merged deploy label groups versions by environment: ``v2, v4 → staging``."""
    merged: list[Marker] = []
    open_by_key: dict[tuple[str, str], int] = {}  # (model, kind) -> its newest line in merged
    for marker in sorted(markers, key=lambda m: m.x):
        key = (marker.model, marker.kind)
        at = open_by_key.get(key)
        last = merged[at] if at is not None else None
        if last is not None and marker.x - last.x <= within_s:
            parts = last.parts + marker.parts
            label = (_label(marker.kind, parts) if last.parts and marker.parts
                     else f"{last.label}, {marker.label}")
            merged[at] = Marker(last.x, last.model, last.kind, label,
                                f"{last.detail}; {marker.detail}", parts)
        else:
            open_by_key[key] = len(merged)
            merged.append(marker)
    return merged


def _label(kind: str, parts: tuple[tuple[int, str], ...]) -> str:
    by_env: dict[str, list[int]] = {}
    for number, env in parts:
        if number not in by_env.setdefault(env, []):
            by_env[env].append(number)
    texts = [", ".join(f"v{n}" for n in numbers) + (f" → {env}" if kind == "deploy" else "")
             for env, numbers in by_env.items()]
    return "; ".join(texts)


def stack_lanes(spans: list[tuple[float, float]], gap: float = 0.0) -> list[int]:
    """A lane (0, 1, 2, ...) per ``(start, end)`` span so spans in one lane never overlap:
    marker labels are stacked rather than printed over each other. Greedy, in input order,
    each span takes the lowest lane that is free at its start."""
    ends: list[float] = []  # the right edge of the last span in each lane
    lanes = []
    for start, end in spans:
        lane = next((i for i, right in enumerate(ends) if right + gap <= start), len(ends))
        if lane == len(ends):
            ends.append(end)
        else:
            ends[lane] = end
        lanes.append(lane)
    return lanes


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
