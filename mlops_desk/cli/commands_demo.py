"""CLI: ``demo`` loads the sample workspace (offline, no API key)."""

from __future__ import annotations

import sys

from mlops_desk.cli.context import Context
from mlops_desk.cli.output import info, print_json


def register(sub, common) -> None:
    demo = sub.add_parser(
        "demo", parents=[common], help="load the sample workspace (offline, no API key)",
        description="Create a sample model with three versions, a labelled review dataset and "
                    "a few weeks of runs, so every page and chart has something to show. "
                    "Does nothing if the sample is already loaded.",
    )
    demo.set_defaults(handler=demo_command)


def demo_command(ctx: Context) -> int:
    from mlops_desk.core.sample import load_sample_workspace

    show = sys.stderr.isatty() and not ctx.json

    def on_progress(p) -> None:
        if show:
            sys.stderr.write(f"\r[{p.done}/{p.total}] {p.message[:70]:<70}")
            sys.stderr.flush()

    summary = load_sample_workspace(ctx.store, on_progress=on_progress)
    if show:
        sys.stderr.write("\n")
    if ctx.json:
        print_json({"db": str(ctx.db_path), "created": summary.created, "model": summary.model,
                    "dataset": summary.dataset, "versions": summary.versions,
                    "runs": summary.run_ids})
    elif summary.created:
        print(f"sample workspace loaded into {ctx.db_path}: model {summary.model} "
              f"(versions {', '.join(map(str, summary.versions))}), dataset {summary.dataset}, "
              f"{len(summary.run_ids)} runs")
        info(f"open it with 'mlops-desk --db {ctx.db_path}' or see 'mlops-desk runs list'")
    else:
        print(f"the sample workspace is already in {ctx.db_path} (model {summary.model}); "
              "nothing changed")
    return 0
