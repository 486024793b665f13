"""Batch API benchmark: a 100,000-row run through /v1/files and /v1/batches, time and memory.

    .venv/bin/python bench/bench_batch.py              # 100,000 rows
    .venv/bin/python bench/bench_batch.py --rows 20000

The fake endpoint (with its Batch API) runs in its own process; the run runs in a fresh
child process so its peak RSS is its own. Phases: dataset import (setup, not the engine),
submit (render, split into files of --batch-size, upload, create), wait (poll, download,
parse, score, store), and the peak RSS the batch engine added over the imported dataset.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_runner import make_dataset  # noqa: E402


def scenario(db: str, base_url: str, n_rows: int, batch_size: int) -> dict:
    """Runs in a child process: one Batch API run, measured."""
    from mlops_desk.core import batch, registry
    from mlops_desk.core.datasets import import_dataset
    from mlops_desk.core.store import Store

    store = Store(db)
    registry.add_endpoint(store, "bench", base_url=base_url, timeout_s=120,
                          prices={"*": [0.15, 0.6]})
    registry.create_model(store, "bench", labels=["positive", "negative", "neutral"])
    version, _ = registry.register_version(store, "bench", registry.make_config(
        endpoint="bench", model_id="fake-model", template="{text}", parser="label"))
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        make_dataset(path, n_rows)
        dataset, _ = import_dataset(store, path, "big", expected_col="label")
    import_s = time.perf_counter() - t0
    import openai  # noqa: F401  (start-up, not the engine)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    run_id = batch.create_batch_run(store, version, dataset, batch_size=batch_size)
    t1, c1 = time.perf_counter(), time.process_time()
    batch.submit(store, run_id)
    t2, c2 = time.perf_counter(), time.process_time()
    run = batch.wait(store, run_id, poll_interval=0.2)
    t3, c3 = time.perf_counter(), time.process_time()
    n_batches = len(batch.batch_ids(store, run_id))
    store.close()
    return {"rows": run.n_done, "status": run.status, "batches": n_batches,
            "import_s": import_s, "submit_s": t2 - t1, "wait_s": t3 - t2,
            "submit_cpu_s": c2 - c1, "wait_cpu_s": c3 - c2,
            "accuracy": (run.metrics or {}).get("accuracy"),
            "cost": (run.metrics or {}).get("total_cost"),
            "rss_before_mb": rss_before,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=50_000)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(scenario(**json.loads(args.child))))
        return

    from tests.support.fake_openai import spawn_fake_openai

    with tempfile.TemporaryDirectory() as tmp, spawn_fake_openai() as url:
        kwargs = {"db": str(Path(tmp) / "bench.db"), "base_url": url, "n_rows": args.rows,
                  "batch_size": args.batch_size}
        out = subprocess.run([sys.executable, __file__, "--child", json.dumps(kwargs)],
                             stdout=subprocess.PIPE, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
    total = r["submit_s"] + r["wait_s"]
    print(f"{r['rows']:,} rows through the Batch API in {r['batches']} batch(es) of at most "
          f"{args.batch_size:,}: {r['status']}, accuracy {r['accuracy']}, cost "
          f"${r['cost']:.4f} at the 50% batch price")
    print(f"submit (render, split, upload, create) {r['submit_s']:.1f} s; wait (poll, "
          f"download, parse, score, store) {r['wait_s']:.1f} s; engine total {total:.1f} s "
          f"({r['rows'] / total:,.0f} rows/s); dataset import {r['import_s']:.1f} s (setup)")
    print(f"client CPU: submit {r['submit_cpu_s']:.1f} s, wait {r['wait_cpu_s']:.1f} s "
          f"({(r['submit_cpu_s'] + r['wait_cpu_s']) / r['rows'] * 1000:.2f} ms/row); the rest "
          "of the wall time is the fake Batch API answering (another process) and load")
    print(f"peak RSS {r['peak_rss_mb']:.0f} MB ({r['peak_rss_mb'] - r['rss_before_mb']:.0f} MB "
          f"over the {r['rss_before_mb']:.0f} MB after importing the dataset)")


if __name__ == "__main__":
    main()
