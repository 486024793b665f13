"""Names of endpoints, models, datasets and environments: one validator for all of them.

A name is typed on command lines and read in lists, so it is checked, never cleaned: a
leading or trailing space is refused (dropping it silently would store a name the user did
not type), and a new name that differs from an existing one only in case is refused, since
"Review-Sentiment" beside "review-sentiment" reads as the same thing. Registries that
already hold such pairs keep working: lookups stay exact and only new names are checked.
"""

from __future__ import annotations

import re
import sqlite3

from mlops_desk.core.errors import BadInput, Conflict

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# The table that holds each kind of name unique across the registry (environments are
# unique per model only, so they are checked where they are added).
_TABLES = {"endpoint": "endpoints", "model": "models", "dataset": "datasets"}


def check_name(name: str, what: str) -> str:
    """``name`` if it is a valid ``what`` name; otherwise ``BadInput`` saying what to fix."""
    name = name or ""
    spaces = [side for side, edge in (("leading", name[:1]), ("trailing", name[-1:]))
              if edge.isspace()]
    if spaces and name.strip():
        plural = "s" if len(spaces) == 2 else ""
        raise BadInput(f"invalid {what} name {name!r}: remove the {' and '.join(spaces)} "
                       f"space{plural}")
    if not NAME.match(name):
        raise BadInput(
            f"invalid {what} name {name!r}: use letters, digits, '.', '_' or '-' (max 64)"
        )
    return name


def check_name_free(conn: sqlite3.Connection, name: str, what: str) -> None:
    """Refuse a new ``what`` name that an existing one has in another case.

    The exact same name is left to the caller, whose message says what to do instead.
    NOCASE folds ASCII only, which is all a valid name can hold.
    """
    table = _TABLES[what]
    row = conn.execute(f"SELECT name FROM {table} WHERE name = ? COLLATE NOCASE "
                       "AND name != ? ORDER BY name LIMIT 1", [name, name]).fetchone()
    if row is not None:
        raise Conflict(f"{what} {row[0]} already exists; names are unique regardless of case, "
                       f"so {name!r} is refused (use {row[0]} or another name)")
