"""Terminal output: aligned tables, JSON, and the one-line error format."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from mlops_desk.core.error_line import print_error


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, list | tuple):
        return ",".join(fmt(v) for v in value)
    return str(value)


def utc_time(iso: str) -> str:
    """``2026-11-27T05:30:00.123Z`` -> ``2026-11-27 05:30:00`` for table cells."""
    return iso[:19].replace("T", " ")


def print_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    """A plain aligned table; long cells are cut so a row fits one line."""
    cells = [[fmt(c) for c in row] for row in rows]
    cells = [[c if len(c) <= 60 else c[:57] + "..." for c in row] for row in cells]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line.rstrip())
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if not rows:
        print("(none)")


def error(message: str) -> None:
    """The one clear line on stderr that every failing command prints."""
    print_error(message)


def error_text(exc: Exception) -> str:
    """A core error's plain message with its CLI hint (the flag or command) appended."""
    hint = getattr(exc, "hint", "")
    return f"{exc} ({hint})" if hint else str(exc)


def info(message: str) -> None:
    print(message, file=sys.stderr)
