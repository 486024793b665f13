"""``mlops-desk``: with no subcommand the desktop window, otherwise the CLI.

Exit codes: 0 success, 1 a check failed (or an internal error, whose traceback goes to the
log file), 2 bad usage or bad input; every failure prints exactly one line on stderr.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from mlops_desk import __version__
from mlops_desk.cli import output
from mlops_desk.cli.context import Context
from mlops_desk.core import user_input
from mlops_desk.core.errors import MlopsError
from mlops_desk.core.logs import get_logger, setup_logging
from mlops_desk.core.store import known_error
from mlops_desk.core.store_check import ForeignDatabase


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit 2) instead of a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        output.error(f"{message} (see '{self.prog} --help')")
        raise SystemExit(2)


def build_parser() -> ArgumentParser:
    from mlops_desk.cli import commands_demo, commands_deploy, commands_registry, commands_runs
    from mlops_desk.cli import commands_report as report_commands

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", type=Path, default=argparse.SUPPRESS,
                        help="registry database (default: $MLOPS_DESK_DB or the user-data dir)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print JSON instead of text")

    parser = ArgumentParser(
        prog="mlops-desk", parents=[common],
        description="MLOps Desk: a registry, test batches, charts and deploys for your models. "
                    "Run without a command to open the desktop window.",
    )
    parser.add_argument("--version", action="version", version=f"mlops-desk {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="check that this install works (temporary registry, sample "
                             "workspace, a batch, the gateway, every page) and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    commands_registry.register(sub, common)
    commands_runs.register(sub, common)
    commands_deploy.register(sub, common)
    commands_demo.register(sub, common)
    report_commands.register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except Exception:
        # The last resort for a bug: the traceback goes to the log file (argv is left out:
        # it may hold a password in a URL), the user gets one line.
        log_file = setup_logging()
        get_logger("cli").exception("internal error")
        where = f"details in {log_file}" if log_file else "details could not be logged"
        output.error(f"internal error, please report it ({where})")
        return 1


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    for arg in argv:
        try:
            user_input.check_text(arg, "argument")
        except MlopsError as exc:
            output.error(str(exc))
            return exc.exit_code
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test:
        from mlops_desk.self_test import run_self_test

        return run_self_test()
    if getattr(args, "handler", None) is None:
        if args.command:  # a group like 'endpoint' without its subcommand
            output.error(
                f"'{args.command}' needs a subcommand (see 'mlops-desk {args.command} --help')"
            )
            return 2
        from mlops_desk.ui.launch import launch

        return launch(getattr(args, "db", None))
    ctx = Context(args)
    try:
        return int(args.handler(ctx) or 0)
    except ForeignDatabase as exc:
        output.error(f"{exc} (choose your registry with --db PATH or $MLOPS_DESK_DB)")
        return exc.exit_code
    except MlopsError as exc:
        output.error(output.error_text(exc))
        return exc.exit_code
    except sqlite3.Error as exc:
        err = known_error(exc, ctx.db_path)
        if err is None:
            raise
        output.error(str(err))
        return err.exit_code
    except KeyboardInterrupt:
        output.error("interrupted")
        return 130
    except BrokenPipeError:  # `mlops-desk ... | head`: not an error worth a traceback
        sys.stderr.close()
        return 0
    finally:
        ctx.close()
