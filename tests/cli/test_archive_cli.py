"""`endpoint|model|dataset archive NAME [--restore]` and `list --all`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_desk.core import audit, deploy
from mlops_desk.core.store import Store
from tests.conftest import Cli
from tests.deploy.world import build_world


@pytest.fixture
def filled(cli: Cli, store: Store, tmp_path: Path) -> Cli:
    build_world(store, tmp_path)  # endpoint fake, model triage (3 versions), dataset gate-set
    return cli


def listed(cli: Cli, group: str, *extra: str) -> dict[str, bool]:
    rows = json.loads(cli.ok(group, "list", "--json", *extra).out)
    return {row["name"]: row["archived"] for row in rows}


@pytest.mark.parametrize(("group", "name"), [("endpoint", "fake"), ("model", "triage"),
                                             ("dataset", "gate-set")])
def test_archive_hides_from_lists_and_restore_brings_back(filled: Cli, store: Store,
                                                          group: str, name: str) -> None:
    assert listed(filled, group) == {name: False}
    assert filled.ok(group, "archive", name).out.strip() == f"{group} {name} archived"
    assert listed(filled, group) == {}
    assert listed(filled, group, "--all") == {name: True}
    table = filled.ok(group, "list", "--all").out
    assert f"{name} (archived)" in table
    assert name not in filled.ok(group, "list").out
    again = filled.ok(group, "archive", name)
    assert "already archived; nothing changed" in again.out
    assert filled.ok(group, "archive", name, "--restore").out.strip() == f"{group} {name} restored"
    assert listed(filled, group) == {name: False}
    actions = [e["action"] for e in audit.list_events(store, subject=f"{group}:{name}")]
    assert actions[-2:] == [f"{group}.archive", f"{group}.restore"]


def test_archiving_something_deployed_is_refused_in_one_line(filled: Cli, store: Store) -> None:
    deploy.deploy(store, "triage", 1, "production")
    for group, name in (("model", "triage"), ("endpoint", "fake")):
        result = filled(group, "archive", name)
        assert result.code == 2 and len(result.err_lines) == 1
        assert result.err_lines[0].startswith(f"mlops-desk: error: {group} {name} cannot be "
                                              "archived while")
        assert "triage:1 serves production" in result.err
    assert listed(filled, "model") == {"triage": False}


def test_archive_of_an_unknown_name_keeps_the_cli_hint(filled: Cli) -> None:
    result = filled("model", "archive", "nope")
    assert result.code == 2
    assert result.err_lines == ["mlops-desk: error: no model named 'nope' (see 'model list')"]
