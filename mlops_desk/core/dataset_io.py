"""Read dataset files into a plain table of strings, check them, and fingerprint their content.

Pure functions: no SQLite, no Qt. The registry calls ``read_table`` → ``select_columns`` →
``validate`` / ``content_sha256`` to import a dataset as an immutable snapshot.

pandas and pyarrow are imported inside the readers: the GUI imports this module at start-up
and pandas alone costs ~0.3 s.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import io
import json
import math
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from mlops_desk.core.errors import BadInput

SUPPORTED = (".csv", ".tsv", ".jsonl", ".ndjson", ".xlsx", ".parquet")
MAX_CELL_CHARS = 1_000_000  # a larger cell is a bad file (error), e.g. a 10 MB cell
LONG_INPUT_CHARS = 8_000  # inputs longer than this are flagged in the report (warning)

MIN_CLASS_SHARE = 0.05  # a smaller class is too rare to measure reliably
MAX_CLASSES = 50  # more distinct expected values than this is free text, not labels
FIRST_FEW = 10  # how many example row indexes a report check keeps

_FORMAT_NAMES = {
    ".csv": "CSV",
    ".tsv": "TSV",
    ".jsonl": "JSON Lines",
    ".ndjson": "JSON Lines",
    ".xlsx": "XLSX",
    ".parquet": "Parquet",
}
# Signatures of binary formats people rename by mistake (an .xlsx saved as "data.csv").
_MAGIC = {b"PK\x03\x04": "a ZIP/XLSX file", b"PAR1": "a Parquet file", b"%PDF": "a PDF"}
# Text that a bad decode leaves behind: U+FFFD, or control characters other than \t \n \r
# (C1 controls 0x80-0x9f are what cp1252 text looks like when read as Latin-1).
_GARBLED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
_PANDAS_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_PANDAS_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")
_JSON_TYPES = {
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
}


# Byte order marks prove a text file's encoding; UTF-32 comes first because its LE mark
# starts with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# What a text file that is not UTF-8 is offered as: cp1252 is what Excel writes on Western
# Windows; latin-1 maps every byte to a character, so it always reads (and is a last resort).
SUGGESTED_ENCODINGS = ("cp1252", "latin-1")


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[dict[str, str | None]]  # str (numbers canonical: 3 not 3.0) or None if missing
    # How a text file was decoded (None for XLSX and Parquet). Not part of equality: the
    # same cells read from UTF-8 and from cp1252 are the same table.
    encoding: str | None = field(default=None, compare=False)


class UnknownEncoding(BadInput):
    """A text file that is neither UTF-8 nor marked by a BOM: its encoding must be chosen.

    ``suggestion`` is an encoding the bytes decode with (cp1252 when they fit, else latin-1),
    so each face can offer it in its own way.
    """

    def __init__(self, message: str, suggestion: str):
        super().__init__(message)
        self.suggestion = suggestion


# --- reading ------------------------------------------------------------------------------


def read_table(path: str | Path, encoding: str | None = None) -> Table:
    """Read a dataset file; every value becomes a str or None. Bad files raise ``BadInput``.

    Text files (CSV, TSV, JSON Lines) with a BOM are read in the BOM's encoding; otherwise in
    ``encoding`` if given, else as UTF-8, and a file that is not UTF-8 raises
    ``UnknownEncoding``. XLSX and Parquet carry their own encoding; ``encoding`` is ignored.
    """
    path = Path(path)
    if encoding is not None:
        encoding = check_encoding(encoding)
    name = path.name or str(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise BadInput(f"{name}: file not found ({path})")
    if not path.is_file():
        raise BadInput(f"{name}: not a file ({path})")
    if suffix not in SUPPORTED:
        shown = suffix or "no extension"
        raise BadInput(
            f"{name}: unsupported file type ({shown}); use one of {', '.join(SUPPORTED)}"
        )
    try:
        if path.stat().st_size == 0:
            raise BadInput(f"{name}: the file is empty (0 bytes)")
        return _read_by_suffix(path, name, suffix, encoding)
    except OSError as err:  # permission denied, deleted meanwhile, I/O error
        raise BadInput(f"{name}: cannot be read ({err.strerror or err})") from None


def check_encoding(encoding: str) -> str:
    """A codec name Python knows, as the user spelled it (lower case); else ``BadInput``."""
    spelled = encoding.strip().lower()
    try:
        "".encode(spelled)  # LookupError for unknown codecs and for bytes ones like base64
    except LookupError:
        raise BadInput(f"unknown text encoding {encoding!r}: try utf-8, cp1252 or latin-1"
                       ) from None
    return spelled


def _read_by_suffix(path: Path, name: str, suffix: str, encoding: str | None) -> Table:
    if suffix in (".csv", ".tsv"):
        text, used = _read_text(path, name, encoding)
        records = _read_delimited(text, name, sep="\t" if suffix == ".tsv" else ",")
        return _build_table(name, records, encoding=used)
    if suffix in (".jsonl", ".ndjson"):
        return _read_json_lines(path, name, encoding)
    if suffix == ".xlsx":
        return _build_table(name, _read_xlsx(path, name))
    return _read_parquet(path, name)


def _read_text(path: Path, name: str, encoding: str | None) -> tuple[str, str]:
    """(text, the encoding used as the report names it); a bad file is a clear ``BadInput``."""
    data = path.read_bytes()
    fmt = _FORMAT_NAMES[path.suffix.lower()]
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise BadInput(f"{name}: this is {what}, not {fmt} text; check the file extension")
    bom = next(((mark, codec) for mark, codec in _BOMS if data.startswith(mark)), None)
    if bom is not None:
        mark, codec = bom
        try:
            text = data[len(mark):].decode(codec)
        except UnicodeDecodeError as err:
            raise BadInput(f"{name}: starts with a {codec} byte order mark but is not valid "
                           f"{codec} (at offset {len(mark) + err.start}); the file is damaged"
                           ) from None
        used = f"{codec} (BOM)"
    elif encoding is not None:
        text, used = _decode(data, encoding, name), encoding
    else:
        if b"\x00" in data:  # UTF-8 text never holds NUL bytes; binary files do
            raise BadInput(f"{name}: contains NUL bytes, so it is binary, not {fmt} text")
        text, used = _decode(data, "utf-8", name), "utf-8"
    if "\x00" in text:
        raise BadInput(f"{name}: contains NUL characters: it is binary, or not {used} text")
    return text, used


def _decode(data: bytes, encoding: str, name: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        suggestion = suggest_encoding(data)
        what = "UTF-8" if encoding == "utf-8" else encoding
        raise UnknownEncoding(
            f"{name}: the file is not {what} (byte 0x{data[err.start]:02X} at offset "
            f"{err.start}); choose its encoding ({suggestion} fits)", suggestion) from None


def suggest_encoding(data: bytes) -> str:
    """The first of ``SUGGESTED_ENCODINGS`` that decodes ``data`` (latin-1 always does)."""
    for encoding in SUGGESTED_ENCODINGS:
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return SUGGESTED_ENCODINGS[-1]


def _read_delimited(text: str, name: str, sep: str) -> list[list[str | None]]:
    import pandas as pd

    try:
        # header=None: we take the header row ourselves, so duplicate names are not renamed
        # to "a.1" and a short header does not silently become the index.
        # The C engine has no field size limit (the csv module's is 128 KiB).
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            dtype=str,
            keep_default_na=False,  # the text "NA" or "null" is data, not missing ...
            na_values=[""],  # ... only an empty cell is
            engine="c",
        )
    except pd.errors.EmptyDataError:
        raise BadInput(f"{name}: the file has no rows") from None
    except pd.errors.ParserError as err:
        raise BadInput(f"{name}: {_explain_parser_error(err, sep)}") from None
    return _frame_records(frame)


def _explain_parser_error(err: Exception, sep: str) -> str:
    message = str(err).strip().splitlines()[0] if str(err).strip() else "unreadable"
    ragged = _PANDAS_RAGGED.search(message)
    if ragged:
        want, line, saw = ragged.groups()
        what = "tabs" if sep == "\t" else "commas"
        # pandas counts a quoted multi-line cell as one line, blank lines as lines.
        return (
            f"line {line} has {saw} fields but the header has {want}; "
            f"quote cells that contain {what}"
        )
    open_quote = _PANDAS_OPEN_QUOTE.search(message)
    if open_quote:  # pandas counts rows from 0 here
        return f"the quote opened on line {int(open_quote.group(1)) + 1} is never closed"
    return "cannot be parsed: " + message.removeprefix("Error tokenizing data. C error: ")


def _frame_records(frame: Any) -> list[list[str | None]]:
    """DataFrame (header row included) -> rows of canonical cells."""
    columns = [frame[col].tolist() for col in frame.columns]
    return [[_cell(value) for value in row] for row in zip(*columns, strict=True)]


def _read_xlsx(path: Path, name: str) -> list[list[str | None]]:
    import pandas as pd

    try:
        # openpyxl warns about harmless things (no default style, data validation).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # dtype=object keeps typed cells (int, float, datetime) for _cell to render;
            # dtype=str would turn 3 into "3.0". na_filter=False: the text "NA" stays.
            frame = pd.read_excel(path, header=None, dtype=object, na_filter=False)
    except Exception as err:  # zipfile, openpyxl and pandas all raise their own types
        raise BadInput(f"{name}: not a readable XLSX workbook ({_one_line(err)})") from None
    return _frame_records(frame)


def _read_parquet(path: Path, name: str) -> Table:
    # pyarrow directly rather than pd.read_parquet: exact column names (duplicates included)
    # and plain Python values (lists, dicts, datetimes) instead of numpy objects.
    try:
        import pyarrow.parquet as pq
    except ImportError:  # the installers leave pyarrow out (size): say so instead of crashing
        raise BadInput(f"{name}: Parquet files cannot be read by this build of MLOps Desk "
                       "(no pyarrow); save the table as CSV or XLSX instead") from None
    try:
        with pq.ParquetFile(path) as parquet:
            arrow = parquet.read()
    except Exception as err:  # ArrowInvalid, OSError, ...
        raise BadInput(f"{name}: not a readable Parquet file ({_one_line(err)})") from None
    meta = arrow.schema.pandas_metadata or {}
    # A DataFrame written with a non-default index stores it as "__index_level_0__".
    index_cols = {c for c in meta.get("index_columns", []) if isinstance(c, str)}
    keep = [i for i, col in enumerate(arrow.column_names) if col not in index_cols]
    header: list[str | None] = [arrow.column_names[i] for i in keep]
    columns = [arrow.column(i).to_pylist() for i in keep]
    body = [[_cell(value) for value in row] for row in zip(*columns, strict=True)]
    return _build_table(name, [header, *body])


def _read_json_lines(path: Path, name: str, encoding: str | None) -> Table:
    text, used = _read_text(path, name, encoding)
    columns: dict[str, None] = {}  # insertion-ordered set: first-seen column order
    objects: list[dict[str, Any]] = []
    # Split on "\n" only: str.splitlines() would also split on U+2028 inside strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        obj = _parse_json_line(line, number, name)
        columns.update(dict.fromkeys(obj))
        objects.append(obj)
    header = list(columns)
    body = [[_cell(obj.get(col)) for col in header] for obj in objects]
    return _build_table(name, [header, *body], jsonl=True, encoding=used)


class _KeyedTwice(dict):
    """A JSON object that had a key more than once (json.loads would keep the last)."""


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    return obj if len(obj) == len(pairs) else _KeyedTwice(obj)


def _parse_json_line(line: str, number: int, name: str) -> dict[str, Any]:
    try:
        obj = json.loads(line, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as err:
        raise BadInput(
            f"{name}: line {number} is not valid JSON ({err.msg} at column {err.colno})"
        ) from None
    except (ValueError, RecursionError) as err:  # e.g. a 5000-digit number, deep nesting
        raise BadInput(f"{name}: line {number} cannot be read ({_one_line(err)})") from None
    if not isinstance(obj, dict):
        what = "null" if obj is None else _JSON_TYPES.get(type(obj), "a " + type(obj).__name__)
        raise BadInput(
            f"{name}: line {number} is {what}; each line must be a JSON object "
            'such as {"input": "...", "expected": "..."}'
        )
    if isinstance(obj, _KeyedTwice):
        raise BadInput(f"{name}: line {number} has a duplicate column name (a repeated key)")
    return obj


def _cell(value: Any) -> str | None:
    """One value as canonical text, so the same data reads the same from any format."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None  # an empty string is a missing cell, as in CSV
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, dt.datetime):
        midnight = value.time() == dt.time(0) and value.tzinfo is None
        return value.date().isoformat() if midnight else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")  # U+FFFD is flagged by validate()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)


