"""CLI: run, run resume/show/compare/cancel, runs list."""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
from typing import Any

from mlops_desk.cli import arg_types, commands_batch
from mlops_desk.cli.context import Context
from mlops_desk.cli.output import error, fmt, info, print_json, print_table, utc_time
from mlops_desk.core import metric_catalogue, registry, runs, user_input
from mlops_desk.core.errors import BadInput, CheckFailed, RunInterrupted

SUMMARY_METRICS = metric_catalogue.SUMMARY


def register(sub, common) -> None:
    run = sub.add_parser(
        "run", parents=[common],
        help="run a dataset through a version (or resume/show/compare/cancel/import-results)",
        description="mlops-desk run MODEL:N|MODEL@ENV --dataset NAME [--batch] | "
                    "run resume ID | run show ID | run compare ID1 ID2 | run cancel ID | "
                    "run import-results ID FILE.jsonl...",
    )
    run.add_argument("target",
                     metavar="MODEL:N|MODEL@ENV|resume|show|compare|cancel|import-results")
    run.add_argument("ids", nargs="*", metavar="ID",
                     help="run ids for resume/show/compare/cancel; for import-results a run id "
                          "then output files")
    run.add_argument("--dataset", help="dataset name (required for a new run)")
    run.add_argument("--concurrency", type=arg_types.count,
                     help="parallel requests (default: the endpoint's)")
    run.add_argument("--no-cache", action="store_true", help="always call the endpoint")
    run.add_argument("--limit", type=arg_types.count, help="only the first N rows")
    run.add_argument("--scorer", help="label, contains, regex, json[:FIELD], number[:tol=X], "
                                      "judge:MODEL:N")
    run.add_argument("--max-attempts", type=arg_types.count, default=5,
                     help="tries per row (default 5)")
    run.add_argument("--rpm", type=arg_types.count, help="requests-per-minute limit")
    run.add_argument("--tpm", type=arg_types.count, help="tokens-per-minute limit")
    run.add_argument("--fail-under", action="append", default=[], metavar="METRIC=VALUE",
                     help="exit 1 when METRIC < VALUE (e.g. accuracy=0.9)")
    run.add_argument("--fail-over", action="append", default=[], metavar="METRIC=VALUE",
                     help="exit 1 when METRIC > VALUE (e.g. latency_p95_ms=2000)")
    run.add_argument("--rows", choices=("wrong", "errors", "all"),
                     help="with 'run show': also list these row results")
    run.add_argument("--progress", choices=("bar", "jsonl"),
                     help="progress on stderr as a bar (default on a terminal), or as JSON "
                          "lines on stdout; with jsonl a 'cancel' line on stdin cancels")
    commands_batch.add_arguments(run)
    run.set_defaults(handler=run_command)

    lst = sub.add_parser("runs", parents=[common], help="list runs")
    lst.add_argument("action", nargs="?", choices=("list",), default="list")
    lst.add_argument("--model", help="only this model's runs")
    lst.add_argument("--limit", type=arg_types.whole(), default=50, help="0: all")
    lst.set_defaults(handler=runs_list)


def run_command(ctx: Context) -> int:
    a = ctx.args
    if a.target == "import-results":
        return commands_batch.import_results(ctx, a.ids)
    if a.target in ("resume", "show", "compare", "cancel"):
        wanted = 2 if a.target == "compare" else 1
        if len(a.ids) != wanted:
            raise BadInput(f"'run {a.target}' takes {wanted} run id(s), e.g. "
                           f"'run {a.target} {' '.join(['12', '13'][:wanted])}'")
        ids = [user_input.parse_id(i, "run id") for i in a.ids]
        if a.target == "show":
            return run_show(ctx, ids[0])
        if a.target == "compare":
            return run_compare(ctx, *ids)
        if a.target == "cancel":
            if commands_batch.batch.is_batch_run(runs.get_run(ctx.store, ids[0])):
                return commands_batch.cancel(ctx, ids[0])  # the remote batches
            return run_cancel(ctx, ids[0])
    elif a.ids:
        raise BadInput(f"unexpected argument(s) {' '.join(a.ids)} after {a.target}")
    thresholds = _thresholds(a.fail_under, "--fail-under") + _thresholds(a.fail_over, "--fail-over")
    if a.target == "resume":
        run_id = ids[0]
        run = runs.get_run(ctx.store, run_id)
        if a.export_batch and not commands_batch.batch.is_batch_run(run):
            raise BadInput(f"run {run_id} runs online; --export-batch needs a run created "
                           "with --batch or --export-batch")
        if commands_batch.batch.is_batch_run(run):
            return commands_batch.start(ctx, run_id, thresholds, _report)
    else:
        run_id = _create(ctx)
        if commands_batch.wanted(a):
            return commands_batch.start(ctx, run_id, thresholds, _report)
    return _execute(ctx, run_id, thresholds)


