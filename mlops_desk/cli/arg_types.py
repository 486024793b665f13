"""argparse ``type=`` converters over core's strict parsers (``core.user_input``).

argparse's own ``type=int`` takes ``'٣'`` and ``'1_000'`` and lets numbers through that
overflow SQLite later; these refuse them while parsing, as one usage line (exit 2).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from mlops_desk.core import user_input
from mlops_desk.core.errors import BadInput


def whole(minimum: int = 0, maximum: int = user_input.SQLITE_MAX_INT) -> Callable[[str], int]:
    def convert(text: str) -> int:
        try:
            return user_input.parse_int(text, "value", minimum=minimum, maximum=maximum)
        except BadInput as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = "whole number"
    return convert


count = whole(minimum=1)  # limits, concurrency, attempts, rates: at least one
port = whole(minimum=0, maximum=65535)  # 0: any free port


def number(text: str) -> float:
    """A finite decimal number (no nan, inf or overflowing exponents)."""
    try:
        value = float(text) if text.isascii() else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"bad value {user_input.shown(text)}: expected a "
                                         "number, e.g. 0.5")
    return value
