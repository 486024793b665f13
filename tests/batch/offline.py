"""An offline engine for tests: answers an exported batch file the way vLLM's ``run-batch``
(one file, failures inline) or OpenAI's Batch API (an output and an error file) writes them,
with the loopback server's responder."""

from __future__ import annotations

import json
from pathlib import Path


def answer_file(server, input_path: Path, out_dir: Path, *, fmt: str = "vllm",
                fail: set[str] = frozenset(), skip: set[str] = frozenset()) -> list[Path]:
    done, errors = [], []
    for raw in input_path.read_bytes().splitlines():
        line = json.loads(raw)
        custom_id = line["custom_id"]
        if custom_id in skip:
            continue
        if custom_id in fail:
            if fmt == "vllm":
                errors.append({"id": f"vllm-{custom_id}", "custom_id": custom_id,
                               "response": {"status_code": 400, "request_id": "vllm-batch-x",
                                            "body": None},
                               "error": {"object": "error", "message": "prompt too long",
                                         "type": "BadRequestError", "param": None,
                                         "code": 400}})
            else:
                errors.append({"id": f"batch_req_{custom_id}", "custom_id": custom_id,
                               "response": {"status_code": 400, "request_id": "req_x",
                                            "body": {"error": {"message": "prompt too long",
                                                               "type": "invalid_request_error",
                                                               "param": None, "code": None}}},
                               "error": None})
            continue
        status, body = server._batch_completion(line["body"])
        prefix = "vllm-" if fmt == "vllm" else "batch_req_"
        done.append({"id": f"{prefix}{custom_id}", "custom_id": custom_id,
                     "response": {"status_code": status, "request_id": f"r-{custom_id}",
                                  "body": body}, "error": None})
    if fmt == "vllm":
        return [_write(out_dir / "vllm_output.jsonl", done + errors)]
    return [_write(out_dir / "openai_output.jsonl", done),
            _write(out_dir / "openai_errors.jsonl", errors)]


def _write(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path
