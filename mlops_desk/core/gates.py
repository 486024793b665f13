"""Deploy gates: thresholds on run metrics, and "not significantly worse than what is deployed".

A policy belongs to one model and environment. It names a gate dataset, rules such as
``accuracy>=0.90`` or ``latency_p95_ms<=2000``, and optionally the non-inferiority check.
``evaluate`` reads the candidate's latest completed run on the gate dataset; every check
explains itself with the metric, its value, the threshold and the run it came from.
"""

from __future__ import annotations

import json
import math
import operator
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from mlops_desk.core import audit
from mlops_desk.core.datasets import get_dataset, get_dataset_by_id
from mlops_desk.core.errors import BadInput, CheckFailed
from mlops_desk.core.metrics import compare_runs
from mlops_desk.core.registry import Version, get_model
from mlops_desk.core.store import Store, utcnow

# Metrics a rule may name: the numeric, top-level keys of core.metrics.compute_metrics.
GATE_METRICS = (
    "accuracy", "accuracy_ci_low", "accuracy_ci_high", "macro_f1", "micro_f1", "mean_score",
    "error_rate", "latency_p50_ms", "latency_p90_ms", "latency_p95_ms", "latency_p99_ms",
    "latency_max_ms", "latency_mean_ms", "rows_per_s", "total_cost", "cost_per_1k",
    "n_rows", "n_errors", "tokens_in", "tokens_out",
)
_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
        "==": operator.eq}
_RULE = re.compile(r"^\s*([a-z0-9_]+)\s*(>=|<=|==|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)"
                   r"\s*$", re.IGNORECASE)
DEFAULT_ALPHA = 0.05


@dataclass(frozen=True)
class Rule:
    metric: str
    op: str
    threshold: float

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.threshold:g}"

    def holds(self, value: float) -> bool:
        return bool(_OPS[self.op](value, self.threshold))


def parse_rule(text: str) -> Rule:
    """``accuracy>=0.9`` -> Rule; a typo in the metric name is an error, not a silent pass."""
    match = _RULE.match(text or "")
    if not match:
        raise BadInput(f"bad gate rule {text!r}: expected METRIC>=VALUE, e.g. accuracy>=0.90 "
                       "(operators >=, <=, >, <, ==)")
    metric, op, value = match.group(1).lower(), match.group(2), float(match.group(3))
    if metric not in GATE_METRICS:
        raise BadInput(f"unknown metric {metric!r} in gate rule {text!r}; "
                       f"use one of {', '.join(GATE_METRICS)}")
    return Rule(metric, op, value)


# -- policies ------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    model: str
    environment: str
    dataset: str
    rules: list[Rule]
    non_inferior: bool
    alpha: float
    updated_at: str
    updated_by: str

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rules"] = [str(rule) for rule in self.rules]
        return data


def set_policy(store: Store, model_name: str, environment: str, dataset_name: str,
               rules: list[str], *, non_inferior: bool = False,
               alpha: float = DEFAULT_ALPHA) -> Policy:
    """Create or replace the gate of one environment; audited."""
    parsed = [parse_rule(text) for text in rules]
    if not parsed and not non_inferior:
        raise BadInput("a gate needs at least one --rule or --non-inferior")
    if not 0 < alpha < 1:
        raise BadInput(f"bad significance level {alpha}: expected 0 < alpha < 1")
    with store.transaction() as db:
        model = get_model(store, model_name)
        dataset = get_dataset(store, dataset_name)
        if not db.execute("SELECT 1 FROM environments WHERE model_id = ? AND name = ?",
                          [model.id, environment]).fetchone():
            raise BadInput(f"model {model.name} has no environment {environment!r} "
                           f"(see 'env list {model.name}')")
        db.execute(
            "INSERT INTO gate_policies (model_id, environment, dataset_id, rules, non_inferior, "
            "alpha, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (model_id, environment) DO UPDATE SET dataset_id = excluded.dataset_id, "
            "rules = excluded.rules, non_inferior = excluded.non_inferior, "
            "alpha = excluded.alpha, updated_at = excluded.updated_at, "
            "updated_by = excluded.updated_by",
            [model.id, environment, dataset.id, json.dumps([str(r) for r in parsed]),
             int(non_inferior), alpha, utcnow(), audit.os_user()],
        )
        audit.append(store, "gate.set", f"model:{model.name}",
                     {"environment": environment, "dataset": dataset.name,
                      "rules": [str(r) for r in parsed], "non_inferior": non_inferior,
                      "alpha": alpha})
    policy = get_policy(store, model.name, environment)
    assert policy is not None
    return policy


def get_policy(store: Store, model_name: str, environment: str) -> Policy | None:
    policies = [p for p in list_policies(store, model_name) if p.environment == environment]
    return policies[0] if policies else None


def list_policies(store: Store, model_name: str) -> list[Policy]:
    model = get_model(store, model_name)
    rows = store.db.execute(
        "SELECT environment, dataset_id, rules, non_inferior, alpha, updated_at, updated_by "
        "FROM gate_policies WHERE model_id = ? ORDER BY environment", [model.id]).fetchall()
    return [
        Policy(model.name, env, get_dataset_by_id(store, dataset_id).name,
               [parse_rule(r) for r in json.loads(rules)], bool(non_inferior), alpha,
               updated_at, updated_by)
        for env, dataset_id, rules, non_inferior, alpha, updated_at, updated_by in rows
    ]