def _float_text(value: float) -> str | None:
    if math.isnan(value):
        return None
    # Integral floats print as ints (3.0 -> "3") while that is exact; repr() otherwise.
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _one_line(err: Exception) -> str:
    text = " ".join(str(err).split())
    return text[:200] or type(err).__name__


def _build_table(name: str, records: list[list[str | None]], jsonl: bool = False,
                 encoding: str | None = None) -> Table:
    """Header + data records -> Table, rejecting unusable headers and oversized cells."""
    # Spreadsheets leave fully empty rows around (before the header, after the data).
    records = [rec for rec in records if any(v is not None for v in rec)]
    if not records:
        raise BadInput(f"{name}: the file has no rows")
    header, body = records[0], records[1:]
    keep = _check_header(name, header, body, jsonl)
    columns = [str(header[i]) for i in keep]
    rows = [[rec[i] for i in keep] for rec in body]
    rows = [row for row in rows if any(v is not None for v in row)]
    if not rows:
        raise BadInput(f"{name}: the file has no rows, only a header")
    _check_cell_sizes(name, columns, rows)
    return Table(columns=columns, rows=[dict(zip(columns, row, strict=True)) for row in rows],
                 encoding=encoding)


def _check_header(
    name: str, header: list[str | None], body: list[list[str | None]], jsonl: bool
) -> list[int]:
    """Indexes of the columns to keep; an unnamed column with no data is dropped."""
    keep: list[int] = []
    seen: set[str] = set()
    for i, col in enumerate(header):
        if col is None or not col.strip():
            if all(rec[i] is None for rec in body):
                continue  # e.g. a trailing comma on every line of an Excel export
            where = "a key" if jsonl else f"column {i + 1}"
            raise BadInput(f"{name}: {where} has an empty name; give every column a header")
        if col in seen:
            raise BadInput(f"{name}: duplicate column name {col!r}; column names must be unique")
        seen.add(col)
        keep.append(i)
    return keep


