"""Start-up benchmark: process start to main window shown, on a big registry.

    .venv/bin/python bench/bench_startup.py              # 1,000 models, 10,000 versions,
                                                         # 1,000 runs; 5 starts
    .venv/bin/python bench/bench_startup.py --starts 10

The registry is written with bulk inserts (no audit events: it is only read here). Each
start is a fresh process running the real entry point (``mlops-desk --db PATH``, which
opens the window, offscreen); a zero-delay timer armed before the event loop starts fires
once the window has been shown, and the child prints the clock. The parent measures from
just before it spawned the process. Also printed: when the first page finished loading
its data (the task runner went idle). Target: window shown in under 1.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 1.5

CHILD = r"""
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

app = QApplication(sys.argv[:1])
marks = {}

def main_window():
    return next((w for w in app.topLevelWidgets()
                 if type(w).__name__ == "MainWindow" and w.isVisible()), None)

def shown():
    marks["shown"] = time.time()
    poll.start()

def idle():
    window = main_window()
    if window is not None and window.ctx.tasks.active == 0:
        marks["idle"] = time.time()
        poll.stop()
        print("MARKS", marks["shown"], marks["idle"], flush=True)
        window.close()

poll = QTimer()
poll.setInterval(5)
poll.timeout.connect(idle)
QTimer.singleShot(0, shown)  # the first event-loop turn: after window.show()
from mlops_desk.cli import main
sys.exit(main(["--db", sys.argv[1]]))
"""


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build_registry(path: Path, n_models: int, n_versions: int, n_runs: int) -> None:
    """Bulk-insert a registry: models with their environments, versions, runs with metrics."""
    sys.path.insert(0, str(ROOT))
    from mlops_desk.core import registry
    from mlops_desk.core.store import Store
    from tests.support.run_factory import make_test_dataset

    store = Store(path)
    registry.add_endpoint(store, "bench", base_url="http://127.0.0.1:9/v1")
    rows = [{"text": f"row {i}", "expected": "a" if i % 2 else "b"} for i in range(20)]
    dataset = make_test_dataset(store, path.parent, "bench-rows", rows)
    now = datetime.now(UTC)
    per_model = n_versions // n_models
    labels = json.dumps(["a", "b"])
    metrics = {"accuracy": 0.8, "accuracy_ci_low": 0.75, "accuracy_ci_high": 0.85,
               "latency_p95_ms": 250.0, "error_rate": 0.01, "cost_per_1k": 0.4, "n_rows": 20}
    conn = store.conn
    with store.transaction():
        conn.executemany(
            "INSERT INTO models (id, name, kind, labels, description, created_at) "
            "VALUES (?, ?, 'classification', ?, '', ?)",
            [(m, f"model-{m:04d}", labels, iso(now - timedelta(days=400))) for m in
             range(1, n_models + 1)])
        conn.executemany(
            "INSERT INTO environments (model_id, name, created_at, updated_at) "
            "VALUES (?, ?, ?, ?)",
            [(m, env, iso(now), iso(now)) for m in range(1, n_models + 1)
             for env in ("staging", "production")])
        versions = []
        for m in range(1, n_models + 1):
            for n in range(1, per_model + 1):
                config = registry.make_config(endpoint="bench", model_id=f"m-{n}",
                                              system_prompt=f"prompt {m} {n}")
                versions.append((len(versions) + 1, m, n, registry.fingerprint(config),
                                 json.dumps(config), iso(now - timedelta(days=per_model - n))))
        conn.executemany(
            "INSERT INTO versions (id, model_id, number, fingerprint, config, note, tags, "
            "archived, created_at, created_by) VALUES (?, ?, ?, ?, ?, '', '[]', 0, ?, 'bench')",
            versions)
        runs = []
        for r in range(n_runs):
            model = r % n_models + 1
            version_id = (model - 1) * per_model + per_model  # each model's newest version
            started = iso(now - timedelta(hours=r))
            runs.append((model, version_id, dataset.id,
                         json.dumps({**metrics, "accuracy": 0.7 + (r % 20) / 100}),
                         started, started, started))
        conn.executemany(
            "INSERT INTO runs (model_id, version_id, dataset_id, status, settings, n_total, "
            "metrics, created_at, started_at, finished_at, created_by) "
            "VALUES (?, ?, ?, 'completed', '{}', 20, ?, ?, ?, ?, 'bench')", runs)
    store.close()


def start_once(db: Path, env: dict[str, str]) -> tuple[float, float]:
    started = time.time()
    out = subprocess.run([sys.executable, "-c", CHILD, str(db)], capture_output=True, text=True,
                         env=env, timeout=60, cwd=ROOT)
    line = next((x for x in out.stdout.splitlines() if x.startswith("MARKS ")), None)
    if line is None:
        raise RuntimeError(f"the app did not report start-up:\n{out.stdout}\n{out.stderr}")
    shown, idle = (float(v) for v in line.split()[1:])
    return shown - started, idle - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1_000)
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "registry.db"
        built = time.perf_counter()
        build_registry(db, args.models, args.versions, args.runs)
        print(f"registry: {args.models:,} models, {args.versions:,} versions, {args.runs:,} runs "
              f"(built in {time.perf_counter() - built:.1f} s)")
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": tmp,
               "MLOPS_DESK_LOG_DIR": str(Path(tmp) / "logs")}
        start_once(db, env)  # warm the OS file cache, as a second start of the day would
        results = [start_once(db, env) for _ in range(args.starts)]
    shown = [r[0] for r in results]
    idle = [r[1] for r in results]
    median = statistics.median(shown)
    print(f"process start -> main window shown: median {median:.2f} s, best {min(shown):.2f} s, "
          f"worst {max(shown):.2f} s over {args.starts} starts (target < {TARGET_S:g} s: "
          f"{'PASS' if median < TARGET_S else 'FAIL'})")
    print(f"process start -> first page loaded (task runner idle): median "
          f"{statistics.median(idle):.2f} s")
    return 0 if median < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