# -- evaluation ------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str  # the rule text, "run" or "non_inferior"
    passed: bool
    message: str
    metric: str | None = None
    value: float | None = None
    threshold: float | None = None
    run_id: int | None = None


@dataclass(frozen=True)
class GateReport:
    candidate: str
    environment: str
    policy: dict[str, Any] | None
    run_id: int | None
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    def explain(self) -> str:
        """One line: why the gate said no (or that it said yes)."""
        if self.policy is None:
            return f"{self.environment} has no gate policy"
        if self.passed:
            return f"gate for {self.environment} passed (run {self.run_id})"
        return "; ".join(check.message for check in self.failures)

    def to_dict(self) -> dict[str, Any]:
        return {"candidate": self.candidate, "environment": self.environment,
                "policy": self.policy, "run_id": self.run_id, "passed": self.passed,
                "checks": [asdict(check) for check in self.checks]}


class GateRefused(CheckFailed):
    """The gate said no; ``report`` holds every check for display."""

    def __init__(self, report: GateReport):
        super().__init__(
            f"deploy of {report.candidate} to {report.environment} refused by its gate: "
            f"{report.explain()} (override with --force --reason TEXT)"
        )
        self.report = report


def evaluate(store: Store, candidate: Version, environment: str,
             deployed: Version | None) -> GateReport:
    """Check ``candidate`` against the environment's policy; ``deployed`` is what it replaces."""
    policy = get_policy(store, candidate.model, environment)
    if policy is None:
        return GateReport(candidate.ref, environment, None, None)
    dataset = get_dataset(store, policy.dataset)
    run = latest_completed_run(store, candidate.id, dataset.id)
    if run is None:
        check = Check("run", False,
                      f"{candidate.ref} has no completed run on gate dataset {dataset.name} "
                      f"(run 'mlops-desk run {candidate.ref} --dataset {dataset.name}' first)")
        return GateReport(candidate.ref, environment, policy.to_dict(), None, [check])
    run_id, metrics = run
    checks = [_rule_check(rule, metrics, run_id) for rule in policy.rules]
    if policy.non_inferior:
        checks.append(_non_inferiority(store, candidate, deployed, dataset.id, dataset.name,
                                       run_id, metrics, policy.alpha))
    return GateReport(candidate.ref, environment, policy.to_dict(), run_id, checks)


def latest_completed_run(store: Store, version_id: int,
                         dataset_id: int) -> tuple[int, dict[str, Any]] | None:
    row = store.db.execute(
        "SELECT id, metrics FROM runs WHERE version_id = ? AND dataset_id = ? "
        "AND status = 'completed' ORDER BY finished_at DESC, id DESC LIMIT 1",
        [version_id, dataset_id]).fetchone()
    return (row[0], json.loads(row[1] or "{}")) if row else None


def _rule_check(rule: Rule, metrics: dict[str, Any], run_id: int) -> Check:
    value = metrics.get(rule.metric)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return Check(str(rule), False,
                     f"{rule.metric} is not available in run {run_id} (needed {rule})",
                     rule.metric, None, rule.threshold, run_id)
    passed = rule.holds(value)
    verdict = "meets" if passed else "fails"
    return Check(str(rule), passed,
                 f"{rule.metric} = {value:.4g} in run {run_id} {verdict} {rule.op} "
                 f"{rule.threshold:g}", rule.metric, float(value), rule.threshold, run_id)


def _non_inferiority(store: Store, candidate: Version, deployed: Version | None,
                     dataset_id: int, dataset_name: str, run_id: int,
                     metrics: dict[str, Any], alpha: float) -> Check:
    """Exact McNemar on the rows both runs scored: refuse when significantly worse."""
    if deployed is None or deployed.id == candidate.id:
        return Check("non_inferior", True, "nothing else deployed to compare with",
                     run_id=run_id)
    baseline = latest_completed_run(store, deployed.id, dataset_id)
    if baseline is None:
        return Check("non_inferior", False,
                     f"deployed {deployed.ref} has no completed run on {dataset_name} to compare "
                     f"with (run 'mlops-desk run {deployed.ref} --dataset {dataset_name}')",
                     run_id=run_id)
    base_id, base_metrics = baseline
    result = compare_runs(_scored_rows(store, base_id), _scored_rows(store, run_id),
                          base_metrics, metrics)
    worse, better, p = result["b"], result["c"], result["mcnemar_p"]
    significantly_worse = worse > better and p < alpha
    verdict = "significantly worse than" if significantly_worse else "not significantly worse than"
    return Check(
        "non_inferior", not significantly_worse,
        f"{candidate.ref} is {verdict} deployed {deployed.ref} on {dataset_name}: "
        f"{worse} row(s) right->wrong, {better} wrong->right, McNemar p = {p:.3g} "
        f"(alpha {alpha:g}; run {run_id} vs run {base_id})",
        "mcnemar_p", p, alpha, run_id,
    )


def _scored_rows(store: Store, run_id: int) -> list[dict[str, Any]]:
    cursor = store.db.execute(
        "SELECT row_idx, expected, prediction, correct, error_class FROM run_results "
        "WHERE run_id = ?", [run_id])
    return [{"row_idx": idx, "expected": expected, "prediction": prediction,
             "correct": None if correct is None else bool(correct), "error_class": error_class}
            for idx, expected, prediction, correct, error_class in cursor]
