"""Reading dataset files, the validation report and the content hash (core.dataset_io)."""

import codecs
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_desk.core.dataset_io import (
    LONG_INPUT_CHARS,
    MAX_CELL_CHARS,
    SUPPORTED,
    Table,
    UnknownEncoding,
    content_sha256,
    format_report,
    read_table,
    select_columns,
    validate,
)
from mlops_desk.core.errors import BadInput

# The same small dataset in every format: a number, a missing cell and the literal "NA".
ROWS = [
    {"question": "2+2?", "answer": "4", "score": 3},
    {"question": "NA", "answer": None, "score": 1.5},
    {"question": "capital of France?", "answer": "Paris", "score": None},
]
EXPECTED = [
    {"question": "2+2?", "answer": "4", "score": "3"},
    {"question": "NA", "answer": None, "score": "1.5"},
    {"question": "capital of France?", "answer": "Paris", "score": None},
]


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    return write(path, "".join(json.dumps(row) + "\n" for row in rows))


def bad_input(path: Path) -> str:
    """read_table(path) must fail with a one-line BadInput naming the file; returns it."""
    with pytest.raises(BadInput) as caught:
        read_table(path)
    message = str(caught.value)
    assert "\n" not in message
    assert path.name in message
    assert "Traceback" not in message
    return message


# --- bad files ----------------------------------------------------------------------------


def test_missing_file(tmp_path):
    assert "not found" in bad_input(tmp_path / "nope.csv")


def test_directory_is_not_a_file(tmp_path):
    (tmp_path / "data.csv").mkdir()
    assert "not a file" in bad_input(tmp_path / "data.csv")


def test_unreadable_file(tmp_path, monkeypatch):
    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    assert "Permission denied" in bad_input(write(tmp_path / "data.csv", "a\n1\n"))


def test_unsupported_extension_lists_the_supported_ones(tmp_path):
    message = bad_input(write(tmp_path / "data.txt", "a,b\n1,2\n"))
    assert all(ext in message for ext in SUPPORTED)


@pytest.mark.parametrize("ext", SUPPORTED)
def test_zero_byte_file(tmp_path, ext):
    assert "empty" in bad_input(write(tmp_path / f"data{ext}", b""))


@pytest.mark.parametrize(
    ("filename", "content"),
    [("head.csv", "a,b\n"), ("head.tsv", "a\tb\r\n\r\n"), ("blank.jsonl", "\n  \n")],
)
def test_header_only_has_no_rows(tmp_path, filename, content):
    assert "has no rows" in bad_input(write(tmp_path / filename, content))


def test_header_only_xlsx_and_parquet_have_no_rows(tmp_path):
    frame = pd.DataFrame({"a": pd.Series([], dtype=str)})
    frame.to_excel(tmp_path / "head.xlsx", index=False)
    frame.to_parquet(tmp_path / "head.parquet")
    assert "has no rows" in bad_input(tmp_path / "head.xlsx")
    assert "has no rows" in bad_input(tmp_path / "head.parquet")


def test_nul_bytes_mean_binary(tmp_path):
    assert "binary" in bad_input(write(tmp_path / "data.csv", b"a,b\n1,\x00\x01\x02\n"))


def test_binary_file_with_a_text_extension_is_named(tmp_path):
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "real.parquet")
    disguised = write(tmp_path / "data.jsonl", (tmp_path / "real.parquet").read_bytes())
    assert "Parquet" in bad_input(disguised)


@pytest.mark.parametrize("ext", [".xlsx", ".parquet"])
def test_text_file_claiming_a_binary_format(tmp_path, ext):
    assert "not a readable" in bad_input(write(tmp_path / f"data{ext}", "a,b\n1,2\n"))


def test_latin1_file_names_the_failing_offset(tmp_path):
    path = write(tmp_path / "data.csv", "text\ncafé\n".encode("latin-1"))
    message = bad_input(path)
    assert "UTF-8" in message
    assert "offset 8" in message  # "text\ncaf" is 8 bytes; 0xE9 is the 9th
    assert "0xE9" in message


# --- encodings ----------------------------------------------------------------------------

TEXT_ROWS = "text\tlabel\ncafé crème\tpositive\n«naïve» – 5 €\tnegative\n"


