"""`model set-reference`: choose the dataset a model's figures are shown on, or go back to
the rule; bad names are one-line errors that change nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli


def _world(cli: Cli, tmp_path: Path) -> None:
    for name in ("main", "easy"):
        path = tmp_path / f"{name}.csv"
        path.write_text(f"text,label\n{name} one,a\n{name} two,b\n", encoding="utf-8")
        cli.ok("dataset", "import", str(path), "--name", name, "--expected-col", "label")
    cli.ok("model", "create", "triage", "--labels", "a,b")


def test_set_reference_and_back_to_the_rule(cli: Cli, tmp_path: Path) -> None:
    _world(cli, tmp_path)
    out = cli.ok("model", "set-reference", "triage", "easy").out
    assert out.strip() == "model triage: reference dataset easy (chosen)"
    shown = json.loads(cli.ok("model", "set-reference", "triage", "main", "--json").out)
    assert (shown["dataset"], shown["source"]) == ("main", "chosen")
    out = cli.ok("model", "set-reference", "triage", "--rule").out
    assert "no reference dataset until it has a gate dataset or a run" in out


def test_bad_input_is_one_line_and_keeps_the_choice(cli: Cli, tmp_path: Path) -> None:
    _world(cli, tmp_path)
    cli.ok("model", "set-reference", "triage", "easy")
    for args, words in ((("triage", "nope"), "no dataset named 'nope'"),
                        (("nope", "main"), "no model named 'nope'"),
                        (("triage",), "give either a dataset name or --rule"),
                        (("triage", "main", "--rule"), "give either a dataset name or --rule")):
        result = cli("model", "set-reference", *args)
        assert result.code in (1, 2)
        assert len(result.err_lines) == 1 and result.err_lines[0].startswith("mlops-desk: error:")
        assert words in result.err_lines[0]
    again = json.loads(cli.ok("model", "set-reference", "triage", "easy", "--json").out)
    assert again["dataset"] == "easy"
