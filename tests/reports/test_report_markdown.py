"""Markdown summaries: escaped content, a verdict line, and always under GitHub's limit."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_desk.core import registry
from mlops_desk.core.reports import export
from mlops_desk.core.reports.render_markdown import MAX_CHARS, escape, table
from mlops_desk.core.store import Store
from tests.support.run_factory import make_test_dataset, make_test_run

GITHUB_LIMIT = 65_000


def unescape(text: str) -> str:
    text = re.sub(r"\\(.)", r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@given(st.text(max_size=300))
def test_escaped_text_is_one_cell_that_reads_as_the_original(text: str) -> None:
    cell = escape(text, limit=10_000)
    assert "\n" not in cell and "\r" not in cell
    assert "<" not in cell and ">" not in cell
    assert re.search(r"(?<!\\)[|`\[\]*_]", cell) is None  # nothing unescaped that formats
    assert unescape(cell) == " ".join(text.split()) or (not text.split() and cell == "")


@given(st.lists(st.lists(st.text(max_size=30), min_size=3, max_size=3), max_size=40))
def test_tables_keep_their_columns_whatever_the_cells(rows: list[list[str]]) -> None:
    text = table(["A", "B", "C"], [[escape(c) for c in row] for row in rows])
    for line in text.splitlines():
        if line.startswith("|"):
            assert len(re.findall(r"(?<!\\)\|", line)) == 4, line


def test_a_huge_run_with_huge_answers_stays_under_the_limit(store: Store,
                                                            tmp_path: Path) -> None:
    labels = [f"label-{i}" for i in range(300)]
    registry.add_endpoint(store, "local", base_url="http://127.0.0.1:9/v1")
    registry.create_model(store, "wide", labels=labels)
    version, _ = registry.register_version(store, "wide", registry.make_config(
        endpoint="local", model_id="m", template="{text}"))
    rows = [{"text": "x|" * 1_000 + str(i), "expected": labels[i]} for i in range(300)]
    dataset = make_test_dataset(store, tmp_path, "wide-set", rows)
    results = [{"expected": r["expected"], "prediction": ("<b>|`" * 1_000) if i % 2 else
                r["expected"], "error_class": "timeout" if i % 7 == 0 else None}
               for i, r in enumerate(rows)]
    run_id = make_test_run(store, version, dataset, results)
    path = tmp_path / "run.md"
    export.export_report(store, "run", {"run_id": run_id}, path)
    text = path.read_text(encoding="utf-8")
    assert len(text) < min(GITHUB_LIMIT, MAX_CHARS + 1)
    assert text.startswith("## Run ") and "\n**Verdict:** run " in text
    assert "more row(s) not shown" in text and "<b>" not in text


@settings(max_examples=15, deadline=None)
@given(st.text(min_size=1, max_size=2_000))
def test_any_answer_renders_as_text_in_every_summary(text: str) -> None:
    from mlops_desk.core.reports.render_markdown import render_markdown

    report = {"kind": "compare", "title": text, "generated_at": "t", "generator": "g",
              "audit_head": {"event_id": 1, "hash": "h"},
              "run_a": {"id": 1, "version": text}, "run_b": {"id": 2, "version": "m:2"},
              "dataset": {"name": text}, "paired": {"n_paired": 1},
              "mcnemar": {"p_value": 1.0, "alpha": 0.05, "meaning": text},
              "deltas": [], "flipped": {"rows": [{"row_idx": 0, "change": "x", "input": text,
                                                   "expected": text, "prediction_a": text,
                                                   "prediction_b": text}],
                                         "n_to_right": 1, "n_to_wrong": 0}}
    out = render_markdown(report)
    assert "<" not in out.replace("&lt;", "") and len(out) < GITHUB_LIMIT
