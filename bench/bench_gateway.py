"""Gateway benchmark: added latency over calling the upstream directly, and throughput.

    .venv/bin/python bench/bench_gateway.py                  # defaults below
    .venv/bin/python bench/bench_gateway.py --requests 5000 --upstream-latency-ms 0 20

Three processes, so the figures are honest: the fake OpenAI upstream, the gateway
(``mlops-desk serve``, request logging to SQLite on) and this client (the openai SDK's async
client, ``--concurrency`` requests in flight). For each upstream latency the same client
calls the upstream directly and through the gateway in alternating rounds (so a load
change on a shared machine hits both alike); per round, the difference of the p50
latencies is the gateway's added latency and requests / wall time through the gateway its
throughput. Prints the medians over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlops_desk.core.metrics import percentile  # noqa: E402
from tests.support.fake_openai import spawn_fake_openai  # noqa: E402

MESSAGES = [{"role": "user", "content": "Ticket: the export button does nothing\nANSWER: bug"}]


def prepare_registry(db: Path, upstream_url: str) -> None:
    from mlops_desk.core import deploy, registry
    from mlops_desk.core.store import Store

    store = Store(db)
    try:
        registry.add_endpoint(store, "bench", base_url=upstream_url, timeout_s=30,
                              max_concurrency=256, prices={"*": [0.15, 0.6]})
        registry.create_model(store, "triage", labels=["bug", "billing", "other"])
        config = registry.make_config(endpoint="bench", model_id="fake-model",
                                      system_prompt="Classify the ticket.", parser="label",
                                      params={"temperature": 0})
        registry.register_version(store, "triage", config)
        deploy.deploy(store, "triage", 1, "production")
    finally:
        store.close()


@contextlib.contextmanager
def gateway_process(db: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    env = {**os.environ, "MLOPS_DESK_LOG_DIR": str(db.parent / "logs")}
    env.pop("MLOPS_DESK_GATEWAY_TOKEN", None)
    with subprocess.Popen(
        [sys.executable, "-m", "mlops_desk", "serve", "--db", str(db), "--port", "0"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
    ) as process:
        try:
            line = process.stdout.readline()
            if not line.startswith("serving "):
                raise RuntimeError(f"the gateway did not start: {line!r}")
            yield line.split()[1], process
        finally:
            process.terminate()
            process.wait(timeout=30)


async def load(base_url: str, model: str, n_requests: int, concurrency: int,
               warmup: int) -> tuple[list[float], float]:
    """(latencies in ms, wall seconds) of n_requests with `concurrency` in flight."""
    import openai

    latencies: list[float] = []
    remaining = n_requests + warmup
    async with openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0,
                                  timeout=30) as client:
        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                measured = remaining < n_requests
                started = time.perf_counter()
                await client.chat.completions.create(model=model, messages=MESSAGES)
                if measured:
                    latencies.append((time.perf_counter() - started) * 1000)

        # Warm up connections and caches on both sides before the clock starts.
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    # Wall time of the measured part, from its share of the requests (warm-up is tiny).
    return latencies, wall * n_requests / (n_requests + warmup)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux /proc), to show where the time goes."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def logged_requests(db: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM gateway_requests").fetchone()[0]
    finally:
        conn.close()


def run(latency_ms: float, n_requests: int, concurrency: int, warmup: int, rounds: int) -> None:
    per_round = n_requests // rounds
    direct_p50, via_p50, added, direct_rps, via_rps = [], [], [], [], []
    cpu_used = 0.0
    with spawn_fake_openai(latency_ms=latency_ms) as upstream_url, \
            tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        prepare_registry(db, upstream_url)
        with gateway_process(db) as (gateway_url, process):
            for _ in range(rounds):
                direct, direct_wall = asyncio.run(
                    load(upstream_url, "fake-model", per_round, concurrency, warmup))
                cpu_before = cpu_seconds(process.pid)
                via, via_wall = asyncio.run(
                    load(gateway_url, "triage", per_round, concurrency, warmup))
                cpu_used += cpu_seconds(process.pid) - cpu_before
                direct_p50.append(percentile(direct, 50))
                via_p50.append(percentile(via, 50))
                added.append(via_p50[-1] - direct_p50[-1])
                direct_rps.append(per_round / direct_wall)
                via_rps.append(per_round / via_wall)
        logged = logged_requests(db)
    print(f"upstream latency {latency_ms:g} ms, concurrency {concurrency}, {rounds} rounds of "
          f"{per_round} requests each way (+{warmup} warm-up each); medians over the rounds:")
    print(f"  direct   p50 {median(direct_p50):7.2f} ms  {median(direct_rps):6.0f} req/s")
    print(f"  gateway  p50 {median(via_p50):7.2f} ms  {median(via_rps):6.0f} req/s  "
          f"(gateway CPU {cpu_used / (rounds * (per_round + warmup)) * 1000:.2f} ms/request)")
    print(f"  added p50 latency: {median(added):.2f} ms (target < 2 ms; rounds: "
          f"{', '.join(f'{a:.1f}' for a in added)})")
    print(f"  gateway throughput, monitoring on: {median(via_rps):.0f} req/s (target >= 300); "
          f"{logged} requests logged")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000, help="per way, over all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=100, help="per round and way")
    parser.add_argument("--upstream-latency-ms", type=float, nargs="+", default=[0.0, 50.0])
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}")
    for latency in args.upstream_latency_ms:
        run(latency, args.requests, args.concurrency, args.warmup, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
