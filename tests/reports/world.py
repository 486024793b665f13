"""A registry with real runs to report on: injection payloads, a stored key, URL credentials.

Two runs of ``triage`` go through the run engine against the loopback OpenAI-compatible
server, which requires the API key kept in the (in-memory) OS keyring: version 1 answers
each row's ``answer`` column (payloads included), version 2 answers the expected label.
Afterwards the endpoint's base URL gains a user:password and a key in its query string (the
password written, and audited, the way an older version did before such URLs were refused),
so every report reads an endpoint and an audit event with credentials it must not print.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from mlops_desk.core import audit, deploy, gates, registry, secrets
from mlops_desk.core.runner import execute
from mlops_desk.core.store import Store
from tests.runner.helpers import Workspace, add_version, build_workspace

HTML_PAYLOAD = "<img src=x onerror=alert(1)>"
SCRIPT_PAYLOAD = "<script>alert('x')</script><a href='https://evil.example/'>x</a>"
FORMULA_ANSWER = '=HYPERLINK("http://evil.example/?q=1","click")'
FORMULA_INPUT = "+cmd|' /C calc'!A0"
# Rows: (input text, the answer version 1 gives, expected label).
ROWS = [
    (HTML_PAYLOAD, "billing", "bug"),  # a dataset cell payload, answered wrong
    ("row one", HTML_PAYLOAD, "bug"),  # a model answer payload
    ("row two", FORMULA_ANSWER, "billing"),
    (FORMULA_INPUT, "other", "other"),
    ("-5", "bug", "bug"),  # text that is just a number
    ("row five", "@SUM(1+1)", "bug"),
    ("row six", "pipes | and `ticks` [link](http://evil.example)", "billing"),
    ("row seven", SCRIPT_PAYLOAD, "other"),
    ("row eight", "bug", "bug"),
    ("row nine", "billing", "billing"),
]
TITLE = "Run 1: triage:1 on tickets"


@dataclass
class Reported:
    ws: Workspace
    run_a: int
    run_b: int
    api_key: str
    url_password: str
    url_query_key: str

    @property
    def store(self) -> Store:
        return self.ws.store

    @property
    def secrets(self) -> list[str]:
        return [self.api_key, self.url_password, self.url_query_key]


def build_reported(store: Store, tmp: Path, server) -> Reported:
    rows = [{"text": text, "answer": answer, "expected": expected}
            for text, answer, expected in ROWS]
    ws = build_workspace(store, tmp, server.base_url, rows=rows, parser="text")
    api_key = f"sk-test-{uuid.uuid4().hex}"
    registry.update_endpoint(store, "fake", api_key_ref=secrets.store_in_keyring("fake", api_key))
    server.api_key = api_key  # a request without the stored key would be refused (401)
    run_a = execute(store, ws.create()).id
    v2 = add_version(ws, template="Ticket: {text}\nANSWER: {expected}")
    ws_b = Workspace(store, tmp, v2, ws.dataset, ws.rows)
    run_b = execute(store, ws_b.create()).id
    gates.set_policy(store, "triage", "production", "tickets", ["accuracy>=0.5"])
    deploy.deploy(store, "triage", 2, "production", reason=f"better {HTML_PAYLOAD}")
    password, query_key = f"pw-{uuid.uuid4().hex}", f"qk-{uuid.uuid4().hex}"
    port = server.base_url.split(":")[2].split("/")[0]
    registry.update_endpoint(store, "fake",
                             base_url=f"http://127.0.0.1:{port}/v1?key={query_key}")
    stored = f"http://alice:{password}@127.0.0.1:{port}/v1?key={query_key}"
    with store.transaction() as db:  # a password in the URL, as an older version stored it
        db.execute("UPDATE endpoints SET base_url = ? WHERE name = 'fake'", [stored])
        audit.append(store, "endpoint.edit", "endpoint:fake", {"base_url": stored})
    return Reported(ws, run_a, run_b, api_key, password, query_key)
