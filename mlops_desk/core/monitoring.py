"""Gateway traffic over time, and drift of production traffic against the tested reference.

Traffic: the ``gateway_requests`` log bucketed per minute and version (requests, errors,
p50/p95 latency of the answered requests, cost).

Drift: the deployed version's production traffic in the last window against its
*reference*, the gate run it was deployed on (failing that, its latest completed run on the
gate dataset, or on any dataset). Two signals:

- output labels (classification models): PSI and a chi-square test of homogeneity;
- input length (characters of the last user message; for the reference, the rendered
  template of each row): two-sample Kolmogorov-Smirnov.

A signal fires only when it is both significant (p < ``alpha``) and large enough to matter
(PSI / KS D at least the minimum), so a big window does not alarm on trivial shifts and a
tiny one does not alarm on noise.

Reading never writes: ``check_drift`` and ``monitor`` only read, whatever window the
reader chose. Only ``record_drift`` writes: on the fixed ``RECORD_WINDOW_S`` with the
default thresholds, it appends an audit event when a model starts (or stops) drifting, not
on every check. The gateway's request-log writer calls it every few minutes for the models
that had traffic, and ``mlops-desk monitor --record`` calls it for CI; so the audit log
says the same whoever looked, and how.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from mlops_desk.core import audit, drift
from mlops_desk.core.deploy import served_version
from mlops_desk.core.errors import NotFound
from mlops_desk.core.inference import render_messages
from mlops_desk.core.metrics import percentile
from mlops_desk.core.registry import Version, get_model, get_version
from mlops_desk.core.store import Store
from mlops_desk.core.user_input import parse_duration  # noqa: F401  (callers use monitoring.)

OTHER = "(other)"

# -- traffic ---------------------------------------------------------------------


def _request_rows(store: Store, model_id: int, since: float, until: float) -> list[tuple]:
    return store.db.execute(
        "SELECT g.ts, v.number, g.environment, g.latency_ms, g.status, g.cost "
        "FROM gateway_requests g JOIN versions v ON v.id = g.version_id "
        "WHERE g.model_id = ? AND g.ts >= ? AND g.ts < ? ORDER BY g.ts",
        [model_id, since, until]).fetchall()


def _aggregate(rows: list[tuple]) -> dict[str, Any]:
    """Counts over every request; latency over the answered ones (as in run metrics)."""
    latencies = [r[3] for r in rows if r[4] == 200]
    errors = sum(1 for r in rows if r[4] != 200)
    costs = [r[5] for r in rows if r[5] is not None]
    return {
        "requests": len(rows), "errors": errors,
        "error_rate": errors / len(rows) if rows else None,
        "latency_p50_ms": percentile(latencies, 50), "latency_p95_ms": percentile(latencies, 95),
        "cost": sum(costs) if costs else None,
    }


def traffic(store: Store, model_name: str, *, since: float, until: float | None = None,
            bucket_s: int = 60) -> list[dict[str, Any]]:
    """Per bucket (epoch seconds) and version: the figures the Monitor page charts."""
    model = get_model(store, model_name)
    until = time.time() if until is None else until
    groups: dict[tuple[float, int], list[tuple]] = defaultdict(list)
    for row in _request_rows(store, model.id, since, until):
        groups[(row[0] // bucket_s * bucket_s, row[1])].append(row)
    return [{"t": t, "version": number, **_aggregate(rows)}
            for (t, number), rows in sorted(groups.items())]


def summary(store: Store, model_name: str, *, since: float,
            until: float | None = None) -> dict[str, Any]:
    """Totals over the window, overall and per version and environment."""
    model = get_model(store, model_name)
    until = time.time() if until is None else until
    rows = _request_rows(store, model.id, since, until)
    by_target: dict[tuple[int, str | None], list[tuple]] = defaultdict(list)
    for row in rows:
        by_target[(row[1], row[2])].append(row)
    ordered = sorted(by_target.items(), key=lambda item: (item[0][0], item[0][1] or ""))
    return {
        "model": model.name, "since": since, "until": until, **_aggregate(rows),
        "by_version": [{"version": number, "environment": env, **_aggregate(group)}
                       for (number, env), group in ordered],
    }


# -- drift -----------------------------------------------------------------------


@dataclass(frozen=True)
class DriftThresholds:
    alpha: float = 0.01  # significance for chi-square and KS
    psi_min: float = 0.1  # "moderate shift" in the usual PSI reading
    ks_d_min: float = 0.1
    min_samples: int = 30  # below this, on either side, no verdict

    def rule(self) -> str:
        """The alarm rule in one sentence, for whoever shows the statistics."""
        return (f"A signal means drift only when its test is significant (p < {self.alpha:g}) "
                f"and the shift is large enough (PSI ≥ {self.psi_min:g} for output labels, "
                f"KS D ≥ {self.ks_d_min:g} for input length); a small p alone is not drift.")


@dataclass
class DriftReport:
    model: str
    environment: str
    version: int | None
    reference_run_id: int | None
    window_s: float
    status: str  # ok | drift | insufficient data | no reference | nothing deployed
    reasons: list[str] = field(default_factory=list)
    n_reference: int = 0
    n_production: int = 0
    label_counts: dict[str, list[int]] = field(default_factory=dict)  # label -> [ref, prod]
    psi: float | None = None
    chi2: float | None = None
    chi2_df: int | None = None
    chi2_p: float | None = None
    ks_d: float | None = None
    ks_p: float | None = None

    @property
    def drifting(self) -> bool:
        return self.status == "drift"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "drifting": self.drifting}


def reference_run(store: Store, model_id: int, environment: str,
                  version: Version) -> int | None:
    row = store.db.execute(
        "SELECT gate_run_id FROM deployments WHERE model_id = ? AND environment = ? "
        "AND to_version_id = ? AND gate_run_id IS NOT NULL ORDER BY id DESC LIMIT 1",
        [model_id, environment, version.id]).fetchone()
    if row:
        return row[0]
    row = store.db.execute(
        "SELECT r.id FROM runs r LEFT JOIN gate_policies g ON g.model_id = r.model_id "
        "AND g.environment = ? WHERE r.version_id = ? AND r.status = 'completed' "
        "ORDER BY (r.dataset_id = g.dataset_id) DESC, r.finished_at DESC, r.id DESC LIMIT 1",
        [environment, version.id]).fetchone()
    return row[0] if row else None


def _label_of(value: str | None, labels: dict[str, str]) -> str | None:
    if value is None:
        return None
    return labels.get(str(value).strip().casefold(), OTHER)


# A completed run never changes, so its sample is cached: the gateway re-checks drift every
# few minutes and a big reference run costs a second to re-read.
_REFERENCE_CACHE: dict[tuple, tuple[Counter, list[int]]] = {}
_REFERENCE_CACHE_SIZE = 8
_REFERENCE_LOCK = threading.Lock()


def _reference_sample(store: Store, run_id: int, version: Version,
                      labels: dict[str, str]) -> tuple[Counter, list[int]]:
    key = (str(store.path), run_id, version.id, tuple(sorted(labels.items())))
    with _REFERENCE_LOCK:
        cached = _REFERENCE_CACHE.get(key)
    if cached is None:
        cached = _read_reference(store, run_id, version, labels)
        with _REFERENCE_LOCK:
            while len(_REFERENCE_CACHE) >= _REFERENCE_CACHE_SIZE:
                _REFERENCE_CACHE.pop(next(iter(_REFERENCE_CACHE)))
            _REFERENCE_CACHE[key] = cached
    return cached


def _read_reference(store: Store, run_id: int, version: Version,
                    labels: dict[str, str]) -> tuple[Counter, list[int]]:
    rows = store.db.execute(
        "SELECT rr.prediction, d.data FROM run_results rr JOIN runs r ON r.id = rr.run_id "
        "JOIN dataset_rows d ON d.dataset_id = r.dataset_id AND d.idx = rr.row_idx "
        "WHERE rr.run_id = ? AND rr.error_class IS NULL", [run_id]).fetchall()
    predicted = Counter(label for p, _ in rows if (label := _label_of(p, labels)) is not None)
    lengths = []
    for _, data in rows:
        try:
            lengths.append(len(render_messages(version.config, json.loads(data))[-1]["content"]))
        except (KeyError, ValueError, IndexError):  # a row the template cannot fill
            continue
    return predicted, lengths


def _production_sample(store: Store, model_id: int, environment: str, version: Version,
                       since: float, until: float,
                       labels: dict[str, str]) -> tuple[Counter, list[int], int]:
    rows = store.db.execute(
        "SELECT label, input_chars FROM gateway_requests WHERE model_id = ? AND environment = ? "
        "AND version_id = ? AND status = 200 AND ts >= ? AND ts < ?",
        [model_id, environment, version.id, since, until]).fetchall()
    predicted = Counter(label for p, _ in rows if (label := _label_of(p, labels)) is not None)
    return predicted, [n for _, n in rows if n is not None], len(rows)


# Columns of one gateway request, in the order ``write_requests`` takes them.
REQUEST_COLUMNS = ("ts", "model_id", "environment", "version_id", "latency_ms", "status",
                   "prompt_tokens", "completion_tokens", "cost", "error", "input_chars",
                   "label", "stream")
_INSERT_REQUESTS = (f"INSERT INTO gateway_requests ({', '.join(REQUEST_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(REQUEST_COLUMNS))})")


def write_requests(store: Store, rows: list[tuple]) -> None:
    """Append logged gateway requests in one transaction (an MlopsError leaves none written)."""
    with store.transaction() as db:
        db.conn.executemany(_INSERT_REQUESTS, rows)


RECORD_WINDOW_S = 3600.0  # the one window drift state changes are recorded on


def check_drift(store: Store, model_name: str, *, environment: str = "production",
                window_s: float = 3600.0, now: float | None = None,
                thresholds: DriftThresholds | None = None) -> DriftReport:
    """Drift of the deployed version's traffic over the last ``window_s``; reads only."""
    t = thresholds or DriftThresholds()
    model = get_model(store, model_name)
    now = time.time() if now is None else now
    try:
        number = served_version(store, model.name, environment)
    except NotFound:  # no such environment: nothing can be deployed there
        number = None
    if number is None:
        return DriftReport(model.name, environment, None, None, window_s, "nothing deployed")
    version = get_version(store, model.name, number)
    run_id = reference_run(store, model.id, environment, version)
    report = DriftReport(model.name, environment, version.number, run_id, window_s,
                         "no reference")
    if run_id is None:
        return report
    labels = {label.casefold(): label for label in reversed(model.labels)}
    ref_labels, ref_lengths = _reference_sample(store, run_id, version, labels)
    prod_labels, prod_lengths, n_prod = _production_sample(
        store, model.id, environment, version, now - window_s, now, labels)
    report.n_reference, report.n_production = len(ref_lengths), n_prod
    if min(len(ref_lengths), len(prod_lengths)) < t.min_samples:
        report.status = "insufficient data"
        report.reasons.append(f"{n_prod} production request(s) in the window, "
                              f"{len(ref_lengths)} reference row(s); need {t.min_samples} each")
        return report

    report.ks_d, report.ks_p = drift.ks_test(ref_lengths, prod_lengths)
    if report.ks_p < t.alpha and report.ks_d >= t.ks_d_min:
        report.reasons.append(
            f"input length drifted: KS D = {report.ks_d:.3f} (>= {t.ks_d_min:g}), "
            f"p = {report.ks_p:.3g} (< {t.alpha:g}); reference run {run_id}")
    if labels and min(sum(ref_labels.values()), sum(prod_labels.values())) >= t.min_samples:
        report.label_counts = {k: [ref_labels[k], prod_labels[k]]
                               for k in sorted(set(ref_labels) | set(prod_labels))}
        report.psi = drift.psi(ref_labels, prod_labels)
        report.chi2, report.chi2_df, report.chi2_p = drift.chi_square(ref_labels, prod_labels)
        if report.chi2_p < t.alpha and report.psi >= t.psi_min:
            report.reasons.append(
                f"output labels drifted: PSI = {report.psi:.3f} (>= {t.psi_min:g}), "
                f"chi-square p = {report.chi2_p:.3g} (< {t.alpha:g}); reference run {run_id}")
    report.status = "drift" if report.reasons else "ok"
    return report


