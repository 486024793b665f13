"""CLI: report run|compare|model|audit (export) and report verify FILE."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlops_desk.cli.context import Context
from mlops_desk.cli.output import print_json, utc_time
from mlops_desk.core.errors import BadInput, CheckFailed

FORMATS = ("html", "pdf", "csv", "xlsx", "md", "json")  # as core.reports.FORMATS, kept
# here so building the parser does not import the report code


def register(sub, common) -> None:
    parser = sub.add_parser("report", help="export run, comparison, model and audit reports; "
                                           "verify an exported file")
    group = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))

    def leaf(name: str, help_text: str, handler, *, exports: bool = True):
        leaf_parser = group.add_parser(name, parents=[common], help=help_text)
        leaf_parser.set_defaults(handler=handler)
        if exports:
            leaf_parser.add_argument("--format", choices=FORMATS,
                                     help="default: from the -o file's extension")
            leaf_parser.add_argument("-o", "--output", type=Path, required=True,
                                     metavar="PATH", help="the file to write")
        return leaf_parser

    leaf("run", "one run: what ran, metrics, charts, worst rows", report_run).add_argument(
        "run_id", type=int, metavar="ID")
    compare = leaf("compare", "two runs on one dataset: deltas, flipped rows, McNemar",
                   report_compare)
    compare.add_argument("run_a", type=int, metavar="ID1")
    compare.add_argument("run_b", type=int, metavar="ID2")
    leaf("model", "a model card: versions, metrics over time, deploys, gates, monitoring",
         report_model).add_argument("model", metavar="NAME")
    audit = leaf("audit", "audit events in a time range, with the chain check", report_audit)
    audit.add_argument("--since", metavar="DATE", help="UTC date or time, e.g. 2026-11-01")
    audit.add_argument("--until", metavar="DATE", help="UTC date or time (exclusive)")
    leaf("verify", "say which export a file is; exit 1 if edited or not from this registry",
         report_verify, exports=False).add_argument("file", type=Path, metavar="FILE")


def report_run(ctx: Context) -> int:
    return _export(ctx, "run", {"run_id": ctx.args.run_id})


def report_compare(ctx: Context) -> int:
    return _export(ctx, "compare", {"run_ids": [ctx.args.run_a, ctx.args.run_b]})


def report_model(ctx: Context) -> int:
    return _export(ctx, "model", {"model": ctx.args.model})


def report_audit(ctx: Context) -> int:
    return _export(ctx, "audit", {"since": ctx.args.since, "until": ctx.args.until})


def _export(ctx: Context, kind: str, subject: dict[str, Any]) -> int:
    from mlops_desk.core.reports import export

    path: Path = ctx.args.output
    try:
        fmt = export.format_for(path, ctx.args.format)
    except BadInput as exc:
        raise BadInput(f"{exc} (or pass --format)") from None
    try:
        export.check_format(kind, fmt)
    except BadInput as exc:
        raise BadInput(f"{exc} (--format html|pdf|md|json)") from None
    result = export.export_report(ctx.store, kind, subject, path, fmt,
                                  render_pdf=_pdf_renderer() if fmt == "pdf" else None)
    if ctx.json:
        print_json(result.to_dict())
    else:
        print(f"{kind} report written to {result.path} ({result.format}, {result.size:,} bytes, "
              f"sha256 {result.sha256}, audit event {result.event_id})")
    return 0


def _pdf_renderer():
    try:
        from mlops_desk.ui.report_pdf import render_pdf
    except ImportError as exc:  # a Qt without its PDF writer or a missing system library
        raise BadInput(f"PDF export needs Qt, which failed to load ({exc}); "
                       "export html and print it instead") from None
    return render_pdf


def report_verify(ctx: Context) -> int:
    from mlops_desk.core.reports.export import verify_export

    path: Path = ctx.args.file
    record, chain = verify_export(ctx.store, path)
    if ctx.json:
        print_json({"file": str(path), "exported": record is not None,
                    "record": record.__dict__ if record else None, "audit_ok": chain.ok})
    if record is None:
        raise CheckFailed(f"{path.name} was edited after export or was not exported from this "
                          "registry: no report export in the audit log has its sha256")
    if not chain.ok:
        raise CheckFailed(f"{path.name} matches export event {record.event_id}, but the audit "
                          f"log is broken at event {chain.first_bad_id} ({chain.problem}), "
                          "so that record cannot be trusted")
    if not ctx.json:
        print(f"{path.name}: the {record.kind} report of {record.subject} exported as "
              f"{record.format} ({record.file}) by {record.user} at {utc_time(record.ts)} UTC, "
              f"audit event {record.event_id}; unchanged since, audit log intact")
    return 0
