"""Core messages speak plain words: no command-line flag or command in any error or gate
check message of mlops_desk/core (the CLI appends its hint, the GUI offers its action)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mlops_desk.core
from mlops_desk.cli import build_parser
from mlops_desk.cli.output import error_text
from mlops_desk.core import deploy, gates
from mlops_desk.core.errors import BadInput, MlopsError
from mlops_desk.core.store import Store
from tests.conftest import Cli
from tests.deploy.world import World, build_world

CORE = Path(mlops_desk.core.__file__).parent


@pytest.fixture
def world(store: Store, tmp_path: Path) -> World:
    return build_world(store, tmp_path)


def cli_commands() -> list[str]:
    """The CLI's command names ('endpoint', 'run', 'history', ...), read from its parser."""
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sorted(sub.choices)


def flag_or_command(text: str) -> str | None:
    commands = "|".join(map(re.escape, cli_commands()))
    pattern = rf"--[a-z]|mlops-desk |'(?:{commands})[ ']"
    found = re.search(pattern, text)
    return found.group(0) if found else None


def _text(node: ast.AST | None) -> str:
    """The literal text of a message expression; a placeholder stands for {...}."""
    if node is None:
        return ""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(v) if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp):
        return _text(node.left) + _text(node.right)
    return "{}"


def core_messages() -> list[tuple[str, str]]:
    """(where, text) of every message raised in core, and of every gate check."""
    found = []
    for path in sorted(CORE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            call = node.exc if isinstance(node, ast.Raise) else node
            if not isinstance(call, ast.Call):
                continue
            name = getattr(call.func, "id", getattr(call.func, "attr", ""))
            if isinstance(node, ast.Raise) and call.args:
                message = call.args[0]
            elif name == "Check":
                message = (call.args[2] if len(call.args) > 2 else
                           next((k.value for k in call.keywords if k.arg == "message"), None))
            else:
                continue
            found.append((f"{path.name}:{call.lineno}", _text(message)))
    return found


def test_the_scan_sees_the_messages_and_would_catch_a_flag() -> None:
    messages = dict(core_messages())
    assert len(messages) > 100
    assert any("cannot be archived while" in m for m in messages.values())
    assert flag_or_command("bad --limit 0") == "--l"
    assert flag_or_command("run 'mlops-desk run x' first") == "mlops-desk "
    assert flag_or_command("check 'history' and retry") == "'history'"
    assert flag_or_command("(see 'env list {}')") == "'env "
    assert flag_or_command("a forced deploy must say why: give a reason") is None


def test_no_core_message_names_a_flag_or_command() -> None:
    offenders = [(where, text) for where, text in core_messages() if flag_or_command(text)]
    assert offenders == []


def test_the_cli_appends_the_hint_and_the_message_stays_plain() -> None:
    err = BadInput("a forced deploy must say why: give a reason",
                   hint="--force needs --reason TEXT")
    assert str(err) == "a forced deploy must say why: give a reason"
    assert err.hint == "--force needs --reason TEXT"
    assert MlopsError("plain").hint == ""


@given(st.text(min_size=1).filter(str.strip), st.text())
def test_message_and_hint_make_one_line_with_the_hint_last(message: str, hint: str) -> None:
    err = BadInput(message, hint=hint)
    line = error_text(err)
    assert "\n" not in line and line.startswith(str(err))
    assert line.endswith(f" ({err.hint})") if err.hint else line == str(err)
    assert str(err) == " ".join(message.split())  # the GUI's text never carries the hint


def test_cli_prints_the_hint_in_its_one_line(cli: Cli, world: World) -> None:
    forced = cli("deploy", "triage:1", "--env", "production", "--force")
    assert forced.code == 2
    assert forced.err_lines == ["mlops-desk: error: a forced deploy must say why: give a "
                                "reason (--force needs --reason TEXT)"]
    missing = cli("version", "show", "triage:9")
    assert missing.err_lines == ["mlops-desk: error: model triage has no version 9 "
                                 "(see 'version list')"]


def test_the_gate_says_what_to_run_in_words_and_the_cli_adds_the_command(
        cli: Cli, world: World) -> None:
    gates.set_policy(world.store, "triage", "production", "gate-set", ["accuracy>=0.5"])
    report = gates.evaluate(world.store, world.version(2), "production", None)
    check = report.checks[0]
    assert not check.passed and flag_or_command(check.message) is None
    assert "run it on the whole dataset first" in check.message
    assert check.hint == "mlops-desk run triage:2 --dataset gate-set"
    with pytest.raises(gates.GateRefused) as refused:
        deploy.deploy(world.store, "triage", 2, "production")
    assert flag_or_command(str(refused.value)) is None
    result = cli("deploy", "triage:2", "--env", "production")
    assert result.code == 1
    assert result.err_lines[0].endswith("(override with --force --reason TEXT)")
    assert "(mlops-desk run triage:2 --dataset gate-set)" in result.out
