"""Deploy gates: thresholds on run metrics, and "not significantly worse than what is deployed".

A policy belongs to one model and environment. It names a gate dataset, rules such as
``accuracy>=0.90`` or ``latency_p95_ms<=2000``, and optionally the non-inferiority check.
``evaluate`` reads the candidate's newest run that is complete evidence on the gate dataset
(``gate_run``: completed, every row asked for and stored); newer runs that are not are listed
as skipped, with the reason. Every check explains itself with the metric, its value, the
threshold and the run it came from.
"""

from __future__ import annotations

import json
import math
import operator
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from mlops_desk.core import audit, metric_catalogue
from mlops_desk.core.datasets import Dataset, get_dataset, get_dataset_by_id
from mlops_desk.core.errors import BadInput, CheckFailed
from mlops_desk.core.metrics import compare_runs
from mlops_desk.core.registry import Version, get_model
from mlops_desk.core.store import Store, utcnow

# Metrics a rule may name, and the significance of "not worse": the catalogue's.
GATE_METRICS = metric_catalogue.GATEABLE
_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
        "==": operator.eq}
_RULE = re.compile(r"^\s*([a-z0-9_]+)\s*(>=|<=|==|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)"
                   r"\s*$", re.IGNORECASE)
DEFAULT_ALPHA = metric_catalogue.SIGNIFICANCE


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
        raise BadInput("a gate needs at least one rule or the non-inferiority check",
                       hint="--rule EXPR or --non-inferior")
    if not 0 < alpha < 1:
        raise BadInput(f"bad significance level {alpha}: expected 0 < alpha < 1")
    with store.transaction() as db:
        model = get_model(store, model_name)
        dataset = get_dataset(store, dataset_name)
        if not db.execute("SELECT 1 FROM environments WHERE model_id = ? AND name = ?",
                          [model.id, environment]).fetchone():
            raise BadInput(f"model {model.name} has no environment {environment!r}",
                           hint=f"see 'env list {model.name}'")
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
    hint: str = ""  # the CLI command that would fix a failed check (the GUI offers a button)


@dataclass(frozen=True)
class SkippedRun:
    """A run the gate did not count, and why (it is not evidence about the whole dataset)."""

    run_id: int
    version: str  # MODEL:N, since the non-inferiority baseline has runs of its own
    reason: str

    @property
    def message(self) -> str:
        return f"run {self.run_id} of {self.version} skipped: {self.reason}"


@dataclass(frozen=True)
class GateReport:
    candidate: str
    environment: str
    policy: dict[str, Any] | None
    run_id: int | None
    checks: list[Check] = field(default_factory=list)
    used: str | None = None  # which run the rules read, and why it counts
    skipped: list[SkippedRun] = field(default_factory=list)  # the newest MAX_SKIPPED_LISTED
    n_skipped: int = 0  # all of them, listed or not

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
        text = "; ".join(check.message for check in self.failures)
        return f"{text}; {self.skipped_summary()}" if self.skipped else text

    def skipped_summary(self, most: int = 3) -> str:
        """``skipped run 15 of m:1 (covers 10 of 40 rows), ...``: why newer runs did not count."""
        parts = [f"run {s.run_id} of {s.version} ({s.reason})" for s in self.skipped[:most]]
        more = self.n_skipped - len(parts)
        return "skipped " + ", ".join(parts) + (f" and {more} more" if more > 0 else "")

    def to_dict(self) -> dict[str, Any]:
        return {"candidate": self.candidate, "environment": self.environment,
                "policy": self.policy, "run_id": self.run_id, "used": self.used,
                "passed": self.passed, "checks": [asdict(check) for check in self.checks],
                "skipped": [asdict(s) for s in self.skipped], "n_skipped": self.n_skipped}


class GateRefused(CheckFailed):
    """The gate said no; ``report`` holds every check for display."""

    def __init__(self, report: GateReport):
        super().__init__(
            f"deploy of {report.candidate} to {report.environment} refused by its gate: "
            f"{report.explain()}", hint="override with --force --reason TEXT"
        )
        self.report = report


MAX_SKIPPED_LISTED = 10  # a CI job making a small run per commit must not bloat the report


