"""CLI: runs through a Batch API (--batch) or an offline engine (--export-batch,
run import-results), and run cancel for them."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from mlops_desk.cli import arg_types
from mlops_desk.cli.context import Context
from mlops_desk.cli.output import info, print_json
from mlops_desk.core import batch, batch_offline, runs, user_input
from mlops_desk.core.batch_files import MAX_BATCH_ROWS
from mlops_desk.core.errors import BadInput, RunInterrupted


def add_arguments(run) -> None:
    run.add_argument("--batch", action="store_true",
                     help="send the rows through the endpoint's Batch API (up to 24 h, lower "
                          "price)")
    run.add_argument("--batch-size", type=arg_types.whole(), default=MAX_BATCH_ROWS,
                     help=f"requests per batch file (default {MAX_BATCH_ROWS:,}; files stay "
                          "under 200 MB)")
    run.add_argument("--no-wait", action="store_true",
                     help="with --batch: return once the batches are submitted")
    run.add_argument("--poll-interval", type=arg_types.number, default=30.0, metavar="S",
                     help="with --batch: seconds between two looks at the batches (default 30)")
    run.add_argument("--export-batch", type=Path, metavar="FILE.jsonl",
                     help="write the requests for an offline engine (vLLM run-batch) instead "
                          "of sending them; then 'run import-results ID FILE.jsonl'")


def wanted(args) -> bool:
    return bool(args.batch or args.export_batch)


def create(ctx: Context, version, dataset, options) -> int:
    a = ctx.args
    if a.batch and a.export_batch:
        raise BadInput("choose --batch (a Batch API) or --export-batch FILE (an offline "
                       "engine), not both")
    mode = "export" if a.export_batch else "batch"
    return batch.create_batch_run(ctx.store, version, dataset, options, mode=mode,
                                  batch_size=a.batch_size)


def start(ctx: Context, run_id: int, thresholds, finish) -> int:
    """Send a new or resumed batch run; ``finish(ctx, run, thresholds)`` prints the end."""
    a = ctx.args
    run = runs.get_run(ctx.store, run_id)
    if a.export_batch:
        count = batch_offline.export_requests(ctx.store, run_id, a.export_batch)
        return _awaiting(ctx, run_id, count, a.export_batch)
    if run.settings.get("mode") == "export" and run.status in ("awaiting-results", "queued"):
        raise BadInput(f"run {run_id} awaits results from an offline engine: import them with "
                       f"'mlops-desk run import-results {run_id} FILE.jsonl', or write its "
                       "missing rows again with --export-batch FILE.jsonl")
    if a.poll_interval <= 0:
        raise BadInput(f"bad --poll-interval {a.poll_interval:g}: expected seconds > 0")
    if run.status != "submitted":
        run = batch.submit(ctx.store, run_id)
    if a.no_wait:
        if ctx.json:
            print_json({"run_id": run_id, "status": run.status})
        else:
            print(f"run {run_id} {run.status}: {len(batch.open_batches(ctx.store, run_id))} "
                  f"batch(es); check on it with 'mlops-desk run resume {run_id}'")
        return 0
    return _wait(ctx, run_id, thresholds, finish)


def _wait(ctx: Context, run_id: int, thresholds, finish) -> int:
    from mlops_desk.cli.commands_runs import ProgressBar
    from mlops_desk.core.runner import CancelToken

    cancel = CancelToken()
    bar = ProgressBar(enabled=sys.stderr.isatty() and not ctx.json)

    def on_sigint(signum, frame):  # Ctrl+C stops waiting; the batches keep running remotely
        cancel.cancel()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        run = batch.wait(ctx.store, run_id, poll_interval=ctx.args.poll_interval,
                         on_progress=bar.update, cancel=cancel)
    except RunInterrupted as exc:
        raise RunInterrupted(f"{exc}; resume it with 'mlops-desk run resume {run_id}'") from None
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()
    if run.status == "submitted":
        info(f"stopped waiting; run {run_id} is still submitted: pick it up with "
             f"'mlops-desk run resume {run_id}' or cancel it with 'mlops-desk run cancel "
             f"{run_id}'")
        return 130
    _discount_note(ctx, run)
    return finish(ctx, run, thresholds)


def _discount_note(ctx: Context, run: runs.Run) -> None:
    discount = run.settings.get("batch_discount")
    if discount is not None and not ctx.json:
        info(f"priced at the endpoint's batch rate: {discount:.0%} off the online price")


def _awaiting(ctx: Context, run_id: int, count: int, path: Path) -> int:
    if ctx.json:
        print_json({"run_id": run_id, "status": "awaiting-results", "requests": count,
                    "file": str(path)})
    else:
        print(f"run {run_id} awaiting-results: {count} request(s) written to {path}; when "
              f"answered, 'mlops-desk run import-results {run_id} OUTPUT.jsonl'")
    return 0


def print_batches(batches: list[dict]) -> None:
    """The remote batches of a run, one line each (``run show``)."""
    for b in batches:
        counts = f"{b['n_completed']} completed, {b['n_failed']} failed"
        print(f"batch {b['remote_id'] or '(not yet created)'}: {b['status']}, "
              f"{b['n_rows']} rows, {counts}")


def cancel(ctx: Context, run_id: int) -> int:
    run = runs.get_run(ctx.store, run_id)
    if not batch.is_batch_run(run):
        raise BadInput(f"run {run_id} runs online: stop it with Ctrl+C in its terminal or "
                       "Cancel in the app")
    run = batch.cancel_remote(ctx.store, run_id)
    if ctx.json:
        print_json({"run_id": run_id, "status": run.status, "n_done": run.n_done})
    elif run.status == "cancelled":
        print(f"run {run_id} cancelled: {run.n_done}/{run.n_total} rows kept")
    else:
        print(f"run {run_id}: cancel requested; its batches are still cancelling (see "
              f"'mlops-desk run resume {run_id}')")
    return 0


def import_results(ctx: Context, ids: list[str]) -> int:
    if len(ids) < 2:
        raise BadInput("'run import-results' takes a run id and output file(s), e.g. "
                       "'run import-results 12 results.jsonl'")
    run_id = user_input.parse_id(ids[0], "run id")
    report = batch_offline.import_results(ctx.store, run_id, [Path(p) for p in ids[1:]])
    run = report.run
    if ctx.json:
        print_json({"run_id": run_id, "status": run.status, "new_rows": report.new_rows,
                    "already_stored": report.already_stored,
                    "not_this_run": report.not_this_run, "missing": report.missing,
                    "metrics": run.metrics})
        return 0
    print(f"run {run_id} {run.status}: {report.new_rows} new row(s) imported, "
          f"{report.already_stored} already stored, {run.n_done}/{run.n_total} rows")
    if report.not_this_run:
        info(f"{report.not_this_run} line(s) did not belong to run {run_id} and were skipped")
    if report.missing:
        shown = ", ".join(str(i) for i in report.missing[:20])
        more = ", ..." if len(report.missing) > 20 else ""
        print(f"missing: {len(report.missing)} row(s) ({shown}{more}); write them again with "
              f"'mlops-desk run resume {run_id} --export-batch FILE.jsonl'")
    return 0