def _check_cell_sizes(name: str, columns: list[str], rows: list[list[str | None]]) -> None:
    for r, row in enumerate(rows):
        for col, value in zip(columns, row, strict=True):
            if value is not None and len(value) > MAX_CELL_CHARS:
                raise BadInput(
                    f"{name}: the cell at row {r} (0-based), column {col!r} has "
                    f"{len(value):,} characters; the limit is {MAX_CELL_CHARS:,}"
                )


# --- column mapping -----------------------------------------------------------------------


def select_columns(
    table: Table, input_cols: list[str] | None, expected_col: str | None
) -> tuple[list[str], str | None]:
    """Check a column mapping; no input columns means every column but the expected one."""
    available = _listing(table.columns)
    for col in [*(input_cols or []), *([expected_col] if expected_col else [])]:
        if col not in table.columns:
            raise BadInput(f"no column named {col!r}; available columns: {available}")
    if input_cols:
        repeated = [col for col, n in Counter(input_cols).items() if n > 1]
        if repeated:
            raise BadInput(f"input column {repeated[0]!r} is listed more than once")
        if expected_col in input_cols:
            raise BadInput(f"column {expected_col!r} cannot be both an input and the expected")
        return list(input_cols), expected_col or None
    inputs = [col for col in table.columns if col != expected_col]
    if not inputs:
        raise BadInput(f"no input columns left besides the expected column {expected_col!r}")
    return inputs, expected_col or None


