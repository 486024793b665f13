"""The small deployment forms: roll back (with its from→to), the gate policy, a new environment."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from mlops_desk.core import deploy, gates, registry
from mlops_desk.core.deploy import Move
from mlops_desk.core.errors import BadInput
from mlops_desk.core.gates import Policy
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.dialogs.deploy_base import DeployTaskDialog


class RollbackDialog(DeployTaskDialog):
    """Confirms the move it will make: environment, from-version and to-version."""

    def __init__(self, ctx: AppContext, model: str, environment: str, from_version: int,
                 to_version: int, parent: QWidget | None = None):
        super().__init__(ctx, f"Roll back {model}@{environment}", "Roll back", parent)
        self.model_name, self.environment = model, environment
        self.from_version, self.to_version = from_version, to_version
        self.question = QLabel(
            f"Roll back <b>{environment}</b> of <b>{model}</b> from "
            f"<b>v{from_version}</b> to <b>v{to_version}</b>?")
        self.question.setTextFormat(Qt.TextFormat.RichText)
        hint = QLabel(f"v{to_version} served {environment} before v{from_version}. A rollback is "
                      "not gated: it is the way out of a bad deploy. The gateway serves "
                      f"v{to_version} from its next request.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Why: kept in the history")
        # Above the form, not in it: a form row does not grow for a label that wraps.
        self.body.insertWidget(0, self.question)
        self.body.insertWidget(1, hint)
        self.form.addRow("Reason", self.reason)
        self.setMinimumWidth(480)

    def submit(self) -> None:
        self.run(deploy.rollback, self.ctx.store, self.model_name, self.environment,
                 reason=self.reason.text().strip(), message="Rolling back…")

    def done_with(self, move: Move) -> None:
        self.ctx.status_message.emit(
            f"{move.environment} of {move.model} rolled back to v{move.to_version} "
            f"(was v{move.from_version}).")


class GatePolicyDialog(DeployTaskDialog):
    """Edit one environment's gate: its dataset, rules, and the non-inferiority check."""

    def __init__(self, ctx: AppContext, model: str, environment: str, datasets: list[str],
                 policy: Policy | None = None, parent: QWidget | None = None):
        super().__init__(ctx, f"Gate of {model}@{environment}", "Save gate", parent)
        self.model_name, self.environment = model, environment
        self.dataset_box = QComboBox()
        self.dataset_box.addItems(datasets)
        self.rules = QPlainTextEdit()
        self.rules.setPlaceholderText("One rule per line, e.g.\naccuracy>=0.90\n"
                                      "latency_p95_ms<=2000\nerror_rate<=0.01")
        self.rules.setTabChangesFocus(True)
        self.rules.setFixedHeight(110)
        metrics = QLabel("e.g. accuracy, macro_f1, error_rate, latency_p95_ms, cost_per_1k "
                         "(hover for every metric)")
        metrics.setObjectName("hint")
        metrics.setToolTip("Metrics a rule may name:\n" + "\n".join(gates.GATE_METRICS))
        self.non_inferior = QCheckBox("Refuse a version significantly worse than the deployed "
                                      "one (exact McNemar test on the gate dataset)")
        self.alpha = QDoubleSpinBox()
        self.alpha.setRange(0.001, 0.5)
        self.alpha.setDecimals(3)
        self.alpha.setSingleStep(0.01)
        self.alpha.setValue(gates.DEFAULT_ALPHA)
        self.form.addRow("Gate dataset", self.dataset_box)
        self.form.addRow("Rules", self.rules)
        self.form.addRow("", metrics)
        self.form.addRow(self.non_inferior)
        self.form.addRow("Significance (α)", self.alpha)
        if policy is not None:
            self.dataset_box.setCurrentText(policy.dataset)
            self.rules.setPlainText("\n".join(str(rule) for rule in policy.rules))
            self.non_inferior.setChecked(policy.non_inferior)
            self.alpha.setValue(policy.alpha)
        self.non_inferior.toggled.connect(self.validate)
        self.rules.textChanged.connect(self.validate)
        self.resize(560, 0)
        self.validate()

    def rule_texts(self) -> list[str]:
        """Rules one per line; commas and semicolons also separate them."""
        parts = re.split(r"[\n,;]+", self.rules.toPlainText())
        return [part.strip() for part in parts if part.strip()]

    def validate(self) -> bool:
        self.alpha.setEnabled(self.non_inferior.isChecked())
        problem = None
        if not self.dataset_box.count():
            problem = "Import a dataset first: a gate reads the runs on its dataset."
        else:
            try:
                for text in self.rule_texts():
                    gates.parse_rule(text)
            except BadInput as exc:
                problem = str(exc)
            if problem is None and not self.rule_texts() and not self.non_inferior.isChecked():
                problem = "Add at least one rule, or the non-inferiority check."
        if problem:
            self.status.set("error" if self.rules.toPlainText().strip() else "info", problem)
        else:
            self.status.clear()
        self.ok_button.setEnabled(problem is None and not self.busy)
        return problem is None

    def submit(self) -> None:
        if not self.validate():
            return
        self.run(gates.set_policy, self.ctx.store, self.model_name, self.environment,
                 self.dataset_box.currentText(), self.rule_texts(),
                 non_inferior=self.non_inferior.isChecked(), alpha=self.alpha.value())

    def done_with(self, policy: Policy) -> None:
        self.ctx.status_message.emit(f"Gate of {policy.model}@{policy.environment} saved.")


class AddEnvironmentDialog(DeployTaskDialog):
    def __init__(self, ctx: AppContext, model: str, parent: QWidget | None = None):
        super().__init__(ctx, f"New environment for {model}", "Add environment", parent)
        self.model_name = model
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. canary, eu-production")
        self.name.textChanged.connect(self.validate)
        self.form.addRow("Name", self.name)
        self.resize(420, 0)
        self.validate()

    def validate(self) -> bool:
        name = self.name.text()
        try:
            registry.check_name(name, "environment")
        except BadInput as exc:
            self.status.set("error" if name else "info", str(exc) if name else "Name it.")
            self.ok_button.setEnabled(False)
            return False
        self.status.clear()
        self.ok_button.setEnabled(not self.busy)
        return True

    def submit(self) -> None:
        if self.validate():
            self.run(deploy.add_environment, self.ctx.store, self.model_name, self.name.text())

    def done_with(self, env) -> None:
        self.ctx.status_message.emit(f"Environment {env.name} added to {env.model}.")