@pytest.mark.parametrize(("codec", "bom", "reported"), [
    ("utf-8", b"", "utf-8"),
    ("utf-8", codecs.BOM_UTF8, "utf-8 (BOM)"),
    ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16-le (BOM)"),
    ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16-be (BOM)"),
    ("utf-32-le", codecs.BOM_UTF32_LE, "utf-32-le (BOM)"),
])
@pytest.mark.parametrize("ext", [".tsv", ".jsonl"])
def test_utf8_and_byte_order_marks_are_detected(tmp_path, codec, bom, reported, ext):
    if ext == ".jsonl":
        text = "".join(json.dumps({"text": t, "label": lab}, ensure_ascii=False) + "\n"
                       for t, lab in (("café crème", "positive"), ("«naïve» – 5 €", "negative")))
    else:
        text = TEXT_ROWS
    table = read_table(write(tmp_path / f"data{ext}", bom + text.encode(codec)))
    assert table.columns == ["text", "label"]  # no BOM left in the first header
    assert [row["text"] for row in table.rows] == ["café crème", "«naïve» – 5 €"]
    assert table.encoding == reported
    assert validate(table, ["text"], "label")["encoding"] == reported


def test_a_bom_wins_over_a_chosen_encoding(tmp_path):
    path = write(tmp_path / "data.tsv", codecs.BOM_UTF16_LE + TEXT_ROWS.encode("utf-16-le"))
    assert read_table(path, "cp1252").encoding == "utf-16-le (BOM)"


def test_cp1252_bytes_ask_for_an_encoding_and_suggest_cp1252(tmp_path):
    path = write(tmp_path / "data.tsv", TEXT_ROWS.encode("cp1252"))  # "–" and "€": cp1252 only
    with pytest.raises(UnknownEncoding) as caught:
        read_table(path)
    assert caught.value.suggestion == "cp1252"
    message = str(caught.value)
    assert message.startswith("data.tsv: the file is not UTF-8 (byte 0xE9 at offset 14)")
    assert message.endswith("choose its encoding (cp1252 fits)")
    assert "--" not in message  # core speaks no CLI flags
    table = read_table(path, "cp1252")
    assert [row["text"] for row in table.rows] == ["café crème", "«naïve» – 5 €"]
    assert table.encoding == "cp1252"


def test_bytes_cp1252_leaves_undefined_suggest_latin1(tmp_path):
    path = write(tmp_path / "data.csv", b"text\nab\x81c\xe9\n")  # 0x81 is unused in cp1252
    with pytest.raises(UnknownEncoding) as caught:
        read_table(path)
    assert caught.value.suggestion == "latin-1"
    with pytest.raises(UnknownEncoding, match=r"not cp1252 .*\(latin-1 fits\)"):
        read_table(path, "cp1252")
    assert read_table(path, "Latin-1").rows == [{"text": "ab\x81cé"}]
    assert read_table(path, "Latin-1").encoding == "latin-1"


@pytest.mark.parametrize("name", ["klingon", "base64", "rot13"])
def test_unknown_or_non_text_encoding_is_refused(tmp_path, name):
    path = write(tmp_path / "data.csv", "text\nhi\n")
    with pytest.raises(BadInput, match="unknown text encoding"):
        read_table(path, name)


def test_binary_formats_ignore_the_encoding(tmp_path):
    pd.DataFrame({"text": ["café"]}).to_parquet(tmp_path / "d.parquet")
    table = read_table(tmp_path / "d.parquet", "cp1252")
    assert table.rows == [{"text": "café"}] and table.encoding is None
    assert "encoding" not in format_report(validate(table, ["text"], None))


def test_damaged_utf16_is_a_clear_error(tmp_path):
    path = write(tmp_path / "data.tsv", codecs.BOM_UTF16_LE + "a\tb\n".encode("utf-16-le")[:-1])
    assert "damaged" in bad_input(path)


def test_same_table_in_utf8_and_cp1252_has_the_same_snapshot_hash(tmp_path):
    utf8 = read_table(write(tmp_path / "a.tsv", TEXT_ROWS.encode("utf-8")))
    cp1252 = read_table(write(tmp_path / "b.tsv", TEXT_ROWS.encode("cp1252")), "cp1252")
    utf16 = read_table(write(tmp_path / "c.tsv", TEXT_ROWS.encode("utf-16")))
    assert len({utf8.encoding, cp1252.encoding, utf16.encoding}) == 3
    hashes = {content_sha256(t, ["text"], "label") for t in (utf8, cp1252, utf16)}
    assert len(hashes) == 1