def _thresholds(specs: list[str], option: str) -> list[tuple[str, str, float]]:
    from mlops_desk.core.metrics import NUMERIC_KEYS

    known = set(NUMERIC_KEYS)  # not per_class, confusion, labels: they are not numbers
    parsed = []
    for spec in specs:
        name, sep, value = spec.partition("=")
        try:
            number = float(value) if value.isascii() else None
        except ValueError:
            number = None
        if not sep or number is None or not math.isfinite(number):
            raise BadInput(f"bad {option} {spec!r}: expected METRIC=VALUE, e.g. accuracy=0.9")
        if name not in known:
            names = ", ".join(sorted(k for k in known if k in SUMMARY_METRICS))
            raise BadInput(f"bad {option} {spec!r}: unknown metric {name!r} (known: {names})")
        parsed.append((name, option, number))
    return parsed


def resolve_target(store, target: str) -> registry.Version:
    if "@" in target:
        from mlops_desk.core.deploy import deployed_version

        model, _, env = target.partition("@")
        version = deployed_version(store, model, env)
        if version is None:
            raise BadInput(f"nothing is deployed to {model}@{env}")
        return version
    return registry.get_version(store, *registry.parse_version_ref(target))


def _create(ctx: Context) -> int:
    from mlops_desk.core.datasets import get_dataset
    from mlops_desk.core.runner import RunOptions, create_run

    a = ctx.args
    if not a.dataset:
        raise BadInput("a new run needs --dataset NAME (see 'dataset list')")
    version = resolve_target(ctx.store, a.target)
    dataset = get_dataset(ctx.store, a.dataset)
    options = RunOptions(concurrency=a.concurrency, use_cache=not a.no_cache, limit=a.limit,
                         scorer=a.scorer, max_attempts=max(1, a.max_attempts), rpm=a.rpm,
                         tpm=a.tpm)
    if commands_batch.wanted(a):
        return commands_batch.create(ctx, version, dataset, options)
    return create_run(ctx.store, version, dataset, options)


def _execute(ctx: Context, run_id: int, thresholds: list[tuple[str, str, float]]) -> int:
    from mlops_desk.core.runner import CancelToken, execute

    cancel = CancelToken()
    jsonl = ctx.args.progress == "jsonl"
    bar = (JsonProgress() if jsonl else
           ProgressBar(enabled=ctx.args.progress == "bar"
                       or (sys.stderr.isatty() and not ctx.json)))
    if jsonl:
        _cancel_on_stdin_line(cancel)

    def on_sigint(signum, frame):  # first Ctrl+C cancels cleanly; a second one kills
        cancel.cancel()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        run = execute(ctx.store, run_id, on_progress=bar.update, cancel=cancel)
    except RunInterrupted as exc:
        raise RunInterrupted(f"{exc}; resume it with 'mlops-desk run resume {run_id}'") from None
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()
    return _report(ctx, run, thresholds, bar if jsonl else None)


