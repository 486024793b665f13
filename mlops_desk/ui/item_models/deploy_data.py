"""What the Deployments page and the deploy dialogs read and do, as plain task functions.

Each runs in a worker (``ctx.tasks.start``) and returns plain data; nothing here touches Qt.
``deploy_version`` turns a refusal by the gate into a result instead of an error, so the
dialog can show every check rather than one line of text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlops_desk.core import deploy, gates, registry
from mlops_desk.core.datasets import list_datasets
from mlops_desk.core.deploy import DeployResult, Environment, Move
from mlops_desk.core.gates import GateReport, Policy
from mlops_desk.core.registry import Model, Version
from mlops_desk.core.store import Store


@dataclass(frozen=True)
class DeploymentsData:
    """One model's environments, gates and deployment history."""

    model: Model
    versions: list[Version]
    environments: list[Environment]
    policies: dict[str, Policy]
    history: list[Move]  # oldest first
    datasets: list[str] = field(default_factory=list)

    def environment(self, name: str) -> Environment | None:
        return next((e for e in self.environments if e.name == name), None)

    def rollback_target(self, environment: str) -> int | None:
        return deploy.rollback_target([m for m in self.history if m.environment == environment])

    def version(self, number: int | None) -> Version | None:
        return next((v for v in self.versions if v.number == number), None)


def load_deployments(store: Store, model_name: str) -> DeploymentsData:
    return DeploymentsData(
        model=registry.get_model(store, model_name),
        versions=registry.list_versions(store, model_name),
        environments=deploy.list_environments(store, model_name),
        policies={p.environment: p for p in gates.list_policies(store, model_name)},
        history=deploy.history(store, model_name),
        datasets=[d.name for d in list_datasets(store)],
    )


@dataclass(frozen=True)
class GateCheck:
    """The gate's verdict on a candidate, before anything moves."""

    model: str
    version: int
    environment: str
    current: int | None  # what the environment serves now
    report: GateReport | None  # None when the environment already serves the candidate

    @property
    def unchanged(self) -> bool:
        return self.current == self.version


def check_gate(store: Store, model_name: str, number: int, environment: str) -> GateCheck:
    candidate = registry.get_version(store, model_name, number)
    current = deploy.deployed_version(store, model_name, environment)
    if current is not None and current.number == number:
        return GateCheck(model_name, number, environment, number, None)
    report = gates.evaluate(store, candidate, environment, current)
    return GateCheck(model_name, number, environment,
                     current.number if current else None, report)


@dataclass(frozen=True)
class DeployOutcome:
    result: DeployResult | None
    refused: GateReport | None = None


def deploy_version(store: Store, model_name: str, number: int, environment: str, *,
                   reason: str = "", force: bool = False,
                   manifest_dir: str | Path | None = None) -> DeployOutcome:
    try:
        result = deploy.deploy(store, model_name, number, environment, reason=reason,
                               force=force, manifest_dir=manifest_dir or None)
    except gates.GateRefused as refused:
        return DeployOutcome(None, refused.report)
    return DeployOutcome(result)


def describe_policy(policy: Policy | None) -> str:
    """``gate-set: accuracy>=0.9, not worse than deployed`` (or "no gate")."""
    if policy is None:
        return "no gate"
    parts = [str(rule) for rule in policy.rules]
    if policy.non_inferior:
        parts.append(f"not worse than deployed (α {policy.alpha:g})")
    return f"{policy.dataset}: {', '.join(parts)}"