def _listing(names: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names) - limit} more)" if len(names) > limit else "")


# --- validation report --------------------------------------------------------------------


def validate(table: Table, input_cols: list[str], expected_col: str | None) -> dict:
    """Check a dataset for problems; returns a JSON-serialisable report (row indexes 0-based)."""
    input_cols, expected_col = select_columns(table, input_cols, expected_col)
    used = [*input_cols, *([expected_col] if expected_col else [])]
    rows = table.rows
    report: dict[str, Any] = {
        "n_rows": len(rows),
        "n_columns": len(table.columns),
        "encoding": table.encoding,
        "input_cols": input_cols,
        "expected_col": expected_col,
        "missing": {col: sum(row.get(col) is None for row in rows) for col in table.columns},
        "empty_inputs": _sample(i for i, row in enumerate(rows) if _inputs_empty(row, input_cols)),
        "duplicates": _sample(_duplicate_rows(rows, used)),
        "labels": _labels(rows, expected_col) if expected_col else None,
        "long_inputs": _sample(
            i for i, row in enumerate(rows) if _input_length(row, input_cols) > LONG_INPUT_CHARS
        ),
        "undecodable": _garbled_cells(rows, used),
    }
    report["errors"] = _errors(report)
    report["warnings"] = _warnings(report)
    report["ok"] = not report["errors"]
    return report