def _report(ctx: Context, run, thresholds: list[tuple[str, str, float]], jsonl_bar=None) -> int:
    """Print a finished run (text, --json, or the last of --progress jsonl's lines) and
    check its thresholds."""
    failures = _check_thresholds(run.metrics or {}, thresholds)
    if jsonl_bar is not None:  # the parent reads JSON lines only: the end is one more
        jsonl_bar.update_end({"run_id": run.id, "status": run.status, "n_done": run.n_done,
                        "n_total": run.n_total, "reason": run.reason,
                        "threshold_failures": failures})
    elif ctx.json:
        print_json({"run_id": run.id, "status": run.status, "model": run.model,
                    "version": run.version, "dataset": run.dataset, "n_total": run.n_total,
                    "n_done": run.n_done, "metrics": run.metrics, "threshold_failures": failures})
    else:
        print(f"run {run.id} {run.status}: {run.model}:{run.version} on {run.dataset}, "
              f"{run.n_done}/{run.n_total} rows")
        _print_metrics(run.metrics or {})
    if run.status == "cancelled":
        info(f"run {run.id} cancelled; resume it with 'mlops-desk run resume {run.id}'")
        return 130
    if failures:
        raise CheckFailed("; ".join(failures))
    return 0


def _cancel_on_stdin_line(cancel) -> None:
    """A 'cancel' line on stdin cancels (how a parent process asks on every platform).

    The end of stdin does not: a desktop that closes with "keep running" closes its end of
    the pipe, and the run must go on. A daemon thread, so it never keeps the process alive.
    """
    def read() -> None:
        try:
            for line in sys.stdin:
                if line.strip().lower() == "cancel":
                    cancel.cancel()
                    return
        except (OSError, ValueError):
            return

    threading.Thread(target=read, name="mlops-stdin-cancel", daemon=True).start()


def run_cancel(ctx: Context, run_id: int) -> int:
    from mlops_desk.core.run_control import request_cancel

    message = request_cancel(ctx.store, run_id)
    if ctx.json:
        print_json({"run_id": run_id, "message": message})
    else:
        print(message)
    return 0


def _check_thresholds(metrics: dict[str, Any], thresholds) -> list[str]:
    failures = []
    for name, option, limit in thresholds:
        value = metrics.get(name)
        if value is None:
            failures.append(f"{name} is not available for this run ({option} {limit:g})")
        elif option == "--fail-under" and value < limit:
            failures.append(f"{name} {value:.4g} is under {limit:g}")
        elif option == "--fail-over" and value > limit:
            failures.append(f"{name} {value:.4g} is over {limit:g}")
    return failures


def _print_metrics(metrics: dict[str, Any]) -> None:
    if not metrics:
        print("(no results)")
        return
    rows = [(name, metrics.get(name)) for name in SUMMARY_METRICS if name in metrics]
    print_table(rows, ["METRIC", "VALUE"])
    per_class = metrics.get("per_class") or {}
    if per_class:
        print()
        print_table([(label, m.get("precision"), m.get("recall"), m.get("f1"), m.get("support"))
                     for label, m in per_class.items()],
                    ["LABEL", "PRECISION", "RECALL", "F1", "SUPPORT"])


