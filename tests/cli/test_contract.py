"""The CLI contract: --json everywhere, exit codes 0/1/2, one stderr line per failure."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlops_desk import __version__
from tests.conftest import Cli


@pytest.fixture(scope="module")
def filled_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry with one of everything, built once per module."""
    base = tmp_path_factory.mktemp("filled")
    cli = Cli(base / "registry.db")
    cli.ok("endpoint", "add", "local", "--base-url", "http://127.0.0.1:9/v1",
           "--price", "m1=0.5,1.5")
    cli.ok("model", "create", "triage", "--labels", "bug,question", "--description", "tickets")
    cli.ok("version", "register", "triage", "--endpoint", "local", "--model-id", "m1",
           "--template", "{text}", "--param", "temperature=0")
    cli.ok("version", "register", "triage", "--endpoint", "local", "--model-id", "m1",
           "--template", "{text}", "--param", "temperature=0.7")
    csv = base / "tickets.csv"
    csv.write_text("text,label\nit crashes,bug\nhow do I log in?,question\n", encoding="utf-8")
    cli.ok("dataset", "import", str(csv), "--name", "tickets", "--expected-col", "label")
    return cli.db_path


@pytest.fixture
def filled(cli: Cli, filled_template: Path) -> Cli:
    """A private copy of the filled registry (every CLI call closes the file, so it is whole)."""
    shutil.copyfile(filled_template, cli.db_path)
    return cli


def test_version_flag(cli: Cli) -> None:
    result = cli("--version")
    assert (result.code, result.out.strip()) == (0, f"mlops-desk {__version__}")


@pytest.mark.parametrize("command", [
    ["endpoint", "list"], ["model", "list"], ["version", "list", "triage"],
    ["version", "show", "triage:1"], ["version", "diff", "triage:1", "triage:2"],
    ["dataset", "list"], ["dataset", "show", "tickets"], ["audit", "list"], ["audit", "verify"],
])
def test_every_listing_has_json(filled: Cli, command: list[str]) -> None:
    for argv in ([*command, "--json"], ["--json", *command]):
        result = filled(*argv)
        assert result.code == 0, result.err
        json.loads(result.out)
    text = filled(*command)
    assert text.code == 0 and text.out.strip() and not text.out.lstrip().startswith(("[", "{"))


def test_json_listings_hold_the_registry(filled: Cli) -> None:
    endpoints = json.loads(filled.ok("endpoint", "list", "--json").out)
    assert endpoints[0]["name"] == "local" and endpoints[0]["prices"] == {"m1": [0.5, 1.5]}
    models = json.loads(filled.ok("model", "list", "--json").out)
    assert models[0]["labels"] == ["bug", "question"] and models[0]["versions"] == 2
    versions = json.loads(filled.ok("version", "list", "triage", "--json").out)
    assert [(v["number"], v["parent_number"]) for v in versions] == [(1, None), (2, 1)]
    shown = json.loads(filled.ok("version", "show", "triage:2", "--json").out)
    assert shown["config"]["params"] == {"temperature": 0.7}
    diff = json.loads(filled.ok("version", "diff", "triage:1", "triage:2", "--json").out)
    assert diff == [{"field": "params.temperature", "a": 0, "b": 0.7}]
    events = json.loads(filled.ok("audit", "list", "--json").out)
    assert [e["action"] for e in events][:3] == ["endpoint.add", "model.create",
                                                 "version.register"]
    verify = json.loads(filled.ok("audit", "verify", "--json").out)
    assert verify["ok"] is True and verify["n_events"] == 5


def test_version_register_json_and_identity(filled: Cli) -> None:
    args = ["version", "register", "triage", "--endpoint", "local", "--model-id", "m1",
            "--template", "{text}", "--json"]
    again = json.loads(filled.ok(*args, "--param", "temperature=0.70").out)
    assert again["number"] == 2 and again["created"] is False
    assert set(again) == {"model", "number", "fingerprint", "created"}
    new = json.loads(filled.ok(*args, "--param", "temperature=1e-1", "--note", "cooler").out)
    assert (new["number"], new["created"]) == (3, True)
    text = filled.ok("version", "register", "triage", "--endpoint", "local", "--model-id", "m1",
                     "--template", "{text}", "--param", "temperature=0.1")
    assert text.out.startswith("triage:3 already registered") and new["fingerprint"] in text.out


def test_templates_and_prompts_from_files(filled: Cli, tmp_path: Path) -> None:
    (tmp_path / "system.txt").write_text("You sort tickets.\n", encoding="utf-8")
    (tmp_path / "t.txt").write_text("Ticket:\n{text}\n", encoding="utf-8")
    filled.ok("version", "register", "triage", "--endpoint", "local", "--model-id", "m1",
              "--system-prompt", f"@{tmp_path / 'system.txt'}", "--template",
              f"@{tmp_path / 't.txt'}")
    shown = json.loads(filled.ok("version", "show", "triage:3", "--json").out)
    assert shown["config"]["system_prompt"] == "You sort tickets.\n"
    assert shown["config"]["template"] == "Ticket:\n{text}\n"


def test_annotate_edits_notes_tags_and_archive_only(filled: Cli) -> None:
    filled.ok("version", "annotate", "triage:1", "--note", "baseline", "--tags", "old,ci",
              "--archive")
    shown = json.loads(filled.ok("version", "show", "triage:1", "--json").out)
    assert (shown["note"], shown["tags"], shown["archived"]) == ("baseline", ["old", "ci"], True)


