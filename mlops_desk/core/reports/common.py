"""What every report carries: its header, the audit head, and the scrubbing of secrets.

A report is a plain, JSON-serialisable dict built from what is stored (never by re-running
anything), so every format renders the same facts and any past run can be exported again.
``clean`` runs once over the finished dict: every string loses API keys this process knows
(``secrets.redact``) and URL credentials (``user:password@`` and key-like query parameters),
wherever it came from (a config, an audit detail, a model's answer).
"""

from __future__ import annotations

import math
import re
from typing import Any

from mlops_desk import __version__
from mlops_desk.core.secrets import redact
from mlops_desk.core.store import Store, utcnow

SCHEMA_VERSION = 1
KINDS = ("run", "compare", "model", "audit")
# Long free text (inputs, answers) is cut in reports: the per-row files hold it whole.
TEXT_LIMIT = 500
# Starts with a literal, so the regex engine skims long texts for "://" quickly.
_URL_CREDENTIALS = re.compile(r"://[^/\s@]+@")
# Query parameters where providers put keys (``?key=``, ``&api_key=``, ``?token=``...).
_SECRET_PARAM = re.compile(
    r"(?i)([?&](?:api[_-]?key|key|token|access[_-]?token|secret|password|sig|signature)=)"
    r"[^&#\s\"'<>]+")


def audit_head(store: Store) -> dict[str, Any]:
    """The newest audit event's id and hash: what the chain looked like when exported.

    Read from the events themselves (not the chain's bookkeeping), so it holds whatever
    hashing the chain uses.
    """
    row = store.db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    return {"event_id": row[0], "hash": row[1]} if row else {"event_id": 0, "hash": None}


def header(store: Store, kind: str, title: str, subject: str) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION, "kind": kind, "title": title, "subject": subject,
        "generated_at": utcnow(), "generator": f"mlops-desk {__version__}",
        "database": store.path.name, "audit_head": audit_head(store),
    }


def scrub_text(text: str) -> str:
    """No key and no URL credential: ``https://u:p@h/v1?key=x`` -> ``https://***@h/v1?key=***``."""
    text = _URL_CREDENTIALS.sub("://***@", text)
    return redact(_SECRET_PARAM.sub(r"\1***", text))


def clean(value: Any) -> Any:
    """The report with every string scrubbed and every non-finite number made None."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def short(text: Any, limit: int = TEXT_LIMIT) -> str | None:
    """Text cut to ``limit`` characters (with an ellipsis), for tables of rows."""
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
