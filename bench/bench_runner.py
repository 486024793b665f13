"""Run-engine benchmark: throughput vs the ideal, client CPU per row, peak RSS, cached replay.

    .venv/bin/python bench/bench_runner.py            # all scenarios
    .venv/bin/python bench/bench_runner.py --quick    # 2,000 rows only

The fake endpoint runs in its own process so its CPU does not compete with the
client's GIL; each scenario runs in a fresh child process so peak RSS is its own.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_dataset(path: Path, n_rows: int) -> None:
    labels = ("positive", "negative", "neutral")
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        for i in range(n_rows):
            label = labels[i % 3]
            writer.writerow([f"review {i}: a short text about item {i}\nANSWER: {label}", label])


def scenario(db: str, base_url: str, n_rows: int, concurrency: int, use_cache: bool,
             dataset: str) -> dict:
    """Runs in a child process: one run, measured."""
    from mlops_desk.core import registry
    from mlops_desk.core.datasets import get_dataset, import_dataset
    from mlops_desk.core.runner import RunOptions, create_run, execute
    from mlops_desk.core.store import Store

    store = Store(db)
    try:
        registry.get_endpoint(store, "bench")
    except Exception:
        registry.add_endpoint(store, "bench", base_url=base_url, timeout_s=30,
                              max_concurrency=concurrency, prices={"*": [0.15, 0.6]})
        registry.create_model(store, "bench", labels=["positive", "negative", "neutral"])
        registry.register_version(store, "bench", registry.make_config(
            endpoint="bench", model_id="fake-model", template="{text}", parser="label"))
    try:
        ds = get_dataset(store, dataset)
    except Exception:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "data.csv"
            make_dataset(path, n_rows)
            ds, _ = import_dataset(store, path, dataset, expected_col="label")
    version = registry.get_version(store, "bench", 1)
    # The SDK import (~0.5 s of CPU, once per process) is start-up, not throughput: time it
    # apart so the figures below measure the engine.
    t_import = time.perf_counter()
    import aiohttp  # noqa: F401
    import openai  # noqa: F401

    import_s = time.perf_counter() - t_import
    run_id = create_run(store, version, ds, RunOptions(concurrency=concurrency,
                                                       use_cache=use_cache))
    cpu0, t0 = time.process_time(), time.perf_counter()
    run = execute(store, run_id)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    store.close()
    return {"rows": run.n_done, "import_s": import_s, "status": run.status, "wall_s": wall,
            "cpu_s": cpu, "cpu_ms_per_row": cpu / max(run.n_done, 1) * 1000,
            "accuracy": (run.metrics or {}).get("accuracy"),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_child(**kwargs) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(kwargs)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(scenario(**json.loads(args.child))))
        return

    from tests.support.fake_openai import spawn_fake_openai

    latency_ms, n, conc = 50, 2_000, 32
    ideal = n * latency_ms / 1000 / conc
    with tempfile.TemporaryDirectory() as tmp, spawn_fake_openai(latency_ms=latency_ms) as url:
        db = str(Path(tmp) / "bench.db")
        r = run_child(db=db, base_url=url, n_rows=n, concurrency=conc, use_cache=False,
                      dataset="d2k")
        print(f"2,000 rows, concurrency {conc}, {latency_ms} ms latency: wall {r['wall_s']:.2f} s "
              f"vs ideal {ideal:.2f} s -> {ideal / r['wall_s']:.0%} of ideal throughput "
              f"(target >= 85%); client CPU {r['cpu_ms_per_row']:.2f} ms/row; "
              f"peak RSS {r['peak_rss_mb']:.0f} MB; accuracy {r['accuracy']} "
              f"(one-time SDK import {r['import_s']:.2f} s not included)")
        if args.quick:
            return
        db2 = str(Path(tmp) / "cache.db")
        run_child(db=db2, base_url=url, n_rows=10_000, concurrency=64, use_cache=True,
                  dataset="d10k")
        r = run_child(db=db2, base_url=url, n_rows=10_000, concurrency=64, use_cache=True,
                      dataset="d10k")
        print(f"cached replay of 10,000 rows: {r['wall_s']:.2f} s (target < 2 s); "
              f"peak RSS {r['peak_rss_mb']:.0f} MB")
    with tempfile.TemporaryDirectory() as tmp, spawn_fake_openai(latency_ms=0) as url:
        db3 = str(Path(tmp) / "big.db")
        r = run_child(db=db3, base_url=url, n_rows=100_000, concurrency=64, use_cache=False,
                      dataset="d100k")
        print(f"100,000 rows at concurrency 64, 0 ms latency: wall {r['wall_s']:.1f} s, "
              f"{r['rows'] / r['wall_s']:.0f} rows/s; peak RSS {r['peak_rss_mb']:.0f} MB "
              f"(target < 400 MB); client CPU {r['cpu_ms_per_row']:.2f} ms/row")


if __name__ == "__main__":
    main()
