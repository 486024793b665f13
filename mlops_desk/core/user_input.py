"""Strict parsers for the numbers and references people type: ids, counts, ``MODEL:N``,
durations. The CLI, the search boxes and the gateway's model names all read them here.

Why not ``int()`` / ``str.isdigit()``: ``'²'.isdigit()`` is true but ``int('²')`` raises;
``int()`` takes ``'٣'``, ``' 7 '`` and ``'1_000'``; and an int outside SQLite's signed
64-bit range raises ``OverflowError`` once it is bound to a query. Here a number is ASCII
digits only and fits SQLite; anything else is a one-line ``BadInput``.
"""

from __future__ import annotations

import re

from mlops_desk.core.errors import BadInput

SQLITE_MAX_INT = 2**63 - 1
# A look-back window longer than this is a typo, and a huge one overflows date arithmetic.
MAX_DURATION_S = 10 * 365 * 86400
_DIGITS = re.compile(r"[0-9]+")  # not \d: that matches every Unicode digit
_DURATION = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhdw]?)\s*", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SHOWN_CHARS = 40


def shown(text: str) -> str:
    """``repr`` of user text for an error line, cut so a pasted novel stays one short line."""
    return repr(text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…")


def check_text(text: str, what: str) -> str:
    """Refuse text that cannot be stored: bytes that were not UTF-8, which Python keeps as
    lone surrogates (command-line arguments) and SQLite refuses to encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput(f"{what} {shown(text)} is not valid UTF-8 text; check the terminal's "
                       "encoding or the file name") from None
    return text


def int_or_none(text: str, *, minimum: int = 0) -> int | None:
    """The number ``text`` spells (ASCII digits, ``minimum``..SQLite's max), else None.

    For places where text that is not a number simply means something else (a search
    term, a model name).
    """
    if not isinstance(text, str) or not _DIGITS.fullmatch(text) or len(text) > 19:
        return None  # 19 digits bound the int() below; 2**63 - 1 has 19
    value = int(text)
    return value if minimum <= value <= SQLITE_MAX_INT else None


def parse_int(text: str, what: str, *, minimum: int = 0,
              maximum: int = SQLITE_MAX_INT) -> int:
    """A whole number from ``minimum`` to ``maximum``, or ``BadInput`` naming ``what``."""
    if not isinstance(text, str) or not _DIGITS.fullmatch(text):
        raise BadInput(f"bad {what} {shown(str(text))}: expected a whole number (digits 0-9)")
    value = int_or_none(text)
    if value is None or value > maximum:
        raise BadInput(f"bad {what} {shown(text)}: the largest allowed is {maximum}")
    if value < minimum:
        raise BadInput(f"bad {what} {shown(text)}: the smallest allowed is {minimum}")
    return value


def parse_id(text: str, what: str = "id") -> int:
    """A row id: 1 or more (SQLite's ids start at 1)."""
    return parse_int(text, what, minimum=1)


def version_ref_or_none(ref: str) -> tuple[str, int] | None:
    """``MODEL:N`` -> (MODEL, N) when it is one, else None (it may be a plain name)."""
    name, sep, number = ref.rpartition(":") if isinstance(ref, str) else ("", "", "")
    value = int_or_none(number, minimum=1)
    if not sep or not name or value is None:
        return None
    return name, value


def parse_version_ref(ref: str) -> tuple[str, int]:
    """``MODEL:N`` -> (MODEL, N); the model name may itself hold colons."""
    parsed = version_ref_or_none(ref)
    if parsed is None:
        name, _, number = ref.rpartition(":") if isinstance(ref, str) else ("", "", "")
        why = (f"in MODEL:N, N runs from 1 to {SQLITE_MAX_INT}"
               if name and _DIGITS.fullmatch(number) else "expected MODEL:N, e.g. triage:3")
        raise BadInput(f"bad version reference {shown(str(ref))}: {why}")
    return parsed


def parse_duration(text: str) -> float:
    """``90s``, ``15m``, ``1h``, ``2d``, ``1w`` (a bare number is seconds) -> seconds."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise BadInput(f"bad duration {shown(str(text))}: expected e.g. 30m, 1h, 2d")
    seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if seconds <= 0:
        raise BadInput(f"bad duration {shown(text)}: it must be longer than 0")
    if seconds > MAX_DURATION_S:
        raise BadInput(f"bad duration {shown(text)}: at most {MAX_DURATION_S // 86400}d "
                       "(10 years)")
    return seconds
