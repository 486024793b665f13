"""API keys (keyring or env var) and `endpoint test` against the loopback fake server."""

from __future__ import annotations

import json
import socket
import sqlite3
import uuid
from pathlib import Path

import pytest
from keyring.backends import fail

from tests.conftest import Cli
from tests.support.fake_openai import FakeOpenAIServer
from tests.support.fixtures import fake_openai  # noqa: F401
from tests.support.memory_keyring import MemoryKeyring


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_endpoint_test_reports_reachability_latency_and_models(
        cli: Cli, fake_openai: FakeOpenAIServer) -> None:  # noqa: F811
    fake_openai.models = ("gpt-mini", "llama-3")
    cli.ok("endpoint", "add", "fake", "--base-url", fake_openai.base_url)
    text = cli.ok("endpoint", "test", "fake").out
    assert text.startswith("fake: reachable in ") and "2 model(s): gpt-mini, llama-3" in text
    result = json.loads(cli.ok("endpoint", "test", "fake", "--json").out)
    assert result["reachable"] is True and result["model_ids"] == ["gpt-mini", "llama-3"]
    assert 0 < result["latency_ms"] < 10_000 and result["error"] is None


def test_an_unreachable_endpoint_is_exit_1_and_one_line(cli: Cli) -> None:
    cli.ok("endpoint", "add", "gone", "--base-url", f"http://127.0.0.1:{closed_port()}/v1",
           "--timeout", "2")
    result = cli("endpoint", "test", "gone")
    assert result.code == 1 and len(result.err_lines) == 1
    assert "not reachable" in result.err and "cannot connect" in result.err