@settings(max_examples=60, deadline=None)
@given(cells=st.lists(st.text(alphabet=st.characters(
    codec="cp1252", exclude_characters='",\r\n\x00', exclude_categories=("Cc", "Cs", "Zs")),
    min_size=1, max_size=12), min_size=1, max_size=5))
def test_any_cp1252_text_reads_back_as_written(tmp_path_factory, cells):
    """Choosing cp1252 reads any cp1252 text back exactly; when the bytes are not UTF-8,
    reading without a choice asks for one and suggests cp1252."""
    data = ("text\n" + "".join(c + "\n" for c in cells)).encode("cp1252")
    path = tmp_path_factory.mktemp("enc") / "data.csv"
    path.write_bytes(data)
    assert [row["text"] for row in read_table(path, "cp1252").rows] == cells
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        with pytest.raises(UnknownEncoding) as caught:
            read_table(path)
        assert caught.value.suggestion == "cp1252"


def test_ragged_csv_row_names_the_line(tmp_path):
    message = bad_input(write(tmp_path / "data.csv", "a,b\n1,2\n3,4,5\n"))
    assert "line 3" in message


def test_unterminated_quote_names_the_line(tmp_path):
    message = bad_input(write(tmp_path / "data.csv", 'a,b\n1,"2\n3,4\n'))
    assert "line 2 is never closed" in message


@pytest.mark.parametrize("bad_line", ['{"a": 2,}', '{"a": ' + "9" * 5000 + "}"])
def test_malformed_json_line_names_the_line(tmp_path, bad_line):
    path = write(tmp_path / "data.jsonl", '{"a": 1}\n\n' + bad_line + "\n")
    assert "line 3" in bad_input(path)


@pytest.mark.parametrize(("line", "what"), [("[1, 2]", "an array"), ("null", "null")])
def test_json_line_that_is_not_an_object(tmp_path, line, what):
    path = write(tmp_path / "data.ndjson", '{"a": 1}\n' + line + "\n")
    assert f"line 2 is {what};" in bad_input(path)


@pytest.mark.parametrize(
    ("filename", "content"),
    [("dup.csv", "a,b,a\n1,2,3\n"), ("dup.jsonl", '{"a": 1, "b": 2, "a": 3}\n')],
)
def test_duplicate_column_name(tmp_path, filename, content):
    assert "duplicate column name" in bad_input(write(tmp_path / filename, content))


def test_empty_column_name(tmp_path):
    assert "empty name" in bad_input(write(tmp_path / "data.csv", "a,,c\n1,2,3\n"))


def test_unnamed_column_with_no_data_is_dropped(tmp_path):
    # Excel exports often end every line with a comma.
    table = read_table(write(tmp_path / "data.csv", "a,b,\n1,2,\n"))
    assert table.columns == ["a", "b"]


@pytest.mark.parametrize("quoted", [False, True])
def test_ten_megabyte_cell_is_a_clean_error(tmp_path, quoted):
    cell = "x" * 10_000_000
    cell = f'"{cell}"' if quoted else cell
    message = bad_input(write(tmp_path / "big.csv", f"id,text\n1,ok\n2,{cell}\n"))
    assert "row 1" in message
    assert "'text'" in message
    assert f"{MAX_CELL_CHARS:,}" in message


# --- reading each format ------------------------------------------------------------------


def test_csv(tmp_path):
    path = write(
        tmp_path / "data.csv",
        'question,answer,score\n2+2?,4,3\nNA,,1.5\n"capital of France?",Paris,\n',
    )
    assert read_table(path) == Table(["question", "answer", "score"], EXPECTED)


def test_csv_keeps_text_as_written_and_accepts_bom_and_crlf(tmp_path):
    content = '\ufeffa,b\r\n007,3.0\r\n"multi\nline",null\r\n'
    table = read_table(write(tmp_path / "DATA.CSV", content))
    assert table.columns == ["a", "b"]
    assert table.rows == [{"a": "007", "b": "3.0"}, {"a": "multi\nline", "b": "null"}]


def test_tsv(tmp_path):
    path = write(
        tmp_path / "data.tsv",
        "question\tanswer\tscore\n2+2?\t4\t3\nNA\t\t1.5\ncapital of France?\tParis\t\n",
    )
    assert read_table(path) == Table(["question", "answer", "score"], EXPECTED)


@pytest.mark.parametrize("ext", [".jsonl", ".ndjson"])
def test_json_lines(tmp_path, ext):
    assert read_table(write_jsonl(tmp_path / f"data{ext}", ROWS)) == Table(
        ["question", "answer", "score"], EXPECTED
    )


