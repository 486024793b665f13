"""GUI stall benchmark: the event loop's longest gap while a big run updates the window.

    .venv/bin/python bench/bench_gui_stall.py                  # 5,000 rows, concurrency 64
    .venv/bin/python bench/bench_gui_stall.py --rows 20000 --latency-ms 5

Two scenarios: the main window on the Runs page (progress bar, live throughput chart, runs
list, the run's detail); then the same plus a second window on the Charts page over 1,000
earlier runs, which redraws when the run ends. A heartbeat QTimer fires every 5 ms on the
GUI thread; the longest gap between two beats is the longest the window could not react.
The run is a child process, as in the app (the window follows it through the database), and
the endpoint is the loopback fake OpenAI server in its own process. Target: longest stall
under 50 ms. The last line is ``longest_stall_ms=<number>``, the worst over both scenarios.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HEARTBEAT_MS = 5
TARGET_MS = 50.0


def build_registry(db: Path, base_url: str, n_rows: int, history: int) -> None:
    from mlops_desk.core import registry
    from mlops_desk.core.datasets import import_dataset
    from mlops_desk.core.store import Store

    store = Store(db)
    registry.add_endpoint(store, "bench", base_url=base_url, timeout_s=30, max_concurrency=64,
                          prices={"*": [0.15, 0.6]})
    registry.create_model(store, "bench", labels=["positive", "negative", "neutral"])
    version, _ = registry.register_version(store, "bench", registry.make_config(
        endpoint="bench", model_id="fake-model", template="{text}", parser="label"))
    path = db.with_name("rows.csv")
    labels = ("positive", "negative", "neutral")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(n_rows):
            writer.writerow([f"review {i}: about item {i}\nANSWER: {labels[i % 3]}",
                             labels[i % 3]])
    dataset, _ = import_dataset(store, path, "rows", expected_col="label")
    _add_history(store, version, dataset.id, history)
    store.close()


def _add_history(store, version, dataset_id: int, n: int) -> None:
    """Earlier completed runs (no rows), so the Charts page has a real series to redraw."""
    metrics = {"accuracy": 0.9, "accuracy_ci_low": 0.88, "accuracy_ci_high": 0.92,
               "latency_p95_ms": 120.0, "error_rate": 0.0, "cost_per_1k": 0.3, "n_rows": 100}
    model_id = store.db.execute("SELECT id FROM models WHERE name = 'bench'").fetchone()[0]
    start = datetime.now(UTC) - timedelta(hours=n + 1)
    with store.transaction() as db:
        db.conn.executemany(
            "INSERT INTO runs (model_id, version_id, dataset_id, status, settings, n_total, "
            "metrics, created_at, started_at, finished_at, created_by) VALUES "
            "(?, ?, ?, 'completed', '{}', 100, ?, ?, ?, ?, 'bench')",
            [(model_id, version.id, dataset_id, json.dumps(metrics), ts, ts, ts)
             for ts in (_iso(start + timedelta(hours=i)) for i in range(n))])


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Heartbeat:
    def __init__(self):
        from PySide6.QtCore import QTimer

        self.beats: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(lambda: self.beats.append(time.perf_counter()))

    def gaps_ms(self) -> list[float]:
        return [(b - a) * 1000 for a, b in zip(self.beats, self.beats[1:], strict=False)]


def measure(db: Path, concurrency: int, size: tuple[int, int], charts_window: bool) -> dict:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from mlops_desk.core.runner import RunOptions
    from mlops_desk.core.store import Store
    from mlops_desk.ui.item_models.run_queries import create_run
    from mlops_desk.ui.main_window import MainWindow
    from mlops_desk.ui.pages.charts import ChartsPage

    app = QApplication.instance() or QApplication([sys.argv[0]])
    store = Store(db)
    settings = QSettings(str(db.with_name("settings.ini")), QSettings.Format.IniFormat)
    window = MainWindow(store, settings=settings)
    window.resize(*size)
    window.show()
    runs_page = window.show_page("Runs")
    charts = None
    if charts_window:  # a second window on the Charts page, which redraws when the run ends
        charts = ChartsPage(window.ctx)
        charts.resize(*size)
        charts.show()
        charts.activated()
    _settle(app, window)

    run_id = create_run(store, "bench", 1, "rows", RunOptions(concurrency=concurrency,
                                                               use_cache=False))
    beat = Heartbeat()
    done = _quit_when_settled(run_id, runs_page, window)
    beat.timer.start()
    started = time.perf_counter()
    runs_page.start_run(run_id)
    done.exec()  # the real event loop, until the run ended and every reload landed
    wall = time.perf_counter() - started
    beat.timer.stop()
    run = runs_page.model.record(runs_page.model.row_of(run_id))
    points = charts.chart.point_count() if charts is not None else None
    gaps = beat.gaps_ms()
    window.ctx.tasks.shutdown()
    if charts is not None:
        charts.close()
    window.close()
    store.close()
    return {"status": run.status, "rows": run.n_done, "wall_s": wall, "gaps": gaps,
            "chart_points": points, "live_points": runs_page.detail.progress.chart_points}


def _quit_when_settled(run_id: int, runs_page, window):
    """An event loop that quits once the run ended and no task has run for 0.5 s."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    watch = QTimer(loop)
    watch.setInterval(50)
    quiet = [0]

    def check() -> None:
        busy = runs_page.jobs.is_active(run_id) or window.ctx.tasks.active
        quiet[0] = 0 if busy else quiet[0] + 1
        if quiet[0] >= 10:
            watch.stop()
            loop.quit()

    watch.timeout.connect(check)
    watch.start()
    return loop


