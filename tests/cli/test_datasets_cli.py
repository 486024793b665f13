"""`dataset import/show/list`: snapshots are immutable and identical content is not duplicated."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.conftest import Cli


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = ["text,label", *(f"{t},{label}" for t, label in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def counts(db_path: Path) -> tuple[int, int, int]:
    conn = sqlite3.connect(db_path)
    try:
        return tuple(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                     for table in ("datasets", "dataset_rows", "audit"))
    finally:
        conn.close()


ROWS = [("it crashes", "bug"), ("how do I log in?", "question"), ("500 on save", "bug")]


def test_import_prints_the_report_and_show_has_the_fields(cli: Cli, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tickets.csv", ROWS)
    text = cli.ok("dataset", "import", str(path), "--name", "tickets", "--expected-col", "label")
    assert text.out.startswith("dataset tickets imported: 3 rows, sha256 ")
    shown = json.loads(cli.ok("dataset", "show", "tickets", "--json").out)
    assert {"name", "n_rows", "sha256", "columns", "validation"} <= set(shown)
    assert (shown["name"], shown["n_rows"], shown["columns"]) == ("tickets", 3, ["text", "label"])
    assert (shown["input_cols"], shown["expected_col"]) == (["text"], "label")
    assert len(shown["sha256"]) == 64 and shown["validation"]["ok"] is True
    preview = cli.ok("dataset", "show", "tickets").out
    assert "it crashes" in preview and shown["sha256"] in preview
    listed = json.loads(cli.ok("dataset", "list", "--json").out)
    assert [d["name"] for d in listed] == ["tickets"]


def test_identical_content_returns_the_existing_snapshot(cli: Cli, tmp_path: Path,
                                                         db_path: Path) -> None:
    first = write_csv(tmp_path / "a.csv", ROWS)
    copy = write_csv(tmp_path / "copy.csv", ROWS)
    created = json.loads(cli.ok("dataset", "import", str(first), "--name", "tickets",
                                "--expected-col", "label", "--json").out)
    before = counts(db_path)
    again = json.loads(cli.ok("dataset", "import", str(copy), "--name", "tickets",
                              "--expected-col", "label", "--json").out)
    assert created["created"] is True and again["created"] is False
    assert again["sha256"] == created["sha256"] and again["name"] == "tickets"
    assert counts(db_path) == before
    text = cli.ok("dataset", "import", str(copy), "--name", "tickets", "--expected-col", "label")
    assert "already snapshot tickets" in text.out


def test_different_content_under_an_existing_name_writes_nothing(cli: Cli, tmp_path: Path,
                                                                 db_path: Path) -> None:
    cli.ok("dataset", "import", str(write_csv(tmp_path / "a.csv", ROWS)), "--name", "tickets",
           "--expected-col", "label")
    before = counts(db_path)
    changed = write_csv(tmp_path / "b.csv", [*ROWS, ("new row", "bug")])
    result = cli("dataset", "import", str(changed), "--name", "tickets", "--expected-col", "label")
    assert result.code == 2 and len(result.err_lines) == 1
    assert "already exists" in result.err
    assert counts(db_path) == before
    assert json.loads(cli.ok("dataset", "show", "tickets", "--json").out)["n_rows"] == 3


def test_other_formats_import_too(cli: Cli, tmp_path: Path) -> None:
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text("\n".join(json.dumps({"text": t, "label": lab}) for t, lab in ROWS) + "\n",
                     encoding="utf-8")
    cli.ok("dataset", "import", str(jsonl), "--name", "from-jsonl", "--expected-col", "label")
    tsv = tmp_path / "t.tsv"
    tsv.write_text("text\tlabel\nhello\tbug\n", encoding="utf-8")
    cli.ok("dataset", "import", str(tsv), "--name", "from-tsv", "--input-col", "text")
    names = [d["name"] for d in json.loads(cli.ok("dataset", "list", "--json").out)]
    assert names == ["from-jsonl", "from-tsv"]


# -- encodings -----------------------------------------------------------------------------

EXCEL_CSV = "text,label\ncafé crème,positive\nnaïve – 5 €,negative\n"


def test_a_cp1252_file_is_refused_with_the_flag_to_use_then_imported(
        cli: Cli, tmp_path: Path, db_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(EXCEL_CSV.encode("cp1252"))
    refused = cli("dataset", "import", str(path), "--name", "excel", "--expected-col", "label")
    assert refused.code == 2 and len(refused.err_lines) == 1, refused
    assert refused.err_lines[0] == (
        "mlops-desk: error: excel.csv: the file is not UTF-8 (byte 0xE9 at offset 14); "
        "choose its encoding (cp1252 fits) with --encoding cp1252")
    assert counts(db_path)[0] == 0

    done = cli.ok("dataset", "import", str(path), "--name", "excel", "--expected-col", "label",
                  "--encoding", "cp1252")
    assert "encoding: cp1252" in done.out
    shown = json.loads(cli.ok("dataset", "show", "excel", "--json").out)
    assert shown["validation"]["encoding"] == "cp1252"
    assert "café crème" in cli.ok("dataset", "show", "excel").out

    # The same table saved as UTF-8 is the same snapshot: the hash is of the cells only.
    utf8 = tmp_path / "utf8.csv"
    utf8.write_text(EXCEL_CSV, encoding="utf-8")
    again = json.loads(cli.ok("dataset", "import", str(utf8), "--name", "excel-utf8",
                              "--expected-col", "label", "--json").out)
    assert (again["created"], again["name"], again["sha256"]) == (False, "excel",
                                                                  shown["sha256"])


def test_a_utf16_excel_export_needs_no_flag(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "unicode.csv"
    path.write_bytes(EXCEL_CSV.encode("utf-16"))  # "Unicode text" from Excel: BOM + UTF-16
    done = cli.ok("dataset", "import", str(path), "--name", "uni", "--expected-col", "label")
    assert "encoding: utf-16-le (BOM)" in done.out


def test_an_unknown_encoding_is_one_line_exit_2(cli: Cli, tmp_path: Path,
                                                db_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", ROWS)
    result = cli("dataset", "import", str(path), "--name", "t", "--encoding", "klingon")
    assert result.code == 2 and result.err_lines == [
        "mlops-desk: error: unknown text encoding 'klingon': try utf-8, cp1252 or latin-1"]
    assert counts(db_path)[0] == 0


def test_case_and_space_name_rules_hold_on_the_command_line(cli: Cli, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", ROWS)
    cli.ok("dataset", "import", str(path), "--name", "tickets")
    other = write_csv(tmp_path / "o.csv", ROWS[:1])
    result = cli("dataset", "import", str(other), "--name", "Tickets")
    assert result.code == 2 and "dataset tickets already exists" in result.err
    result = cli("model", "create", "triage ")
    assert result.code == 2 and result.err_lines == [
        "mlops-desk: error: invalid model name 'triage ': remove the trailing space"]
