"""What the Overview and Models pages summarise: per-model and per-version run figures.

Qt-free and read-only; the GUI calls these in a worker thread. Plain SQL on ``store.conn``:
metrics are read with ``json_extract`` so thousands of runs never parse whole metrics blobs,
and the Overview (the first page shown) does not wait for sqlite-utils' pandas import.

Like with like: every figure of a model is read on its reference dataset
(``core.reference``: the chosen one, else its gate dataset, else the one most of its runs
used), so a run on an easy 30-row set never replaces the gate-set accuracy in a summary.

Regression rule (shown to the user as a tooltip): the latest completed run of a model on its
reference dataset is compared with the previous completed run on that dataset. It is
flagged when its accuracy is below the lower end of the previous run's 95% Wilson interval:
a drop that large is unlikely to be sampling noise at the previous run's size, while
anything inside the interval is not evidence of a change.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field

from mlops_desk.core.deploy import served
from mlops_desk.core.reference import Reference, reference_datasets
from mlops_desk.core.store import Store

HISTORY_POINTS = 30  # sparkline length: enough to see a trend, small enough to draw fast

REGRESSION_RULE = (
    "Flagged when the latest run's accuracy is below the lower end of the previous run's "
    "95% interval on the same dataset: a drop that size is unlikely to be noise."
)

_RUNS_SQL = """
SELECT r.id, r.model_id, v.number, d.name,
       coalesce(r.finished_at, r.created_at) AS ts,
       json_extract(r.metrics, '$.accuracy'),
       json_extract(r.metrics, '$.accuracy_ci_low'),
       json_extract(r.metrics, '$.accuracy_ci_high'),
       json_extract(r.metrics, '$.latency_p95_ms'),
       json_extract(r.metrics, '$.cost_per_1k'),
       json_extract(r.metrics, '$.n_scored')
FROM runs r
JOIN versions v ON v.id = r.version_id
JOIN datasets d ON d.id = r.dataset_id
WHERE r.status = 'completed' AND r.metrics IS NOT NULL
"""


@dataclass(frozen=True)
class RunPoint:
    """The figures of one completed run that the summaries show."""

    run_id: int
    version: int
    dataset: str
    finished_at: str
    accuracy: float | None
    ci_low: float | None
    ci_high: float | None
    latency_p95_ms: float | None
    cost_per_1k: float | None
    n_scored: int | None


@dataclass(frozen=True)
class ModelSummary:
    name: str
    kind: str
    n_versions: int
    latest_version: int | None
    production_version: int | None
    reference: Reference | None  # the dataset every figure below is on
    latest: RunPoint | None  # the most recent completed run on the reference dataset
    previous: RunPoint | None  # the one before it on the same dataset
    history: list[RunPoint] = field(default_factory=list)  # same dataset, oldest first
    regressed: bool = False


def is_regression(previous: RunPoint | None, latest: RunPoint | None) -> bool:
    """True when ``latest`` is below ``previous``'s interval (see the module docstring)."""
    if previous is None or latest is None:
        return False
    if latest.accuracy is None or previous.ci_low is None:
        return False
    return latest.accuracy < previous.ci_low


def load_overview(store: Store, *, history: int = HISTORY_POINTS) -> list[ModelSummary]:
    """One summary per model, by name."""
    conn = store.conn
    models = conn.execute(
        "SELECT m.id, m.name, m.kind, count(v.id), max(v.number) FROM models m "
        "LEFT JOIN versions v ON v.model_id = m.id GROUP BY m.id ORDER BY m.name"
    ).fetchall()
    runs_by_model: dict[int, list[RunPoint]] = defaultdict(list)
    for row in conn.execute(_RUNS_SQL + " ORDER BY r.model_id, ts, r.id"):
        runs_by_model[row[1]].append(_point(row))
    production = production_versions(store)
    references = reference_datasets(store)
    summaries = []
    for model_id, name, kind, n_versions, latest_version in models:
        reference = references.get(name)
        same = [p for p in runs_by_model.get(model_id, [])
                if reference is not None and p.dataset == reference.dataset]
        latest = same[-1] if same else None
        previous = same[-2] if len(same) >= 2 else None
        summaries.append(ModelSummary(
            name=name, kind=kind, n_versions=n_versions, latest_version=latest_version,
            production_version=production.get(name), reference=reference, latest=latest,
            previous=previous, history=same[-history:],
            regressed=is_regression(previous, latest),
        ))
    return summaries


def latest_by_version(store: Store, model_name: str,
                      dataset: str | None = None) -> dict[int, RunPoint]:
    """Version number -> its most recent completed run on ``dataset`` (None: any dataset)."""
    sql = _RUNS_SQL + " AND r.model_id = (SELECT id FROM models WHERE name = ?)"
    params = [model_name]
    if dataset is not None:
        sql += " AND d.name = ?"
        params.append(dataset)
    rows = store.conn.execute(sql + " ORDER BY ts, r.id", params)
    latest: dict[int, RunPoint] = {}
    for row in rows:
        point = _point(row)
        latest[point.version] = point  # ascending order: the last one wins
    return latest


def production_versions(store: Store) -> dict[str, int]:
    """Model name -> the version its ``production`` environment points at (deployed ones).

    One query (``deploy.served``) instead of three per model: the Overview lists every model
    at once.
    """
    try:
        return {s.model: s.version for s in served(store, environment="production")}
    except sqlite3.OperationalError:  # a schema without deploys
        return {}


def environments_by_version(store: Store, model_name: str) -> dict[int, list[str]]:
    """Version number -> the environments (production, staging, ...) pointing at it."""
    try:
        rows = sorted(served(store, model=model_name), key=lambda s: s.environment)
    except sqlite3.OperationalError:  # a schema without deploys
        return {}
    found: dict[int, list[str]] = defaultdict(list)
    for s in rows:
        found[s.version].append(s.environment)
    return dict(found)


def _point(row: tuple) -> RunPoint:
    return RunPoint(
        run_id=row[0], version=row[2], dataset=row[3], finished_at=row[4],
        accuracy=row[5], ci_low=row[6], ci_high=row[7], latency_p95_ms=row[8],
        cost_per_1k=row[9], n_scored=row[10],
    )