def record_drift(store: Store, model_name: str, *, environment: str = "production",
                 now: float | None = None) -> DriftReport:
    """Check drift on the fixed window and audit a change of state (ok -> drift, drift ->
    ok) once, not every check. The only writer of drift state."""
    report = check_drift(store, model_name, environment=environment,
                         window_s=RECORD_WINDOW_S, now=now)
    if report.status not in ("ok", "drift"):
        return report
    key = f"drift:{report.model}@{report.environment}"
    with store.transaction() as db:
        row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        was = json.loads(row[0]).get("drifting", False) if row else False
        if was == report.drifting:
            return report
        db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                   "SET value = excluded.value", [key, json.dumps({"drifting": report.drifting,
                                                                   "since": time.time()})])
        details = {k: v for k, v in report.to_dict().items() if k != "label_counts"}
        audit.append(store, "drift.warning" if report.drifting else "drift.cleared",
                     f"model:{report.model}", details)
    return report


def monitor(store: Store, model_name: str, *, window_s: float = 3600.0,
            now: float | None = None) -> dict[str, Any]:
    """The ``monitor`` command's figures: totals, per-minute traffic and drift (reads only)."""
    now = time.time() if now is None else now
    since = now - window_s
    data = summary(store, model_name, since=since, until=now)
    data["per_minute"] = traffic(store, model_name, since=since, until=now)
    data["drift"] = check_drift(store, model_name, window_s=window_s, now=now).to_dict()
    return data
