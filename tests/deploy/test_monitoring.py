"""Traffic aggregation and drift: statistics against hand-computed values, then end to end."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from mlops_desk.core import audit, deploy, drift, gates, monitoring
from mlops_desk.core.errors import BadInput
from mlops_desk.core.inference import render_messages
from tests.deploy.world import World

T0 = 1_800_000_000.0  # a fixed "now" for the windows below (a whole minute)


# -- statistics ------------------------------------------------------------------

REF = Counter(bug=50, billing=30, other=20)
CUR = Counter(bug=20, billing=30, other=50)


def test_psi_by_hand() -> None:
    # (0.2 - 0.5) ln(0.2/0.5) + 0 + (0.5 - 0.2) ln(0.5/0.2) = 0.6 ln 2.5
    assert drift.psi(REF, CUR) == pytest.approx(0.6 * math.log(2.5), rel=1e-12)
    assert drift.psi(REF, REF) == 0.0
    # A label seen on one side only stays finite thanks to the epsilon.
    one_sided = drift.psi(Counter(a=10), Counter(a=5, b=5))
    expected = (1e-4 - 0.5) * 0 + (0.5 - 1.0) * math.log(0.5) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert one_sided == pytest.approx(expected)


def test_chi_square_by_hand() -> None:
    # Column totals 70, 60, 70 of N = 200: expected 35, 30, 35 per row.
    stat, df, p = drift.chi_square(REF, CUR)
    assert stat == pytest.approx(4 * 15**2 / 35)
    assert df == 2
    assert p == pytest.approx(math.exp(-stat / 2), rel=1e-9)  # chi2(2) survival is exp(-x/2)
    assert drift.chi_square(Counter(a=3), Counter(a=9)) == (0.0, 0, 1.0)


@pytest.mark.parametrize(("x", "df", "p"), [
    (3.841458820694124, 1, 0.05), (6.634896601021214, 1, 0.01), (9.487729036781154, 4, 0.05),
    (18.307038053275146, 10, 0.05), (0.0, 3, 1.0), (1.0, 1, math.erfc(math.sqrt(0.5))),
])
def test_chi_square_survival_matches_tables(x: float, df: int, p: float) -> None:
    assert drift.chi2_sf(x, df) == pytest.approx(p, rel=1e-9)


def test_ks_by_hand() -> None:
    # ECDF gaps at 1, 2, 3, 4: 1/4, 2/4, 3/4 - 1/6, 1 - 2/6 -> D = 2/3 at x = 4.
    a, b = [1, 2, 3, 4], [3, 4, 5, 6, 7, 8]
    d, p = drift.ks_test(a, b)
    assert d == pytest.approx(2 / 3)
    en = math.sqrt(4 * 6 / 10)
    lam = (en + 0.12 + 0.11 / en) * d
    series = 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 50))
    assert p == pytest.approx(series)
    assert drift.ks_statistic([1, 1, 2], [1, 2, 2]) == pytest.approx(1 / 3)  # ties step together
    assert drift.ks_test([5] * 40, [5] * 40) == (0.0, 1.0)


def test_kolmogorov_distribution_matches_tables() -> None:
    assert drift.kolmogorov_sf(1.0) == pytest.approx(0.27, abs=5e-5)
    assert drift.kolmogorov_sf(1.3581) == pytest.approx(0.05, abs=1e-4)
    assert drift.kolmogorov_sf(1.6276) == pytest.approx(0.01, abs=1e-4)


def test_durations() -> None:
    assert [monitoring.parse_duration(t) for t in ("90", "90s", "15m", "1h", "2d", "1w")] == [
        90, 90, 900, 3600, 172800, 604800]
    for bad in ("", "1y", "-5m", "0"):
        with pytest.raises(BadInput):
            monitoring.parse_duration(bad)


# -- traffic ---------------------------------------------------------------------


def log_requests(world: World, rows: list[dict]) -> None:
    model_id = world.store.db.execute("SELECT id FROM models WHERE name='triage'").fetchone()[0]
    with world.store.transaction() as db:
        for r in rows:
            db.execute(
                "INSERT INTO gateway_requests (ts, model_id, environment, version_id, latency_ms, "
                "status, cost, input_chars, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [r["ts"], model_id, r.get("env", "production"), world.version(r.get("v", 1)).id,
                 r.get("latency_ms", 100.0), r.get("status", 200), r.get("cost"),
                 r.get("chars", 30), r.get("label", "bug")])


def test_traffic_per_minute_and_version(world: World) -> None:
    log_requests(world, [
        {"ts": T0 - 120 + 1, "latency_ms": 100, "cost": 0.01},
        {"ts": T0 - 120 + 2, "latency_ms": 300, "cost": 0.02},
        {"ts": T0 - 120 + 3, "latency_ms": 5000, "status": 502},  # errors: not in latency
        {"ts": T0 - 60 + 5, "latency_ms": 50, "v": 2, "env": "staging"},
        {"ts": T0 - 7200, "latency_ms": 1},  # outside the window
    ])
    rows = monitoring.traffic(world.store, "triage", since=T0 - 3600, until=T0)
    assert [(r["t"], r["version"], r["requests"], r["errors"]) for r in rows] == [
        (T0 - 120, 1, 3, 1), (T0 - 60, 2, 1, 0)]
    first = rows[0]
    assert first["error_rate"] == pytest.approx(1 / 3)
    assert first["latency_p50_ms"] == pytest.approx(200)
    assert first["latency_p95_ms"] == pytest.approx(100 + 0.95 * 200)
    assert first["cost"] == pytest.approx(0.03)
    total = monitoring.summary(world.store, "triage", since=T0 - 3600, until=T0)
    assert (total["requests"], total["errors"]) == (4, 1)
    assert [(v["version"], v["environment"], v["requests"]) for v in total["by_version"]] == [
        (1, "production", 3), (2, "staging", 1)]


# -- drift end to end ------------------------------------------------------------


def deployed_with_gate_run(world: World) -> int:
    gates.set_policy(world.store, "triage", "production", "gate-set", ["accuracy>=0.5"])
    run_id = world.run(1, wrong=[0, 3])
    deploy.deploy(world.store, "triage", 1, "production")
    return run_id


def reference_lengths(world: World) -> list[int]:
    config = world.version(1).config
    return [len(render_messages(config, {"text": f"ticket {i} ANSWER: {label}"})[-1]["content"])
            for i, label in enumerate(world.expected)]


def drift_events(world: World) -> list[str]:
    return [e["action"] for e in audit.list_events(world.store) if e["action"].startswith("drift")]


def test_drift_is_found_reported_once_and_cleared(world: World) -> None:
    run_id = deployed_with_gate_run(world)
    log_requests(world, [{"ts": T0 - 100 - i, "label": "bug", "chars": 400} for i in range(60)])
    report = monitoring.record_drift(world.store, "triage", now=T0)
    assert report.status == "drift" and report.reference_run_id == run_id
    assert (report.n_reference, report.n_production) == (40, 60)
    assert report.ks_d == 1.0 and report.ks_p < 1e-6
    assert report.psi > 1 and report.chi2_p < 1e-6
    # 14 rows expect "bug"; rows 0 and 3 (both "bug") were predicted "billing" in the run.
    assert report.label_counts == {"bug": [12, 60], "billing": [15, 0], "other": [13, 0]}
    assert any("input length drifted" in r for r in report.reasons)
    assert any("output labels drifted" in r for r in report.reasons)
    assert drift_events(world) == ["drift.warning"]
    monitoring.record_drift(world.store, "triage", now=T0)
    assert drift_events(world) == ["drift.warning"]  # still drifting: no second event

    # A later window whose traffic looks like the reference run clears it.
    later = T0 + 7200
    predictions = [r[0] for r in world.store.db.execute(
        "SELECT prediction FROM run_results WHERE run_id = ? ORDER BY row_idx", [run_id])]
    log_requests(world, [{"ts": later - 10 - i, "label": label, "chars": chars}
                         for i, (label, chars) in enumerate(zip(predictions,
                                                                reference_lengths(world),
                                                                strict=True))])
    calm = monitoring.record_drift(world.store, "triage", now=later)
    assert calm.status == "ok" and calm.psi == pytest.approx(0) and calm.ks_d == 0
    assert drift_events(world) == ["drift.warning", "drift.cleared"]


def test_drift_needs_enough_traffic_and_a_reference(world: World) -> None:
    assert monitoring.check_drift(world.store, "triage").status == "nothing deployed"
    deploy.deploy(world.store, "triage", 2, "production")
    assert monitoring.check_drift(world.store, "triage").status == "no reference"
    world.run(2)  # the version's latest completed run serves as its reference
    log_requests(world, [{"ts": T0 - 1 - i, "v": 2} for i in range(5)])
    report = monitoring.record_drift(world.store, "triage", now=T0)
    assert report.status == "insufficient data" and report.n_production == 5
    assert drift_events(world) == []


def test_monitor_bundles_totals_traffic_and_drift(world: World) -> None:
    deployed_with_gate_run(world)
    log_requests(world, [{"ts": T0 - 30, "latency_ms": 120, "cost": 0.5}])
    data = monitoring.monitor(world.store, "triage", window_s=600, now=T0)
    assert (data["requests"], data["errors"], data["latency_p95_ms"]) == (1, 0, 120)
    assert data["per_minute"][0]["requests"] == 1
    assert data["drift"]["status"] == "insufficient data"
    assert {"psi", "chi2_p", "ks_d", "ks_p", "drifting"} <= set(data["drift"])


def test_reading_drift_never_writes_whatever_the_window(world: World) -> None:
    deployed_with_gate_run(world)
    log_requests(world, [{"ts": T0 - 100 - i, "label": "bug", "chars": 400} for i in range(60)])
    events_before = len(audit.list_events(world.store))
    for window in (300, 3600, 86400, 30 * 86400):
        assert monitoring.check_drift(world.store, "triage", window_s=window,
                                      now=T0).status == "drift"
        assert monitoring.monitor(world.store, "triage", window_s=window,
                                  now=T0)["drift"]["drifting"]
    assert len(audit.list_events(world.store)) == events_before  # nothing appended
    assert drift_events(world) == []
    # Only the writer records, on its own fixed window, and once per change of state.
    assert monitoring.record_drift(world.store, "triage", now=T0).drifting
    assert monitoring.record_drift(world.store, "triage", now=T0 + 60).drifting
    assert drift_events(world) == ["drift.warning"]
    # Past the fixed window the traffic is gone: too little to say; nothing recorded.
    assert monitoring.record_drift(world.store, "triage", now=T0 + 2 * 3600).status == (
        "insufficient data")
    assert drift_events(world) == ["drift.warning"]
