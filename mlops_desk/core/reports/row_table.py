"""Per-row results of a run or a comparison, as a table for CSV and XLSX.

Columns keep facts apart (no cell mixes a verdict with an output): the dataset's input
columns (``input.NAME``), expected, prediction, correct, score, latency, tokens, cost,
cached, attempts, error class and message, and the raw output last. A comparison pairs
rows by index with ``a.`` and ``b.`` columns and a ``change`` column.

Spreadsheets run text that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return
as a formula; such text gets a leading apostrophe (OWASP's advice). Numbers stay numbers:
numeric columns are numeric, and text that is just a number (``-5``, ``+1.5e3``) is left
as it is because a spreadsheet reads it as that number, not a formula.
"""

from __future__ import annotations

import re
from typing import Any

from mlops_desk.core import runs
from mlops_desk.core.datasets import get_dataset_by_id, iter_rows
from mlops_desk.core.reports.common import scrub_text
from mlops_desk.core.reports.compare_report import load_pair
from mlops_desk.core.store import Store

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
RESULT_FIELDS = ("expected", "prediction", "correct", "score", "latency_ms", "prompt_tokens",
                 "completion_tokens", "cost", "cached", "attempts", "error_class",
                 "error_message", "output")
PAIRED_FIELDS = ("prediction", "correct", "score", "latency_ms", "prompt_tokens",
                 "completion_tokens", "cost", "error_class", "output")


def neutralise(value: Any) -> Any:
    """A cell that no spreadsheet runs as a formula; numbers and None pass unchanged."""
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def run_rows(store: Store, run_id: int) -> tuple[list[str], list[list[Any]]]:
    """(columns, rows) for every row result of a run, with its dataset inputs."""
    run = runs.get_run(store, run_id)
    dataset = get_dataset_by_id(store, run.dataset_id)
    inputs = dict(iter_rows(store, dataset.id))
    columns = ["row", *(f"input.{c}" for c in dataset.input_cols), *RESULT_FIELDS]
    rows = []
    for result in runs.fetch_results(store, run_id):
        values = inputs.get(result["row_idx"], {})
        rows.append([result["row_idx"], *(values.get(c) for c in dataset.input_cols),
                     *(_field(result, f) for f in RESULT_FIELDS)])
    return columns, finish(rows)


def compare_rows(store: Store, id_a: int, id_b: int) -> tuple[list[str], list[list[Any]]]:
    """(columns, rows) pairing every row index either run has, A's fields then B's."""
    a, _ = load_pair(store, id_a, id_b)
    dataset = get_dataset_by_id(store, a.dataset_id)
    inputs = dict(iter_rows(store, dataset.id))
    by_a = {r["row_idx"]: r for r in runs.fetch_results(store, id_a)}
    by_b = {r["row_idx"]: r for r in runs.fetch_results(store, id_b)}
    columns = ["row", *(f"input.{c}" for c in dataset.input_cols), "expected", "change",
               *(f"a.{f}" for f in PAIRED_FIELDS), *(f"b.{f}" for f in PAIRED_FIELDS)]
    rows = []
    for idx in sorted(by_a.keys() | by_b.keys()):
        ra, rb = by_a.get(idx, {}), by_b.get(idx, {})
        values = inputs.get(idx, {})
        rows.append([idx, *(values.get(c) for c in dataset.input_cols),
                     ra.get("expected", rb.get("expected")), _change(ra, rb),
                     *(_field(ra, f) for f in PAIRED_FIELDS),
                     *(_field(rb, f) for f in PAIRED_FIELDS)])
    return columns, finish(rows)


def finish(rows: list[list[Any]]) -> list[list[Any]]:
    """Cells without secrets and without formulas.

    Scrubbing is checked once over all text (the patterns never cross a newline), and cell
    by cell only when something was found: 150,000 separate scrubs cost seconds.
    """
    joined = "\n".join(v for row in rows for v in row if isinstance(v, str))
    if scrub_text(joined) != joined:
        rows = [[scrub_text(v) if isinstance(v, str) else v for v in row] for row in rows]
    return [[neutralise(v) for v in row] for row in rows]


def _field(result: dict[str, Any], name: str) -> Any:
    value = result.get(name)
    if name in ("correct", "cached") and value is not None:
        return bool(value)
    return value


def _change(a: dict[str, Any], b: dict[str, Any]) -> str:
    """How the row's verdict moved from A to B (as the comparison counts it)."""
    from mlops_desk.core.metrics import is_correct, is_scored

    if not a or not b:
        return "only in A" if a else "only in B"
    if not (is_scored(a) and is_scored(b)):
        return "not scored"
    right_a, right_b = is_correct(a), is_correct(b)
    if right_a == right_b:
        return "both right" if right_a else "both wrong"
    return "wrong to right" if right_b else "right to wrong"
