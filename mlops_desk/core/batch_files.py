"""Batch JSONL files: the requests a run sends, and the answers an engine sends back.

Input, one line per row, as OpenAI's Batch API and vLLM's ``run-batch`` both read it::

    {"custom_id": "row-17", "method": "POST", "url": "/v1/chat/completions", "body": {...}}

where ``body`` is exactly what the online run sends for that row (``inference.request_body``).

Output, one line per answered request. OpenAI puts successes in the output file and failures
in the error file; vLLM writes one file with failures inline. Both use::

    {"id": ..., "custom_id": "row-17", "response": {"status_code": 200, "body": {...}},
     "error": null}

A line is an answer only with status 200, a body and no error. ``error.code ==
"batch_expired"`` means the request never ran (the 24 h window ended): not a failure.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_desk.core.datasets import iter_rows
from mlops_desk.core.errors import BadInput
from mlops_desk.core.inference import (
    Completion,
    completion_from_body,
    render_messages,
    request_body,
)
from mlops_desk.core.store import Store

CHAT_URL = "/v1/chat/completions"
MAX_FILE_BYTES = 200 * 1024 * 1024  # OpenAI's limit for one batch input file
MAX_BATCH_ROWS = 50_000  # OpenAI's limit of requests in one batch
_PREFIX = "row-"


def custom_id(idx: int) -> str:
    return f"{_PREFIX}{idx}"


def row_index(custom: Any) -> int | None:
    """The row a custom_id names, or None for one this program did not write."""
    if isinstance(custom, str) and custom.startswith(_PREFIX) and custom[len(_PREFIX):].isdigit():
        return int(custom[len(_PREFIX):])
    return None


def request_line(idx: int, config: dict[str, Any], row: dict[str, Any]) -> bytes:
    body = request_body(config, render_messages(config, row))
    line = {"custom_id": custom_id(idx), "method": "POST", "url": CHAT_URL, "body": body}
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def request_lines(store: Store, dataset_id: int, n_total: int, config: dict[str, Any],
                  wanted: set[int] | None = None) -> Iterator[tuple[int, bytes]]:
    """(row index, request line) for the run's rows in order (only ``wanted`` if given);
    streams the dataset, so a million rows never sit in memory."""
    for idx, row in rows_of(store, dataset_id, n_total, wanted):
        if wanted is None or idx in wanted:
            yield idx, request_line(idx, config, row)


def rows_of(store: Store, dataset_id: int, n_total: int,
            wanted: set[int] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """The run's dataset rows (only ``wanted``), reading just the span the wanted rows cover:
    a batch's rows are mostly one stretch of the dataset."""
    if wanted is not None and not wanted:
        return
    start = min(wanted) if wanted else 0
    stop = min(max(wanted) + 1, n_total) if wanted else n_total
    for idx, row in iter_rows(store, dataset_id, start=start, limit=max(stop - start, 0)):
        if wanted is None or idx in wanted:
            yield idx, row


def split(lines: Iterable[tuple[int, bytes]], max_rows: int,
          max_bytes: int = MAX_FILE_BYTES) -> Iterator[list[int]]:
    """Row indexes grouped into files of at most ``max_rows`` lines and ``max_bytes`` bytes."""
    group: list[int] = []
    size = 0
    for idx, line in lines:
        if len(line) > max_bytes:
            raise BadInput(f"row {idx}'s request is {len(line):,} bytes, more than a batch "
                           f"file may hold ({max_bytes:,} bytes)")
        if group and (len(group) >= max_rows or size + len(line) > max_bytes):
            yield group
            group, size = [], 0
        group.append(idx)
        size += len(line)
    if group:
        yield group


def write_atomically(path: Path, lines: Iterable[bytes]) -> int:
    """Write lines to ``path`` through a temporary file; returns how many were written."""
    path = Path(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    count = 0
    try:
        with os.fdopen(fd, "wb") as handle:
            for line in lines:
                handle.write(line)
                count += 1
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return count


@dataclass(frozen=True)
class Outcome:
    """One output line: an answer, a failure, or a request that expired unrun."""

    idx: int
    completion: Completion | None = None
    error: tuple[str, str] | None = None  # (error class, message) of a failed request
    expired: bool = False


def parse_line(raw: bytes | str, where: str) -> Outcome | None:
    """An output line (OpenAI's or vLLM's format); None for a custom_id not ours.

    ``where`` names the line in errors ("results.jsonl line 3").
    """
    try:
        line = json.loads(raw)
    except ValueError as exc:
        raise BadInput(f"{where} is not JSON ({exc.msg})") from None
    if not isinstance(line, dict) or "custom_id" not in line:
        raise BadInput(f"{where} is not a batch output line (no custom_id)")
    idx = row_index(line["custom_id"])
    if idx is None:
        return None
    error = line.get("error") if isinstance(line.get("error"), dict) else None
    response = line.get("response") if isinstance(line.get("response"), dict) else None
    if error is not None and error.get("code") == "batch_expired":
        return Outcome(idx, expired=True)
    status = response.get("status_code") if response else None
    body = response.get("body") if response else None
    if error is None and status == 200 and isinstance(body, dict):
        try:
            return Outcome(idx, completion=completion_from_body(body))
        except (KeyError, TypeError, AttributeError, IndexError) as exc:
            return Outcome(idx, error=("bad_response", f"malformed response: {exc}"))
    return Outcome(idx, error=_failure(status, body, error))


def _failure(status: Any, body: Any, error: dict | None) -> tuple[str, str]:
    detail = error
    if detail is None and isinstance(body, dict) and isinstance(body.get("error"), dict):
        detail = body["error"]
    message = str((detail or {}).get("message") or "no answer")
    if isinstance(status, int) and status != 200:
        return f"http_{status}", f"HTTP {status}: {message}"
    code = (detail or {}).get("code")
    return str(code or "batch_error"), message


def read_outcomes(lines: Iterable[bytes | str], name: str) -> Iterator[Outcome | None]:
    for number, raw in enumerate(lines, start=1):
        if raw.strip():
            yield parse_line(raw, f"{name} line {number}")
