"""CSV and XLSX per-row files: round trip through pandas, formulas neutralised, numbers kept."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_desk.core.reports import export
from mlops_desk.core.reports.row_table import neutralise
from tests.reports.world import FORMULA_ANSWER, FORMULA_INPUT, HTML_PAYLOAD, ROWS, Reported

FORMULA_CHARS = ("=", "+", "-", "@", "\t", "\r")


def read(path: Path, sheet: str = "rows") -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, na_values=[""])
    return pd.read_excel(path, sheet_name=sheet)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_run_rows_round_trip_with_formulas_neutralised(reported: Reported, tmp_path: Path,
                                                       fmt: str) -> None:
    path = tmp_path / f"run.{fmt}"
    export.export_report(reported.store, "run", {"run_id": reported.run_a}, path)
    frame = read(path)
    assert len(frame) == len(ROWS)
    assert list(frame.columns[:4]) == ["row", "input.text", "input.answer", "expected"]
    assert {"prediction", "correct", "score", "latency_ms", "prompt_tokens",
            "completion_tokens", "cost", "error_class", "output"} <= set(frame.columns)
    # Numbers stay numbers: numeric columns read back numeric, and an input that is just a
    # number is read as that number, not as a neutralised text.
    for column in ("row", "score", "latency_ms", "prompt_tokens", "cost"):
        assert pd.api.types.is_numeric_dtype(frame[column]), column
    assert frame.index[frame["correct"].astype(bool)].tolist() == [3, 4, 8, 9]
    assert str(frame.loc[4, "input.text"]) in ("-5", "-5.0")
    # Formula payloads are text that starts with an apostrophe, in every column they reach.
    assert frame.loc[2, "prediction"] == "'" + FORMULA_ANSWER
    assert frame.loc[2, "output"] == "'" + FORMULA_ANSWER
    assert frame.loc[3, "input.text"] == "'" + FORMULA_INPUT
    assert frame.loc[5, "prediction"] == "'@SUM(1+1)"
    assert frame.loc[1, "prediction"] == HTML_PAYLOAD  # text, not a formula: unchanged
    for column in frame.columns:
        for value in frame[column]:
            assert not (isinstance(value, str) and value.startswith(FORMULA_CHARS)
                        and value != "-5"), (column, value)


def test_xlsx_has_frozen_header_widths_and_a_summary_sheet(reported: Reported,
                                                           tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "compare.xlsx"
    done = export.export_report(reported.store, "compare",
                                {"run_ids": [reported.run_a, reported.run_b]}, path)
    book = load_workbook(path)
    assert book.sheetnames == ["rows", "summary"]
    rows = book["rows"]
    assert rows.freeze_panes == "A2"
    assert rows["A1"].font.bold
    widths = {rows.column_dimensions[c].width for c in ("B", "E", "F")}
    assert all(8 <= w <= 60 for w in widths) and len(widths) > 1
    assert not any(cell.data_type == "f" for row in rows.iter_rows() for cell in row)
    summary = dict(read(path, "summary").itertuples(index=False, name=None))
    head = reported.store.db.execute(
        "SELECT hash FROM audit WHERE id = ?", [done.event_id - 1]).fetchone()[0]
    assert summary["audit head hash"] == head  # the head just before this export
    assert summary["McNemar p-value"] == pytest.approx(0.03125)  # 6 fixed, 0 broken
    frame = read(path)
    assert frame["change"].value_counts().to_dict() == {"both right": 4, "wrong to right": 6}
    assert frame.loc[1, "a.prediction"] == HTML_PAYLOAD and frame.loc[1, "b.prediction"] == "bug"


@given(st.text(max_size=40))
def test_neutralised_cells_never_start_a_formula(text: str) -> None:
    cell = neutralise(text)
    assert cell in (text, "'" + text)
    if cell.startswith(FORMULA_CHARS):
        float(cell)  # only a plain number may (a spreadsheet reads it as that number)


@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.none(), st.booleans()))
def test_numbers_and_empty_cells_pass_unchanged(value) -> None:
    assert neutralise(value) is value