def _sample(indexes: Iterable[int]) -> dict[str, Any]:
    """A count plus the first few row indexes, so the report stays small for big datasets."""
    count, first = 0, []
    for index in indexes:
        count += 1
        if len(first) < FIRST_FEW:
            first.append(index)
    return {"count": count, "rows": first}


def _inputs_empty(row: dict[str, str | None], input_cols: list[str]) -> bool:
    return all(not (row.get(col) or "").strip() for col in input_cols)


def _input_length(row: dict[str, str | None], input_cols: list[str]) -> int:
    """The length of what a model would be sent: all input cells of the row together."""
    return sum(len(row.get(col) or "") for col in input_cols)


def _duplicate_rows(rows: list[dict[str, str | None]], used: list[str]) -> Iterable[int]:
    """Indexes of rows equal (on the used columns) to an earlier row."""
    seen: set[tuple[str | None, ...]] = set()
    for i, row in enumerate(rows):
        key = tuple(row.get(col) for col in used)
        if key in seen:
            yield i
        seen.add(key)


def _labels(rows: list[dict[str, str | None]], expected_col: str) -> dict[str, Any]:
    values = [row.get(expected_col) for row in rows]
    counts = Counter(v for v in values if v is not None)
    present = sum(counts.values())
    # Many distinct values (or hardly any repeats) means free-text answers, where class
    # balance is meaningless; a single value is still a (degenerate) label set.
    is_classes = len(counts) == 1 or (0 < len(counts) <= MAX_CLASSES and 2 * len(counts) <= present)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if is_classes else []
    return {
        "kind": "classes" if is_classes else "free_text",
        "n_distinct": len(counts),
        "missing": len(values) - present,
        "counts": dict(ordered),  # largest class first; empty for free text
        "smallest_share": round(ordered[-1][1] / present, 4) if ordered else None,
    }


def _garbled_cells(rows: list[dict[str, str | None]], used: list[str]) -> dict[str, Any]:
    count, first = 0, []
    for i, row in enumerate(rows):
        for col in used:
            value = row.get(col)
            if value and _GARBLED.search(value):
                count += 1
                if len(first) < FIRST_FEW:
                    first.append({"row": i, "column": col})
    return {"count": count, "cells": first}


def _errors(report: dict[str, Any]) -> list[str]:
    """Problems that make the dataset unusable (``ok`` is False)."""
    errors = []
    n_rows = report["n_rows"]
    if n_rows == 0:
        errors.append("the dataset has no rows")
    elif report["empty_inputs"]["count"] == n_rows:
        errors.append("every row has empty inputs; check the input column mapping")
    expected = report["expected_col"]
    if expected and n_rows and report["missing"][expected] == n_rows:
        errors.append(f"the expected column {expected!r} is empty in every row")
    return errors


def _warnings(report: dict[str, Any]) -> list[str]:
    """One line per problem worth a look that does not stop the dataset being used."""
    found = []
    # With one input column a missing cell is an empty input, reported just below.
    for col in report["input_cols"] if len(report["input_cols"]) > 1 else []:
        if 0 < report["missing"][col] < report["n_rows"]:
            found.append(f"{_rows(report['missing'][col])} missing input column {col!r}")
    expected = report["expected_col"]
    if expected and 0 < report["missing"][expected] < report["n_rows"]:
        found.append(f"{_rows(report['missing'][expected])} missing the expected {expected!r}")
    if 0 < report["empty_inputs"]["count"] < report["n_rows"]:
        found.append(_with_examples("with every input empty", report["empty_inputs"]))
    if report["duplicates"]["count"]:
        found.append(_with_examples("duplicating an earlier row", report["duplicates"]))
    if report["labels"]:
        found.extend(_label_warnings(report["labels"], expected))
    if report["long_inputs"]["count"]:
        what = f"with inputs over {LONG_INPUT_CHARS:,} characters"
        found.append(_with_examples(what, report["long_inputs"]))
    bad = report["undecodable"]
    if bad["count"]:
        first = bad["cells"][0]
        found.append(
            f"{bad['count']} cell(s) contain U+FFFD or control characters (a wrong encoding?), "
            f"e.g. row {first['row']} column {first['column']!r}"
        )
    return found


