"""The run commands: run, run resume/show/compare, runs list, and their CI gates."""

from __future__ import annotations

import json

import pytest

from mlops_desk.core import runs
from tests.runner.helpers import (
    LABELS,
    add_version,
    build_workspace,
    classification_rows,
    cycle_rows,
)
from tests.support.fixtures import fake_openai_fixture  # noqa: F401

EXPECTED = [LABELS[i % 3] for i in range(10)]
METRIC_KEYS = {"accuracy", "accuracy_ci_low", "accuracy_ci_high", "macro_f1", "error_rate",
               "latency_p50_ms", "latency_p95_ms", "rows_per_s", "total_cost", "n_rows",
               "n_errors", "n_cached"}


@pytest.fixture
def ws(store, tmp_path, fake_openai):
    # 7 of 10 right, as in the metrics test.
    return build_workspace(store, tmp_path, fake_openai.base_url,
                           rows=classification_rows(EXPECTED, {1: "bug", 5: "billing",
                                                               9: "other"}))


def run_json(cli, *args: str) -> dict:
    result = cli("run", "triage:1", "--dataset", "tickets", "--json", *args)
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_run_json_has_id_status_and_the_summary_metrics(cli, ws, fake_openai):
    out = run_json(cli, "--concurrency", "3")
    assert out["status"] == "completed" and isinstance(out["run_id"], int)
    assert set(out["metrics"]) >= METRIC_KEYS
    m = out["metrics"]
    assert m["accuracy"] == pytest.approx(0.7) and m["n_rows"] == 10
    assert m["n_errors"] == 0 and m["n_cached"] == 0
    assert m["total_cost"] == pytest.approx(0.08)
    assert fake_openai.request_count == 10
    assert runs.get_run(ws.store, out["run_id"]).settings["concurrency"] == 3


def test_text_output_shows_the_metrics_table(cli, ws):
    result = cli("run", "triage:1", "--dataset", "tickets")
    assert result.code == 0
    assert "completed" in result.out and "accuracy" in result.out and "LABEL" in result.out


def test_fail_under_and_fail_over_exit_1_with_one_line(cli, ws):
    result = cli("run", "triage:1", "--dataset", "tickets", "--json",
                 "--fail-under", "accuracy=0.99")
    assert result.code == 1 and len(result.err_lines) == 1
    assert "accuracy 0.7 is under 0.99" in result.err
    assert json.loads(result.out)["threshold_failures"]  # the JSON still reaches stdout

    result = cli("run", "triage:1", "--dataset", "tickets", "--fail-over",
                 "latency_p95_ms=0.001")
    assert result.code == 1 and len(result.err_lines) == 1
    assert "latency_p95_ms" in result.err and "over 0.001" in result.err

    # Thresholds that hold pass the gate.
    result = cli("run", "triage:1", "--dataset", "tickets", "--fail-under", "accuracy=0.5",
                 "--fail-over", "error_rate=0")
    assert result.code == 0, result.err


@pytest.mark.parametrize("spec", ["nonsense=1", "per_class=0.5", "labels=1", "accuracy",
                                  "accuracy=high"])
def test_bad_thresholds_exit_2_before_anything_runs(cli, ws, fake_openai, spec):
    result = cli("run", "triage:1", "--dataset", "tickets", "--fail-under", spec)
    assert result.code == 2 and len(result.err_lines) == 1
    assert fake_openai.request_count == 0 and runs.list_runs(ws.store) == []


def test_missing_threshold_metric_fails_the_gate(cli, store, tmp_path, fake_openai):
    rows = [{"text": f"row {i}", "answer": "x"} for i in range(3)]
    build_workspace(store, tmp_path, fake_openai.base_url, rows=rows, expected_col=None,
                    kind="generation", labels=(), parser="text")
    result = cli("run", "triage:1", "--dataset", "tickets", "--json",
                 "--fail-under", "accuracy=0.5")
    assert result.code == 1 and "accuracy is not available" in result.err
    assert json.loads(result.out)["metrics"]["accuracy"] is None


def test_runs_list_show_and_resume(cli, ws):
    first = run_json(cli)["run_id"]
    second = run_json(cli, "--limit", "3")["run_id"]
    listed = json.loads(cli.ok("runs", "list", "--json").out)
    assert [r["id"] for r in listed] == [second, first]
    for item in listed:
        assert {"id", "model", "version", "dataset", "status", "started_at"} <= set(item)
        assert (item["model"], item["version"], item["dataset"], item["status"]) == (
            "triage", 1, "tickets", "completed")
        assert item["started_at"]
    assert json.loads(cli.ok("runs", "list", "--model", "nobody", "--json").out) == []

    shown = json.loads(cli.ok("run", "show", str(first), "--json", "--rows", "wrong").out)
    assert shown["id"] == first and shown["metrics"]["accuracy"] == pytest.approx(0.7)
    assert [r["row_idx"] for r in shown["rows"]] == [1, 5, 9]
    assert "completed" in cli.ok("run", "show", str(first)).out

    # A completed run cannot be resumed; an unknown id is a one-line error.
    done = cli("run", "resume", str(first), "--json")
    assert done.code == 2 and "completed" in done.err and len(done.err_lines) == 1
    missing = cli("run", "show", "999")
    assert missing.code == 2 and "no run with id 999" in missing.err


