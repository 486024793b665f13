"""One row's stored result, built the same way for online, Batch API and imported rows.

The tuples follow ``runs.RESULT_COLUMNS`` (after the run id). Counting decisions live here:
a row whose answer does not parse is an answer with a ``parse_error``; a row that got no
answer is scored wrong when it has an expected value (see ``metrics``); a cached answer
costs nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlops_desk.core import secrets
from mlops_desk.core.inference import Completion, cost_usd
from mlops_desk.core.parsing import parse_output
from mlops_desk.core.scoring import score
from mlops_desk.core.store import utcnow


@dataclass(frozen=True)
class RowRules:
    """What turning a reply into a result needs to know about the run."""

    run_id: int
    parser: str
    labels: list[str] | None
    scorer: str
    expected_col: str | None
    price: tuple[float, float] | None  # USD per 1M (input, output) tokens, as charged

    def expected(self, row: dict[str, Any]) -> Any:
        return row.get(self.expected_col) if self.expected_col else None

    def parse(self, text: str) -> tuple[str | None, str | None]:
        """(prediction, why it did not parse or None)."""
        return parse_output(self.parser, text, self.labels or None)


def answered(rules: RowRules, idx: int, row: dict[str, Any], completion: Completion, *,
             prediction: str | None, parse_error: str | None, correct: bool | None,
             value: float | None, judge_error: str | None, attempts: int,
             latency_ms: float | None, cached: bool, tries: list[dict] | None = None) -> tuple:
    error_class, error_message = ("parse_error", parse_error) if parse_error else (None, None)
    if judge_error and error_class is None:  # ungraded must show, not vanish from accuracy
        error_class, error_message = "judge_error", secrets.redact(judge_error)[:500]
    cost = 0.0 if cached else cost_usd(rules.price, completion.prompt_tokens,
                                       completion.completion_tokens)
    return (
        rules.run_id, idx, completion.text, prediction, rules.expected(row),
        None if correct is None else int(correct), value, latency_ms,
        None if cached else completion.prompt_tokens,
        None if cached else completion.completion_tokens, cost, attempts, error_class,
        error_message, int(cached), utcnow(), _tries_json(tries),
    )


def scored_answer(rules: RowRules, idx: int, row: dict[str, Any], completion: Completion, *,
                  attempts: int, latency_ms: float | None) -> tuple:
    """An answer parsed and scored without a judge (the batch and import paths)."""
    prediction, parse_error = rules.parse(completion.text)
    correct, value = score(rules.scorer, prediction, rules.expected(row), completion.text)
    return answered(rules, idx, row, completion, prediction=prediction,
                    parse_error=parse_error, correct=correct, value=value, judge_error=None,
                    attempts=attempts, latency_ms=latency_ms, cached=False)


def unanswered(rules: RowRules, idx: int, row: dict[str, Any], attempts: int,
               error: tuple[str, str], tries: list[dict] | None = None) -> tuple:
    expected = rules.expected(row)
    # A failed row is scored wrong when it has an expected answer (see metrics).
    correct = 0 if expected not in (None, "") else None
    return (
        rules.run_id, idx, None, None, expected, correct, 0.0 if correct == 0 else None,
        None, None, None, None, attempts, error[0], secrets.redact(error[1])[:500], 0,
        utcnow(), _tries_json(tries),
    )


def _tries_json(tries: list[dict] | None) -> str | None:
    """Every try of a row (its error and latency), for the row detail."""
    return json.dumps(tries) if tries else None
