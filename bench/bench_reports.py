"""Report benchmark: size and time per format for a 10,000-row run (and its comparison).

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_reports.py [--rows 10000]

The runs are written straight into a temporary registry with the test factory (no
engine, no network): ~10 % wrong answers with 200-character outputs, 1 % errors, spread
latencies and costs. Each format is exported through ``export_report``, as the CLI does,
so the time includes reading the registry, rendering, the atomic write and the audit event.
Targets (issue 10): HTML < 2 MB, Markdown < 65,000 characters, every format < 2 s (wall
time, checked; CPU time is printed too, since a busy machine stretches wall time).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LABELS = ["bug", "billing", "feature", "account", "other"]


def build(store, directory: Path, n_rows: int) -> tuple[int, int]:
    from mlops_desk.core import registry
    from tests.support.run_factory import make_test_dataset, make_test_run

    rng = random.Random(7)
    registry.add_endpoint(store, "bench", base_url="http://127.0.0.1:9/v1",
                          prices={"*": [0.15, 0.6]})
    registry.create_model(store, "triage", labels=LABELS)
    versions = []
    for n in (1, 2):
        config = registry.make_config(endpoint="bench", model_id="m", template="{text}",
                                      system_prompt=f"Classify the ticket (v{n}).")
        versions.append(registry.register_version(store, "triage", config)[0])
    rows = [{"text": f"Ticket {i}: " + " ".join(rng.choice(("printer", "invoice", "login",
                                                            "crash", "refund", "slow"))
                                                 for _ in range(30)),
             "expected": LABELS[i % len(LABELS)]} for i in range(n_rows)]
    dataset = make_test_dataset(store, directory, "bench-set", rows)
    run_ids = []
    for version, wrong_share in zip(versions, (0.12, 0.08), strict=True):
        results = []
        for row in rows:
            wrong = rng.random() < wrong_share
            failed = rng.random() < 0.01
            prediction = rng.choice(LABELS) + " because " + "x" * 190 if wrong else row["expected"]
            results.append({"expected": row["expected"], "prediction": prediction,
                            "latency_ms": rng.lognormvariate(5.5, 0.5),
                            "prompt_tokens": 60, "completion_tokens": 3,
                            "cost": 60 * 0.15e-6 + 3 * 0.6e-6,
                            "error_class": "timeout" if failed else None})
        run_ids.append(make_test_run(store, version, dataset, results, wall_s=120.0))
    return run_ids[0], run_ids[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args(argv)

    from mlops_desk.core.reports import FORMATS, export_report
    from mlops_desk.core.store import Store
    from mlops_desk.ui.report_pdf import render_pdf

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        store = Store(directory / "bench.db")
        started = time.perf_counter()
        run_a, run_b = build(store, directory, args.rows)
        print(f"built two {args.rows:,}-row runs in {time.perf_counter() - started:.1f} s")
        render_pdf({"kind": "audit", "title": "warm-up", "generator": "bench", **_empty()})
        failures = []
        for kind, subject in (("run", {"run_id": run_b}), ("compare", {"run_ids": [run_a, run_b]})):
            print(f"\n{kind} report, {args.rows:,} rows")
            print(f"{'FORMAT':6}  {'SIZE':>12}  {'WALL':>7}  {'CPU':>7}")
            for fmt in FORMATS:
                path = directory / f"{kind}.{fmt}"
                started, cpu = time.perf_counter(), time.process_time()
                export_report(store, kind, subject, path, render_pdf=render_pdf)
                elapsed = time.perf_counter() - started
                cpu = time.process_time() - cpu
                size = path.stat().st_size
                chars = len(path.read_text(encoding="utf-8")) if fmt == "md" else None
                shown = f"{chars:,} ch" if chars is not None else f"{size / 1e6:.2f} MB"
                print(f"{fmt:6}  {shown:>12}  {elapsed:6.2f}s  {cpu:6.2f}s")
                if elapsed >= 2.0:
                    failures.append(f"{kind} {fmt} took {elapsed:.2f} s")
                if fmt == "html" and size >= 2_000_000:
                    failures.append(f"{kind} html is {size:,} bytes")
                if chars is not None and chars >= 65_000:
                    failures.append(f"{kind} md has {chars:,} characters")
        store.close()
    print("\ntargets met" if not failures else "\nMISSED: " + "; ".join(failures))
    return 0 if not failures else 1


def _empty() -> dict:
    """The smallest audit report, to load Qt's fonts before the first timed PDF."""
    return {"schema_version": 1, "subject": "audit", "generated_at": "", "database": "",
            "audit_head": {"event_id": 0, "hash": None}, "range": {},
            "verify": {"ok": True, "n_events": 0}, "n_events": 0, "truncated": False,
            "events": []}


if __name__ == "__main__":
    raise SystemExit(main())