class ProgressBar:
    """A one-line terminal progress bar on stderr (rows/s, ETA, errors)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.shown = False

    def update(self, p) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * p.done / p.total) if p.total else width
        eta = f"{p.eta_s:.0f}s" if p.eta_s is not None else "?"
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {p.done}/{p.total} "
                         f"{p.rows_per_s:.1f} rows/s ETA {eta} errors {p.errors} "
                         f"cached {p.cached}   ")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


class JsonProgress:
    """One JSON object per progress report on stdout, for a parent process to read.

    A parent that went away (closed pipe) stops the lines, not the run.
    """

    def __init__(self) -> None:
        self.broken = False

    def _line(self, payload: dict[str, Any]) -> None:
        if self.broken:
            return
        try:
            sys.stdout.write(json.dumps(payload) + "\n")
            sys.stdout.flush()
        except (OSError, ValueError):
            self.broken = True

    def update_end(self, end: dict[str, Any]) -> None:
        self._line({"end": end})

    def update(self, p) -> None:
        self._line({"progress": {
            "done": p.done, "total": p.total, "errors": p.errors, "cached": p.cached,
            "rows_per_s": round(p.rows_per_s, 3), "eta_s": p.eta_s,
            "concurrency": p.concurrency}})

    def close(self) -> None:
        pass


def run_show(ctx: Context, run_id: int) -> int:
    run = runs.get_run(ctx.store, run_id)
    rows_filter = ctx.args.rows
    results = (runs.fetch_results(ctx.store, run_id, filter=runs.ResultFilter(rows_filter))
               if rows_filter else [])
    batches = commands_batch.batch.batch_ids(ctx.store, run_id)
    if ctx.json:
        print_json({**run.to_dict(), **({"rows": results} if rows_filter else {}),
                    **({"batches": batches} if batches else {})})
        return 0
    print(f"run {run.id}: {run.model}:{run.version} on {run.dataset} — {run.status}, "
          f"{run.n_done}/{run.n_total} rows, created {utc_time(run.created_at)}")
    if run.reason:
        print(f"reason: {run.reason}")
    print(f"settings: {', '.join(f'{k}={fmt(v)}' for k, v in sorted(run.settings.items()))}")
    commands_batch.print_batches(batches)
    _print_metrics(run.metrics or {})
    if rows_filter:
        print()
        print_table([(r["row_idx"], r["expected"], r["prediction"], r["correct"],
                      r["latency_ms"], r["error_class"], r["error_message"]) for r in results],
                    ["ROW", "EXPECTED", "PREDICTION", "CORRECT", "MS", "ERROR", "MESSAGE"])
    return 0


def run_compare(ctx: Context, id_a: int, id_b: int) -> int:
    from mlops_desk.core.metrics import compare_runs

    a, b = runs.get_run(ctx.store, id_a), runs.get_run(ctx.store, id_b)
    if a.dataset_id != b.dataset_id:
        raise BadInput(f"runs {id_a} and {id_b} used different datasets ({a.dataset}, "
                       f"{b.dataset}); compare runs on the same dataset")
    if not a.metrics or not b.metrics:
        raise BadInput("both runs need results to compare (resume the unfinished one)")
    comparison = compare_runs(runs.results_for_metrics(ctx.store, id_a),
                              runs.results_for_metrics(ctx.store, id_b), a.metrics, b.metrics)
    if ctx.json:
        # Not "a"/"b": the comparison's own "b" and "c" are McNemar's discordant counts.
        print_json({"run_a": id_a, "run_b": id_b, **comparison})
        return 0
    print(f"A = run {id_a} ({a.model}:{a.version}), B = run {id_b} ({b.model}:{b.version}), "
          f"dataset {a.dataset}, {comparison['n_paired']} paired rows")
    print_table([(name, a.metrics.get(name), b.metrics.get(name), comparison["deltas"].get(name))
                 for name in SUMMARY_METRICS if name in comparison["deltas"]],
                ["METRIC", "A", "B", "B - A"])
    print(f"right -> wrong: {len(comparison['flipped_to_wrong'])} rows "
          f"{_ids(comparison['flipped_to_wrong'])}")
    print(f"wrong -> right: {len(comparison['flipped_to_right'])} rows "
          f"{_ids(comparison['flipped_to_right'])}")
    print(f"exact McNemar p-value: {comparison['mcnemar_p']:.4g}")
    return 0


def _ids(indexes: list[int]) -> str:
    shown = ", ".join(str(i) for i in indexes[:15])
    return f"({shown}{', ...' if len(indexes) > 15 else ''})" if indexes else ""


def runs_list(ctx: Context) -> int:
    items = runs.list_runs(ctx.store, model=ctx.args.model, limit=ctx.args.limit)
    if ctx.json:
        print_json([{**r.to_dict(), "started_at": r.started_at or r.created_at} for r in items])
        return 0
    print_table([(r.id, f"{r.model}:{r.version}", r.dataset, r.status, f"{r.n_done}/{r.n_total}",
                  (r.metrics or {}).get("accuracy"), (r.metrics or {}).get("latency_p95_ms"),
                  (r.metrics or {}).get("total_cost"), utc_time(r.started_at or r.created_at))
                 for r in items],
                ["ID", "VERSION", "DATASET", "STATUS", "ROWS", "ACCURACY", "P95 MS", "COST $",
                 "STARTED (UTC)"])
    return 0


__all__ = ["error", "register"]