def evaluate(store: Store, candidate: Version, environment: str,
             deployed: Version | None) -> GateReport:
    """Check ``candidate`` against the environment's policy; ``deployed`` is what it replaces."""
    policy = get_policy(store, candidate.model, environment)
    if policy is None:
        return GateReport(candidate.ref, environment, None, None)
    dataset = get_dataset(store, policy.dataset)
    found = gate_run(store, candidate, dataset)
    skipped = list(found.skipped)
    if found.run_id is None:
        check = Check("run", False,
                      f"{candidate.ref} has no completed run on gate dataset {dataset.name} "
                      f"that stores all of its {dataset.n_rows:,} rows: run it on the whole "
                      "dataset first",
                      hint=f"mlops-desk run {candidate.ref} --dataset {dataset.name}")
        return _report(candidate, environment, policy, None, [check], None, skipped)
    checks = [_rule_check(rule, found.metrics, found.run_id) for rule in policy.rules]
    if policy.non_inferior:
        baseline = (gate_run(store, deployed, dataset)
                    if deployed is not None and deployed.id != candidate.id else None)
        if baseline is not None:
            skipped += baseline.skipped
        checks.append(_non_inferiority(store, candidate, deployed, baseline, dataset,
                                       found.run_id, found.metrics, policy.alpha))
    used = (f"run {found.run_id} of {candidate.ref}: completed, all {dataset.n_rows:,} rows "
            f"of {dataset.name} stored")
    return _report(candidate, environment, policy, found.run_id, checks, used, skipped)


def _report(candidate: Version, environment: str, policy: Policy, run_id: int | None,
            checks: list[Check], used: str | None, skipped: list[SkippedRun]) -> GateReport:
    return GateReport(candidate.ref, environment, policy.to_dict(), run_id, checks, used,
                      skipped[:MAX_SKIPPED_LISTED], len(skipped))


@dataclass(frozen=True)
class GateRun:
    """The run a gate reads for one version (``run_id`` None: none counts), and the newer
    runs it passed over."""

    run_id: int | None
    metrics: dict[str, Any]
    skipped: list[SkippedRun]


def gate_run(store: Store, version: Version, dataset: Dataset) -> GateRun:
    """The newest run of ``version`` that is complete evidence on ``dataset``.

    A run counts only when it is ``completed``, was asked for every row of the dataset (not a
    row-limited subset), has a stored result for every row, and its metrics were computed over
    all of them. Runs are taken newest first (by when they finished, or were created if they
    have not); each newer run that does not count is returned with the reason.
    """
    rows = store.db.execute(
        "SELECT id, status, n_total, metrics FROM runs WHERE version_id = ? AND dataset_id = ? "
        "ORDER BY coalesce(finished_at, created_at) DESC, id DESC",
        [version.id, dataset.id]).fetchall()
    skipped: list[SkippedRun] = []
    for run_id, status, n_total, metrics_json in rows:
        metrics = json.loads(metrics_json or "{}")
        reason = _not_evidence(store, run_id, status, n_total, metrics, dataset.n_rows)
        if reason is None:
            return GateRun(run_id, metrics, skipped)
        skipped.append(SkippedRun(run_id, version.ref, reason))
    return GateRun(None, {}, skipped)


def _not_evidence(store: Store, run_id: int, status: str, n_total: int,
                  metrics: dict[str, Any], n_rows: int) -> str | None:
    """Why a run cannot stand for the whole gate dataset, or None when it can."""
    if status != "completed":
        return status
    if n_total < n_rows:
        return f"covers {n_total:,} of {n_rows:,} rows"
    stored = store.db.execute(
        "SELECT count(*) FROM run_results WHERE run_id = ? AND row_idx >= 0 AND row_idx < ?",
        [run_id, n_rows]).fetchone()[0]
    if stored < n_rows:
        return f"stores {stored:,} of {n_rows:,} rows"
    counted = metrics.get("n_rows")
    if counted != n_rows:  # metrics of a partial run that was later filled in, or none at all
        return ("has no metrics" if counted is None
                else f"its metrics count {counted:,} of {n_rows:,} rows")
    return None


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
                     baseline: GateRun | None, dataset: Dataset, run_id: int,
                     metrics: dict[str, Any], alpha: float) -> Check:
    """Exact McNemar on the rows both runs scored: refuse when significantly worse.

    The baseline run is chosen by the same rule as the candidate's (``gate_run``)."""
    if deployed is None or baseline is None:
        return Check("non_inferior", True, "nothing else deployed to compare with",
                     run_id=run_id)
    if baseline.run_id is None:
        return Check("non_inferior", False,
                     f"deployed {deployed.ref} has no completed run on {dataset.name} that "
                     f"stores all of its {dataset.n_rows:,} rows to compare with: run it on "
                     "the whole dataset first", run_id=run_id,
                     hint=f"mlops-desk run {deployed.ref} --dataset {dataset.name}")
    base_id, base_metrics = baseline.run_id, baseline.metrics
    result = compare_runs(_scored_rows(store, base_id), _scored_rows(store, run_id),
                          base_metrics, metrics)
    worse, better, p = result["b"], result["c"], result["mcnemar_p"]
    significantly_worse = worse > better and p < alpha
    verdict = "significantly worse than" if significantly_worse else "not significantly worse than"
    return Check(
        "non_inferior", not significantly_worse,
        f"{candidate.ref} is {verdict} deployed {deployed.ref} on {dataset.name}: "
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