def test_run_resume_prints_the_same_json_as_run(cli, ws, fake_openai):
    from mlops_desk.core.runner import RunOptions, create_run

    run_id = create_run(ws.store, ws.version, ws.dataset, RunOptions())
    with ws.store.transaction() as db:  # as a killed process leaves it
        db.execute("UPDATE runs SET status = 'interrupted' WHERE id = ?", [run_id])
    result = cli("run", "resume", str(run_id), "--json", "--fail-under", "accuracy=0.6")
    assert result.code == 0, result.err
    out = json.loads(result.out)
    assert out["run_id"] == run_id and out["status"] == "completed"
    assert set(out["metrics"]) >= METRIC_KEYS


def test_compare_reports_deltas_flips_and_an_exact_mcnemar_p(cli, store, tmp_path, fake_openai):
    # A is wrong on rows 1..7, B only on row 0: 1 row right -> wrong, 7 wrong -> right.
    def wrong(i: int) -> str:
        return LABELS[(i + 1) % 3]

    rows = [{"text": f"row {i}", "answer_a": wrong(i) if 1 <= i <= 7 else label,
             "answer_b": wrong(i) if i == 0 else label, "expected": label}
            for i, label in enumerate(EXPECTED)]
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=rows,
                         template="Ticket: {text}\nANSWER: {answer_a}")
    add_version(ws, template="Ticket: {text}\nANSWER: {answer_b}")
    a = run_json(cli)["run_id"]
    result = cli("run", "triage:2", "--dataset", "tickets", "--json")
    b = json.loads(result.out)["run_id"]

    out = json.loads(cli.ok("run", "compare", str(a), str(b), "--json").out)
    assert (out["run_a"], out["run_b"], out["n_paired"]) == (a, b, 10)
    assert out["flipped_to_wrong"] == [0]
    assert out["flipped_to_right"] == [1, 2, 3, 4, 5, 6, 7]
    assert (out["b"], out["c"], out["both_right"], out["both_wrong"]) == (1, 7, 2, 0)
    # Exact two-sided: 2 * P(X <= 1), X ~ Bin(8, 1/2) = 2 * (1 + 8) / 256.
    assert out["mcnemar_p"] == pytest.approx(18 / 256)
    assert out["deltas"]["accuracy"] == pytest.approx(0.9 - 0.3)
    assert out["deltas"]["n_errors"] == 0
    text = cli.ok("run", "compare", str(a), str(b)).out
    assert "right -> wrong: 1 rows (0)" in text and "0.07031" in text


def test_template_naming_a_missing_column_is_refused_before_any_request(
        cli, store, tmp_path, fake_openai):
    build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(3),
                    template="Ticket: {text}\nPriority: {priority}\nANSWER: {answer}")
    result = cli("run", "triage:1", "--dataset", "tickets", "--json")
    assert result.code == 2 and len(result.err_lines) == 1
    assert "priority" in result.err and "tickets" in result.err
    assert fake_openai.request_count == 0 and runs.list_runs(store) == []


@pytest.mark.parametrize("args", [("--concurrency", "0"), ("--limit", "0"), ("--rpm", "-1")])
def test_bad_run_options_exit_2(cli, ws, fake_openai, args):
    result = cli("run", "triage:1", "--dataset", "tickets", *args)
    assert result.code == 2 and len(result.err_lines) == 1
    assert fake_openai.request_count == 0


def test_no_cache_flag_sends_every_row(cli, ws, fake_openai):
    run_json(cli)
    cached = run_json(cli)
    assert cached["metrics"]["n_cached"] == 10 and fake_openai.request_count == 10
    assert cached["metrics"]["total_cost"] == 0
    fresh = run_json(cli, "--no-cache")
    assert fresh["metrics"]["n_cached"] == 0 and fake_openai.request_count == 20


def test_401_from_the_cli_is_one_line_exit_1(cli, ws, fake_openai):
    fake_openai.faults.set_rate("401", 1.0)
    result = cli("run", "triage:1", "--dataset", "tickets", "--json")
    assert result.code == 1 and len(result.err_lines) == 1
    assert "refused the API key" in result.err
    assert runs.list_runs(ws.store)[0].status == "failed"
