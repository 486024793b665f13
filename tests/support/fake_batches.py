"""The loopback server's ``/v1/files`` and ``/v1/batches``: OpenAI's Batch API, in memory.

Follows OpenAI's documented objects (file, batch, request_counts, errors) and status flow:
``validating`` -> ``in_progress`` -> ``finalizing`` -> ``completed``, or ``failed`` (the input
did not validate, with ``errors``), ``expired`` (the window ended with lines unrun: those go to
the error file as ``batch_expired``), ``cancelling`` -> ``cancelled``. Successful lines go to
the output file, failed ones to the error file, each as
``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}``.

The clock is the client's polling: each retrieve of a batch moves it one step, and an
``in_progress`` batch answers ``lines_per_step`` lines per retrieve (all by default), so a
test sees every status quickly and deterministically. ``hold`` keeps batches in_progress.

Fault injection (``BatchPlan``): a line that fails N times (non-200 ``status_code``), a line
that expires unrun N times, and the next created batch(es) failing validation.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_EXPIRED = {"code": "batch_expired",
            "message": "This request could not be executed before the completion window "
                       "expired."}


@dataclass
class BatchPlan:
    """Which batch lines fail, by ``custom_id``. Safe to change between requests."""

    fail: Counter = field(default_factory=Counter)  # custom_id -> failures left
    fail_status: int = 500
    expire: Counter = field(default_factory=Counter)  # custom_id -> expiries left
    invalid: list[str] = field(default_factory=list)  # messages for the next batches to fail

    def fail_line(self, custom_id: str, times: int = 1, status: int = 500) -> None:
        self.fail[custom_id] += times
        self.fail_status = status

    def expire_line(self, custom_id: str, times: int = 1) -> None:
        self.expire[custom_id] += times

    def fail_validation(self, message: str = "Invalid 'model': unknown model.") -> None:
        self.invalid.append(message)


@dataclass
class _Batch:
    obj: dict[str, Any]
    lines: list[dict]
    done: list[dict] = field(default_factory=list)  # output lines
    errors: list[dict] = field(default_factory=list)  # error lines
    next_line: int = 0
    expiring: bool = False


class FakeBatchAPI:
    """Files and batches of one FakeOpenAIServer; ``complete(body) -> (status, body)``."""

    def __init__(self, complete: Callable[[dict], tuple[int, dict]]) -> None:
        self._complete = complete
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.files: dict[str, tuple[dict, bytes]] = {}
        self.batches: dict[str, _Batch] = {}
        self.plan = BatchPlan()
        self.lines_per_step: int | None = None  # None: every line in one step
        self.hold = False  # keep in_progress batches from advancing
        self.submitted: list[str] = []  # every custom_id of every created batch, in order
        self.cancel_requests = 0

    # -- HTTP entry ------------------------------------------------------------------------
    def handle(self, method: str, path: str, headers: dict, body: bytes):
        """(status, payload or raw bytes) for a files/batches request, or None if not ours."""
        parts = path.strip("/").split("/")[1:]  # drop "v1"
        with self._lock:
            if parts == ["files"] and method == "POST":
                return self._upload(headers, body)
            if len(parts) == 2 and parts[0] == "files" and method == "GET":
                return self._file(parts[1])
            if len(parts) == 3 and parts[0] == "files" and parts[2] == "content":
                return self._content(parts[1])
            if parts == ["batches"] and method == "POST":
                return self._create(json.loads(body or b"{}"))
            if parts == ["batches"] and method == "GET":
                return 200, {"object": "list", "data": [b.obj for b in
                                                        reversed(self.batches.values())],
                             "first_id": None, "last_id": None, "has_more": False}
            if len(parts) == 2 and parts[0] == "batches" and method == "GET":
                return self._retrieve(parts[1])
            if len(parts) == 3 and parts[0] == "batches" and parts[2] == "cancel":
                return self._cancel(parts[1])
        return None

    # -- files ---------------------------------------------------------------------------
    def _upload(self, headers: dict, body: bytes):
        fields = _multipart(headers.get("content-type", ""), body)
        if "file" not in fields or fields.get("purpose", (None, b""))[1] != b"batch":
            return _error(400, "Expected a 'file' and purpose 'batch'.")
        filename, content = fields["file"]
        file_id = f"file-fake{next(self._ids)}"
        obj = {"id": file_id, "object": "file", "bytes": len(content),
               "created_at": int(time.time()), "filename": filename or "upload.jsonl",
               "purpose": "batch", "status": "processed", "status_details": None}
        self.files[file_id] = (obj, content)
        return 200, obj

    def _file(self, file_id: str):
        if file_id not in self.files:
            return _error(404, f"No such File object: {file_id}")
        return 200, self.files[file_id][0]

    def _content(self, file_id: str):
        if file_id not in self.files:
            return _error(404, f"No such File object: {file_id}")
        return 200, self.files[file_id][1]

    def _new_file(self, name: str, lines: list[dict], purpose: str) -> str | None:
        if not lines:
            return None
        content = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
        file_id = f"file-fake{next(self._ids)}"
        self.files[file_id] = ({"id": file_id, "object": "file", "bytes": len(content),
                                "created_at": int(time.time()), "filename": name,
                                "purpose": purpose, "status": "processed",
                                "status_details": None}, content)
        return file_id

    # -- batches -------------------------------------------------------------------------
    def _create(self, request: dict):
        file_id = request.get("input_file_id")
        if file_id not in self.files:
            return _error(400, f"No such File object: {file_id}")
        if request.get("endpoint") != "/v1/chat/completions":
            return _error(400, "Only /v1/chat/completions is supported here.")
        now = int(time.time())
        batch_id = f"batch_fake{next(self._ids)}"
        obj = {"id": batch_id, "object": "batch", "endpoint": request["endpoint"],
               "errors": None, "input_file_id": file_id,
               "completion_window": request.get("completion_window", "24h"),
               "status": "validating", "output_file_id": None, "error_file_id": None,
               "created_at": now, "in_progress_at": None, "expires_at": now + 86400,
               "finalizing_at": None, "completed_at": None, "failed_at": None,
               "expired_at": None, "cancelling_at": None, "cancelled_at": None,
               "request_counts": {"total": 0, "completed": 0, "failed": 0},
               "metadata": request.get("metadata")}
        lines, problems = _validate(self.files[file_id][1])
        if self.plan.invalid:
            problems.insert(0, {"code": "invalid_request", "message": self.plan.invalid.pop(0),
                                "param": "body.model", "line": 1})
        batch = _Batch(obj, lines)
        if problems:
            obj["errors"] = {"object": "list", "data": problems}
            batch.lines = []
        self.batches[batch_id] = batch
        self.submitted.extend(line["custom_id"] for line in batch.lines)
        return 200, obj

    def _retrieve(self, batch_id: str):
        if batch_id not in self.batches:
            return _error(404, f"No batch found with id '{batch_id}'.")
        self._step(self.batches[batch_id])
        return 200, self.batches[batch_id].obj

    def _cancel(self, batch_id: str):
        if batch_id not in self.batches:
            return _error(404, f"No batch found with id '{batch_id}'.")
        batch = self.batches[batch_id]
        self.cancel_requests += 1
        if batch.obj["status"] in ("validating", "in_progress", "finalizing"):
            batch.obj.update(status="cancelling", cancelling_at=int(time.time()))
        return 200, batch.obj

    def _step(self, batch: _Batch) -> None:
        obj, now = batch.obj, int(time.time())
        status = obj["status"]
        if status == "validating":
            if obj["errors"]:
                obj.update(status="failed", failed_at=now)
            else:
                obj.update(status="in_progress", in_progress_at=now)
                obj["request_counts"]["total"] = len(batch.lines)
        elif status == "in_progress" and not self.hold:
            self._run_lines(batch)
            if batch.next_line >= len(batch.lines):
                obj.update(status="finalizing", finalizing_at=now)
        elif status == "finalizing":
            self._finish(batch, "expired" if batch.expiring else "completed")
        elif status == "cancelling":
            self._finish(batch, "cancelled")

    def _run_lines(self, batch: _Batch) -> None:
        end = len(batch.lines) if self.lines_per_step is None else min(
            len(batch.lines), batch.next_line + self.lines_per_step)
        counts = batch.obj["request_counts"]
        for line in batch.lines[batch.next_line:end]:
            custom_id = line["custom_id"]
            if self.plan.expire[custom_id] > 0:
                self.plan.expire[custom_id] -= 1
                batch.expiring = True
                batch.errors.append(_line(custom_id, None, _EXPIRED))
                continue
            if self.plan.fail[custom_id] > 0:
                self.plan.fail[custom_id] -= 1
                status = self.plan.fail_status
                body = {"error": {"message": "The server had an error processing the request.",
                                  "type": "server_error", "param": None, "code": None}}
            else:
                status, body = self._complete(line["body"])
            if status == 200:
                batch.done.append(_line(custom_id, {"status_code": 200, "body": body}, None))
                counts["completed"] += 1
            else:
                batch.errors.append(_line(custom_id, {"status_code": status, "body": body},
                                          None))
                counts["failed"] += 1
        batch.next_line = end

    def _finish(self, batch: _Batch, status: str) -> None:
        now = int(time.time())
        if status == "cancelled":  # unrun lines of a cancelled batch are in neither file
            batch.next_line = len(batch.lines)
        batch.obj.update(status=status, **{f"{status}_at": now})
        batch.obj["output_file_id"] = self._new_file(f"{batch.obj['id']}_output.jsonl",
                                                     batch.done, "batch_output")
        batch.obj["error_file_id"] = self._new_file(f"{batch.obj['id']}_error.jsonl",
                                                    batch.errors, "batch_output")
        if status == "expired":
            batch.obj["request_counts"]["failed"] = len(batch.errors)


def _line(custom_id: str, response: dict | None, error: dict | None) -> dict:
    number = abs(hash(custom_id)) % 10**8
    if response is not None:
        response = {"request_id": f"req_fake{number}", **response}
    return {"id": f"batch_req_fake{number}", "custom_id": custom_id, "response": response,
            "error": error}


def _validate(content: bytes) -> tuple[list[dict], list[dict]]:
    """Lines of an input file, and validation errors as OpenAI lists them."""
    lines, problems, seen = [], [], set()
    for number, raw in enumerate(content.splitlines(), start=1):
        try:
            line = json.loads(raw)
            custom_id = line["custom_id"]
            assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
            assert isinstance(line["body"].get("messages"), list) and line["body"].get("model")
        except (ValueError, KeyError, AssertionError, AttributeError, TypeError):
            problems.append({"code": "invalid_request", "line": number, "param": None,
                             "message": "This line is not a valid batch request."})
            continue
        if custom_id in seen:
            problems.append({"code": "duplicate_custom_id", "line": number, "param": None,
                             "message": f"The custom_id '{custom_id}' is duplicated."})
        seen.add(custom_id)
        lines.append(line)
    if not lines and not problems:
        problems.append({"code": "empty_file", "line": None, "param": None,
                         "message": "The input file is empty."})
    return lines, problems


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """name -> (filename, bytes) of a multipart/form-data body."""
    boundary = content_type.partition("boundary=")[2].strip('"')
    fields = {}
    if not boundary:
        return fields
    for part in body.split(b"--" + boundary.encode())[1:-1]:
        head, _, data = part.partition(b"\r\n\r\n")
        disposition = head.decode("latin-1")
        name = disposition.partition('name="')[2].partition('"')[0]
        filename = disposition.partition('filename="')[2].partition('"')[0] or None
        fields[name] = (filename, data.removesuffix(b"\r\n"))
    return fields


def _error(status: int, message: str):
    return status, {"error": {"message": message, "type": "invalid_request_error",
                              "param": None, "code": None}}