REGISTER = ["version", "register", "triage", "--endpoint", "local", "--model-id", "m1"]

BAD_INPUT = {
    "unknown command": ["frobnicate"],
    "group without action": ["endpoint"],
    "unknown option": ["model", "list", "--colour"],
    "endpoint bad url": ["endpoint", "add", "e2", "--base-url", "localhost:8080"],
    "endpoint no url": ["endpoint", "add", "e2"],
    "endpoint bad target": ["endpoint", "add", "e2", "--kind", "python", "--target", "nope"],
    "endpoint bad kind": ["endpoint", "add", "e2", "--kind", "grpc"],
    "endpoint bad price": ["endpoint", "add", "e2", "--base-url", "http://h/v1",
                           "--price", "m1=cheap"],
    "endpoint bad timeout": ["endpoint", "add", "e2", "--base-url", "http://h/v1",
                             "--timeout", "0"],
    "endpoint timeout not a number": ["endpoint", "add", "e2", "--base-url", "http://h/v1",
                                      "--timeout", "soon"],
    "endpoint duplicate": ["endpoint", "add", "local", "--base-url", "http://h/v1"],
    "endpoint bad name": ["endpoint", "add", "my endpoint", "--base-url", "http://h/v1"],
    "endpoint bad env var": ["endpoint", "add", "e2", "--base-url", "http://h/v1",
                             "--api-key-env", "MY-KEY"],
    "endpoint two key options": ["endpoint", "add", "e2", "--base-url", "http://h/v1",
                                 "--api-key-env", "K", "--api-key-stdin"],
    "endpoint empty stdin key": ["endpoint", "add", "e2", "--base-url", "http://h/v1",
                                 "--api-key-stdin"],
    "endpoint test unknown": ["endpoint", "test", "ghost"],
    "model duplicate": ["model", "create", "triage"],
    "model bad kind": ["model", "create", "m2", "--kind", "ranking"],
    "model duplicate labels": ["model", "create", "m2", "--labels", "a,b,a"],
    "version unknown model": ["version", "register", "ghost", "--endpoint", "local",
                              "--model-id", "m1"],
    "version unknown endpoint": ["version", "register", "triage", "--endpoint", "ghost",
                                 "--model-id", "m1"],
    "version missing model id": ["version", "register", "triage", "--endpoint", "local"],
    "version bad param": [*REGISTER, "--param", "temperature"],
    "version nan param": [*REGISTER, "--param", "temperature=NaN"],
    "version bad template": [*REGISTER, "--template", "{text"],
    "version template spec": [*REGISTER, "--template", "{text:d}"],
    "version bad parser": [*REGISTER, "--parser", "regex:("],
    "version missing file": [*REGISTER, "--template", "@/nonexistent/template.txt"],
    "version unknown parent": [*REGISTER, "--model-id", "m9", "--parent", "9"],
    "version show bad ref": ["version", "show", "triage"],
    "version show unknown": ["version", "show", "triage:9"],
    "version diff unknown": ["version", "diff", "triage:1", "ghost:1"],
    "annotate unknown": ["version", "annotate", "triage:9", "--note", "x"],
    "version list unknown": ["version", "list", "ghost"],
    "dataset missing file": ["dataset", "import", "/nonexistent/x.csv", "--name", "d2"],
    "dataset bad name": ["dataset", "import", "/nonexistent/x.csv", "--name", "a b"],
    "dataset show unknown": ["dataset", "show", "ghost"],
    "audit bad limit": ["audit", "list", "--limit", "many"],
}


@pytest.mark.parametrize("argv", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_is_exit_2_and_one_line(filled: Cli, argv: list[str]) -> None:
    before = filled("audit", "list", "--json").out
    result = filled(*argv)
    assert result.code == 2, result
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert result.err.startswith("mlops-desk: error: ")
    assert filled("audit", "list", "--json").out == before  # nothing was changed


DATASET_FILES = {
    "empty": b"",
    "header only": b"text,label\n",
    "binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20,
    "latin-1": "text,label\ncaf\u00e9,bug\n".encode("latin-1"),
    "damaged utf-16": "text,label\nhello,bug\n".encode("utf-16")[:-1],
    "ragged": b"text,label\nhello,bug\nbye,question,extra,more\n",
    "no usable rows": b"text,label\n,bug\n,question\n",
    "huge cell": b"text,label\n" + b"x" * 10_000_001 + b",bug\n",
}


@pytest.mark.parametrize("content", DATASET_FILES.values(), ids=DATASET_FILES.keys())
def test_bad_dataset_files_are_exit_2_and_write_nothing(filled: Cli, tmp_path: Path,
                                                        content: bytes) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result = filled("dataset", "import", str(path), "--name", "bad", "--expected-col", "label")
    assert result.code == 2, result
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert json.loads(filled.ok("dataset", "list", "--json").out)[0]["name"] == "tickets"
    assert len(json.loads(filled.ok("dataset", "list", "--json").out)) == 1


def test_missing_column_is_exit_2(filled: Cli, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("text,label\na,b\n", encoding="utf-8")
    for option in (["--input-col", "body"], ["--expected-col", "answer"]):
        result = filled("dataset", "import", str(path), "--name", "t2", *option)
        assert result.code == 2 and len(result.err_lines) == 1, result


def test_help_is_exit_0(cli: Cli) -> None:
    result = cli("version", "register", "--help")
    assert result.code == 0 and "--model-id" in result.out