def _label_warnings(labels: dict[str, Any], expected: str | None) -> list[str]:
    if labels["kind"] != "classes":
        return []
    counts = labels["counts"]
    if len(counts) == 1:
        return [f"only one class in {expected!r} ({next(iter(counts))!r})"]
    if labels["smallest_share"] < MIN_CLASS_SHARE:
        label, n = list(counts.items())[-1]
        share = labels["smallest_share"]
        return [f"class {label!r} has only {_rows(n)} ({share:.1%}), under {MIN_CLASS_SHARE:.0%}"]
    return []


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _with_examples(what: str, sample: dict[str, Any]) -> str:
    shown = ", ".join(str(i) for i in sample["rows"][:5])
    more = ", …" if sample["count"] > 5 else ""
    label = "row" if len(sample["rows"]) == 1 else "rows"
    return f"{_rows(sample['count'])} {what} ({label} {shown}{more})"


# --- fingerprint --------------------------------------------------------------------------


def content_sha256(table: Table, input_cols: list[str], expected_col: str | None) -> str:
    """sha256 of the canonical JSON ``[input_cols, expected_col, [[cell, ...], ...]]``.

    Only the mapped columns count, in mapping order, so the hash ignores the file format,
    the order of keys in the row dicts and columns that are not used.
    """
    input_cols, expected_col = select_columns(table, input_cols, expected_col)
    used = [*input_cols, *([expected_col] if expected_col else [])]
    digest = hashlib.sha256()
    # Streamed piece by piece: the bytes equal json.dumps(...) of the whole list at once.
    digest.update(f"[{_canonical(input_cols)},{_canonical(expected_col)},[".encode())
    for i, row in enumerate(table.rows):
        cells = _canonical([row.get(col) for col in used])
        digest.update((("," if i else "") + cells).encode())
    digest.update(b"]]")
    return digest.hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- text report --------------------------------------------------------------------------


def format_report(report: dict) -> str:
    """The validation report as a few readable lines for the CLI."""
    lines = [
        f"{_rows(report['n_rows'])}, {report['n_columns']} columns",
        f"inputs: {', '.join(report['input_cols'])}",
        f"expected: {report['expected_col'] or '(none)'}",
    ]
    if report.get("encoding"):  # text formats only; reports before it was recorded lack it
        lines.append(f"encoding: {report['encoding']}")
    missing = {col: n for col, n in report["missing"].items() if n}
    if missing:
        lines.append("missing values: " + ", ".join(f"{c} {n}" for c, n in missing.items()))
    lines.extend(_label_lines(report["labels"]))
    lines.extend(f"error: {line}" for line in report.get("errors", []))
    lines.extend(f"warning: {line}" for line in report["warnings"])
    lines.append("status: ok" if report["ok"] else "status: NOT USABLE")
    return "\n".join(lines)


def _label_lines(labels: dict[str, Any] | None, limit: int = 20) -> list[str]:
    if not labels or not labels["n_distinct"]:
        return []
    if labels["kind"] != "classes":
        return [f"expected values: {labels['n_distinct']} distinct (free text, no class table)"]
    counts = labels["counts"]
    total = sum(counts.values())
    shown = [(_short(label), n) for label, n in list(counts.items())[:limit]]
    width = max(len("label"), *(len(label) for label, _ in shown))
    kind = "class" if len(counts) == 1 else "classes"
    lines = [f"labels ({len(counts)} {kind}):", f"  {'label':<{width}}  {'rows':>6}  {'share':>6}"]
    lines += [f"  {label:<{width}}  {n:>6}  {n / total:>6.1%}" for label, n in shown]
    if len(counts) > limit:
        lines.append(f"  … {len(counts) - limit} more")
    return lines


def _short(text: str, limit: int = 40) -> str:
    """A label fit for one table cell: whitespace collapsed, long ones cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