def _settle(app, window, quiet_rounds: int = 30) -> None:
    quiet = 0
    deadline = time.monotonic() + 30
    while quiet < quiet_rounds and time.monotonic() < deadline:
        app.processEvents()
        quiet = 0 if window.ctx.tasks.active else quiet + 1
        time.sleep(0.005)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=20.0,
                        help="the fake endpoint's latency per request")
    parser.add_argument("--history", type=int, default=1_000,
                        help="earlier runs on the Charts page")
    parser.add_argument("--repeat", type=int, default=1, help="runs per scenario")
    args = parser.parse_args(argv)

    from tests.support.fake_openai import spawn_fake_openai

    print(f"{args.rows:,} rows at concurrency {args.concurrency}, {args.latency_ms:g} ms endpoint "
          f"latency; GUI heartbeat every {HEARTBEAT_MS} ms; target: longest stall < "
          f"{TARGET_MS:g} ms")
    ok = True
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp, \
            spawn_fake_openai(latency_ms=args.latency_ms) as base_url:
        db = Path(tmp) / "bench.db"
        build_registry(db, base_url, args.rows, args.history)
        for charts_window, name in ((False, "main window on the Runs page"),
                                    (True, f"+ Charts window ({args.history:,} runs)")):
            for _ in range(args.repeat):
                result = measure(db, args.concurrency, (1280, 800), charts_window)
                ok = ok and result["status"] == "completed"
                worst = max(worst, max(result["gaps"], default=0.0))
                print(f"{name}: {_summary(result)}")
    print(f"longest_stall_ms={worst:.1f}")
    return 0 if ok and worst < TARGET_MS else 1


def _summary(result: dict) -> str:
    gaps = sorted(result["gaps"])
    worst = gaps[-1]
    p99 = gaps[int(len(gaps) * 0.99)]
    over = sum(g > TARGET_MS for g in gaps)
    charts = ("" if result["chart_points"] is None
              else f", Charts page redrawn with {result['chart_points']:,} runs")
    return (f"run {result['status']} in {result['wall_s']:.1f} s "
            f"({result['rows'] / result['wall_s']:,.0f} rows/s); {len(gaps):,} beats, median gap "
            f"{statistics.median(gaps):.1f} ms, p99 {p99:.1f} ms, longest stall {worst:.1f} ms "
            f"({'PASS' if worst < TARGET_MS else 'FAIL'}, {over} over {TARGET_MS:g} ms); "
            f"live chart {result['live_points']} points{charts}")


if __name__ == "__main__":
    sys.exit(main())