def test_json_lines_values_are_canonical(tmp_path):
    rows = [
        {"a": 3.0, "b": {"k": [1, "x"]}, "c": True},
        {"a": float("nan"), "b": "", "d": "late column"},
    ]
    table = read_table(write_jsonl(tmp_path / "data.jsonl", rows))
    assert table.columns == ["a", "b", "c", "d"]
    assert table.rows == [
        {"a": "3", "b": '{"k":[1,"x"]}', "c": "true", "d": None},
        {"a": None, "b": None, "c": None, "d": "late column"},
    ]


def test_xlsx(tmp_path):
    pd.DataFrame(ROWS).to_excel(tmp_path / "data.xlsx", index=False)
    assert read_table(tmp_path / "data.xlsx") == Table(["question", "answer", "score"], EXPECTED)


def test_parquet(tmp_path):
    pd.DataFrame(ROWS).to_parquet(tmp_path / "data.parquet")
    assert read_table(tmp_path / "data.parquet") == Table(["question", "answer", "score"], EXPECTED)


def test_parquet_nested_values_and_stored_index(tmp_path):
    frame = pd.DataFrame({"tags": [["a", "b"], None], "n": [1, 2]}, index=["r1", "r2"])
    frame.to_parquet(tmp_path / "data.parquet")
    table = read_table(tmp_path / "data.parquet")
    assert table.columns == ["tags", "n"]  # the pandas index column is not data
    assert table.rows == [{"tags": '["a","b"]', "n": "1"}, {"tags": None, "n": "2"}]


def test_module_does_not_import_pandas():
    code = "import sys, mlops_desk.core.dataset_io; print('pandas' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# --- column mapping -----------------------------------------------------------------------

TABLE = Table(["id", "text", "label"], [{"id": "1", "text": "a", "label": "x"}])


def test_select_columns_defaults_to_everything_but_expected():
    assert select_columns(TABLE, None, "label") == (["id", "text"], "label")
    assert select_columns(TABLE, [], None) == (["id", "text", "label"], None)
    assert select_columns(TABLE, ["text"], "label") == (["text"], "label")


@pytest.mark.parametrize(
    ("inputs", "expected", "needle"),
    [
        (["txt"], "label", "'txt'"),
        (["text"], "lbl", "'lbl'"),
        (["text", "text"], None, "more than once"),
        (["text", "label"], "label", "both"),
    ],
)
def test_select_columns_rejects_bad_mappings(inputs, expected, needle):
    with pytest.raises(BadInput, match=needle) as caught:
        select_columns(TABLE, inputs, expected)
    if "available" in str(caught.value):
        assert "id, text, label" in str(caught.value)


# --- content hash -------------------------------------------------------------------------


def test_hash_is_independent_of_format_and_key_order(tmp_path):
    csv = write(
        tmp_path / "d.csv",
        'question,answer,score\n2+2?,4,3\nNA,,1.5\n"capital of France?",Paris,\n',
    )
    pd.DataFrame(ROWS).to_excel(tmp_path / "d.xlsx", index=False)
    pd.DataFrame(ROWS).to_parquet(tmp_path / "d.parquet")
    reordered = [dict(reversed(row.items())) for row in ROWS]
    paths = [csv, write_jsonl(tmp_path / "d.jsonl", reordered), tmp_path / "d.xlsx"]
    hashes = {
        content_sha256(read_table(p), ["question"], "answer")
        for p in [*paths, tmp_path / "d.parquet"]
    }
    assert len(hashes) == 1


def test_hash_is_sha256_of_the_canonical_json():
    rows = [{"text": "é", "label": None, "other": "ignored"}, {"label": "b", "text": "t"}]
    table = Table(["text", "label", "other"], rows)
    canonical = json.dumps(
        [["text"], "label", [["é", None], ["t", "b"]]], ensure_ascii=False, separators=(",", ":")
    )
    assert (
        content_sha256(table, ["text"], "label") == hashlib.sha256(canonical.encode()).hexdigest()
    )


def test_hash_depends_on_the_mapping_and_the_content():
    table = Table(["a", "b"], [{"a": "1", "b": "2"}])
    changed = Table(["a", "b"], [{"a": "1", "b": "3"}])
    hashes = {
        content_sha256(table, ["a"], "b"),
        content_sha256(table, ["a", "b"], None),
        content_sha256(table, ["b", "a"], None),
        content_sha256(changed, ["a"], "b"),
    }
    assert len(hashes) == 4