def test_keys_from_keyring_and_env_work_and_are_never_stored(
        cli: Cli, fake_openai: FakeOpenAIServer, memory_keyring: MemoryKeyring,  # noqa: F811
        db_path: Path, log_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keyring_key = f"sk-keyring-{uuid.uuid4().hex}"
    env_key = f"plain-env-{uuid.uuid4().hex}"  # not key-shaped: only `remember` scrubs it
    monkeypatch.setenv("FAKE_API_KEY", env_key)
    cli.ok("model", "list")  # create the file, then hold it open so the WAL stays on disk
    holder = sqlite3.connect(db_path)
    try:
        holder.execute("SELECT count(*) FROM endpoints").fetchone()
        outputs = [
            cli.ok("endpoint", "add", "kr", "--base-url", fake_openai.base_url,
                   "--api-key-stdin", stdin=keyring_key + "\n"),
            cli.ok("endpoint", "add", "env", "--base-url", fake_openai.base_url,
                   "--api-key-env", "FAKE_API_KEY"),
            cli.ok("endpoint", "list"), cli.ok("endpoint", "list", "--json"),
            cli.ok("audit", "list", "--json"),
        ]
        assert memory_keyring.passwords == {("mlops-desk", "kr"): keyring_key}
        for name, key in (("kr", keyring_key), ("env", env_key)):
            fake_openai.api_key = key
            outputs.append(cli.ok("endpoint", "test", name))
            fake_openai.api_key = "something-else"
            denied = cli("endpoint", "test", name)
            assert denied.code == 1 and "HTTP 401" in denied.err
            outputs.append(denied)
        files = sorted(db_path.parent.glob(db_path.name + "*"))
        assert db_path.with_name(db_path.name + "-wal") in files
        leaked = [str(path) for path in [*files, *log_dir.rglob("*")]
                  if path.is_file() and (keyring_key.encode() in path.read_bytes()
                                         or env_key.encode() in path.read_bytes())]
    finally:
        holder.close()
    assert leaked == []
    assert list(log_dir.rglob("*.log")), "the CLI should have written a log"
    for result in outputs:
        assert keyring_key not in result.out + result.err
        assert env_key not in result.out + result.err


def test_a_rejected_endpoint_leaves_no_key_behind(cli: Cli,
                                                  memory_keyring: MemoryKeyring) -> None:
    cli.ok("endpoint", "add", "kr", "--base-url", "http://h/v1", "--api-key-stdin",
           stdin="sk-first-key-0001\n")
    duplicate = cli("endpoint", "add", "kr", "--base-url", "http://h/v1", "--api-key-stdin",
                    stdin="sk-second-key-0002\n")
    bad_url = cli("endpoint", "add", "other", "--base-url", "nope", "--api-key-stdin",
                  stdin="sk-third-key-0003\n")
    assert duplicate.code == bad_url.code == 2
    assert memory_keyring.passwords == {("mlops-desk", "kr"): "sk-first-key-0001"}


def test_no_keyring_suggests_the_environment_variable(cli: Cli) -> None:
    import keyring

    keyring.set_keyring(fail.Keyring())  # what headless Linux has
    result = cli("endpoint", "add", "kr", "--base-url", "http://h/v1", "--api-key-stdin",
                 stdin="sk-some-key-123456\n")
    assert result.code == 2 and len(result.err_lines) == 1
    assert "keyring" in result.err and "--api-key-env" in result.err
    assert json.loads(cli.ok("endpoint", "list", "--json").out) == []


def test_a_missing_env_var_is_one_line_at_test_time(cli: Cli, monkeypatch) -> None:
    monkeypatch.delenv("UNSET_KEY_VAR", raising=False)
    cli.ok("endpoint", "add", "env", "--base-url", "http://h/v1", "--api-key-env",
           "UNSET_KEY_VAR")
    result = cli("endpoint", "test", "env")
    assert result.code == 1 and len(result.err_lines) == 1 and "UNSET_KEY_VAR" in result.err


def test_edit_switches_the_key_source(cli: Cli, memory_keyring: MemoryKeyring) -> None:
    cli.ok("endpoint", "add", "e", "--base-url", "http://h/v1", "--api-key-env", "K")
    cli.ok("endpoint", "edit", "e", "--api-key-stdin", stdin="sk-new-key-99999\n")
    shown = json.loads(cli.ok("endpoint", "list", "--json").out)[0]
    assert shown["api_key"] == "OS keyring"
    assert memory_keyring.passwords[("mlops-desk", "e")] == "sk-new-key-99999"
    nothing = cli("endpoint", "edit", "e")
    assert nothing.code == 2 and len(nothing.err_lines) == 1


def test_a_base_url_with_a_password_is_refused_with_advice(cli: Cli, db_path: Path,
                                                           log_dir: Path) -> None:
    url = "http://alice:hunter2pw@127.0.0.1:9/v1"
    added = cli("endpoint", "add", "creds", "--base-url", url)
    assert added.code == 2 and len(added.err_lines) == 1
    line = added.err_lines[0]
    assert line.startswith("mlops-desk: error: the base URL 'http://alice:***@127.0.0.1:9/v1' "
                           "contains a user name or password")
    assert line.endswith("(--api-key-env VAR or --api-key-stdin)")
    assert cli.ok("endpoint", "list", "--json").out.strip() == "[]"
    cli.ok("endpoint", "add", "clean", "--base-url", "http://127.0.0.1:9/v1")
    edited = cli("endpoint", "edit", "clean", "--base-url", "https://tok3n@h/v1")
    assert edited.code == 2 and len(edited.err_lines) == 1
    assert "'https://***@h/v1'" in edited.err and "--api-key-env" in edited.err
    shown = cli.ok("endpoint", "list").out + cli.ok("endpoint", "list", "--json").out
    assert "http://127.0.0.1:9/v1" in shown and "tok3n" not in shown
    everything = [added.err, edited.err, *(p.read_text() for p in log_dir.glob("*.log*")),
                  *(p.read_bytes().decode("utf-8", "replace") for p in db_path.parent.glob(
                      f"{db_path.name}*"))]
    assert not any("hunter2pw" in text or "tok3n" in text for text in everything)


def test_a_url_stored_with_a_password_before_is_never_printed_with_it(
        cli: Cli, db_path: Path) -> None:
    cli.ok("endpoint", "add", "old", "--base-url", f"http://127.0.0.1:{closed_port()}/v1",
           "--timeout", "2")
    with sqlite3.connect(db_path) as db:  # what an older MLOps Desk let through
        db.execute("UPDATE endpoints SET base_url = replace(base_url, 'http://', "
                   "'http://alice:hunter2pw@')")
    listed = cli.ok("endpoint", "list")
    assert "http://alice:***@127.0.0.1:" in listed.out
    as_json = json.loads(cli.ok("endpoint", "list", "--json").out)
    assert as_json[0]["base_url"].startswith("http://alice:***@127.0.0.1:")
    tested = cli("endpoint", "test", "old")  # the error quotes the URL it could not reach
    assert tested.code == 1 and "cannot connect to http://alice:***@127.0.0.1:" in tested.err
    edit = cli("endpoint", "edit", "old", "--timeout", "5")  # fix the URL first
    assert edit.code == 2 and "contains a user name or password" in edit.err
    for result in (listed, tested, edit):
        assert "hunter2pw" not in result.out + result.err