# --- validation report --------------------------------------------------------------------


def hand_made_table() -> Table:
    rows = [
        {"q": "hello", "ctx": "c1", "label": "pos", "note": None},  # 0
        {"q": "hello", "ctx": "c1", "label": "pos", "note": "dup of 0"},  # 1
        {"q": None, "ctx": "  ", "label": "neg", "note": None},  # 2 all inputs empty
        {"q": "x" * (LONG_INPUT_CHARS + 1), "ctx": None, "label": "pos", "note": None},  # 3
        {"q": "caf\ufffd", "ctx": "bell\x07", "label": None, "note": None},  # 4 garbled
        {"q": "tab\tok\r\n", "ctx": "c6", "label": "neg", "note": None},  # 5
        {"q": "hello", "ctx": "c1", "label": "pos", "note": None},  # 6 dup of 0
    ]
    return Table(["q", "ctx", "label", "note"], rows)


def test_report_counts_are_exact():
    report = validate(hand_made_table(), ["q", "ctx"], "label")
    assert json.loads(json.dumps(report)) == report  # JSON-serialisable as is
    assert report["n_rows"] == 7
    assert report["n_columns"] == 4
    assert report["input_cols"] == ["q", "ctx"]
    assert report["expected_col"] == "label"
    assert report["missing"] == {"q": 1, "ctx": 1, "label": 1, "note": 6}
    assert report["empty_inputs"] == {"count": 1, "rows": [2]}
    assert report["duplicates"] == {"count": 2, "rows": [1, 6]}
    assert report["labels"] == {
        "kind": "classes",
        "n_distinct": 2,
        "missing": 1,
        "counts": {"pos": 4, "neg": 2},
        "smallest_share": 0.3333,
    }
    assert report["long_inputs"] == {"count": 1, "rows": [3]}
    assert report["undecodable"] == {
        "count": 2,
        "cells": [{"row": 4, "column": "q"}, {"row": 4, "column": "ctx"}],
    }
    assert report["errors"] == []
    assert report["ok"] is True
    assert len(report["warnings"]) == 7  # 2 missing inputs, 1 expected, empty, dup, long, bad


def test_rare_class_and_single_class_warnings():
    rare = Table(["t", "y"], [{"t": str(i), "y": "b" if i == 0 else "a"} for i in range(40)])
    warnings = validate(rare, ["t"], "y")["warnings"]
    assert warnings == ["class 'b' has only 1 row (2.5%), under 5%"]
    single = Table(["t", "y"], [{"t": str(i), "y": "a"} for i in range(3)])
    assert validate(single, ["t"], "y")["warnings"] == ["only one class in 'y' ('a')"]


def test_free_text_expected_values_get_no_class_balance():
    table = Table(["t", "y"], [{"t": str(i), "y": f"answer {i}"} for i in range(30)])
    report = validate(table, ["t"], "y")
    assert report["labels"]["kind"] == "free_text"
    assert report["labels"]["counts"] == {}
    assert report["warnings"] == []


def test_every_input_empty_is_not_ok():
    table = Table(["t", "y"], [{"t": None, "y": "a"}, {"t": " ", "y": "b"}])
    report = validate(table, ["t"], None)
    assert report["ok"] is False
    assert report["errors"] == ["every row has empty inputs; check the input column mapping"]


def test_no_rows_or_no_expected_values_is_not_ok():
    empty = validate(Table(["t", "y"], []), ["t"], "y")
    assert (empty["ok"], empty["errors"]) == (False, ["the dataset has no rows"])
    unlabelled = validate(Table(["t", "y"], [{"t": "a", "y": None}]), ["t"], "y")
    assert unlabelled["errors"] == ["the expected column 'y' is empty in every row"]
    assert "status: NOT USABLE" in format_report(unlabelled)


def test_format_report():
    text = format_report(validate(hand_made_table(), ["q", "ctx"], "label"))
    lines = text.splitlines()
    assert lines[:4] == [
        "7 rows, 4 columns",
        "inputs: q, ctx",
        "expected: label",
        "missing values: q 1, ctx 1, label 1, note 6",
    ]
    assert lines[4:8] == [
        "labels (2 classes):",
        "  label    rows   share",
        "  pos         4   66.7%",
        "  neg         2   33.3%",
    ]
    assert sum(line.startswith("warning: ") for line in lines) == 7
    assert lines[-1] == "status: ok"
