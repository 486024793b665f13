"""Deploy to…: pick a version, an environment and a reason; the gate is checked first.

Choosing a version or an environment evaluates the environment's gate in a task and shows
every check (metric, value, threshold, run), and the newer runs it skipped because they are
not complete evidence (a row-limited, failed or interrupted run). Deploy is enabled when
the gate passes (or there is none); when it refuses, "Force with reason" deploys anyway,
only with a reason, and the move is recorded as forced.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QToolButton,
    QWidget,
)

from mlops_desk.core.deploy import DeployResult
from mlops_desk.core.gates import GateReport
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.dialogs.deploy_base import DeployTaskDialog
from mlops_desk.ui.loader import LatestLoad
from mlops_desk.ui.models.deploy_data import (
    DeploymentsData,
    DeployOutcome,
    GateCheck,
    check_gate,
    deploy_version,
    load_deployments,
)
from mlops_desk.ui.models.deploy_tables import EXPLANATION, GateChecksModel
from mlops_desk.ui.widgets.status_line import StatusLine


class DeployDialog(DeployTaskDialog):
    deployed = Signal(object)  # DeployResult

    def __init__(self, ctx: AppContext, model: str, *, version: int | None = None,
                 environment: str | None = None, parent: QWidget | None = None):
        super().__init__(ctx, f"Deploy {model}", "Deploy", parent)
        self.model_name = model
        self._wanted = (version, environment)
        self.data: DeploymentsData | None = None
        self.gate: GateCheck | None = None
        self._data_load = LatestLoad(ctx, self)
        self._gate_load = LatestLoad(ctx, self)

        self.version_box = QComboBox()
        self.env_box = QComboBox()
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Why: kept in the history (required to force)")
        self.manifest_edit = QLineEdit()
        self.manifest_edit.setPlaceholderText("Optional: also write MODEL.ENV.json here")
        self.manifest_edit.setClearButtonEnabled(True)
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip("Choose the folder apps and pipelines read the manifest from")
        browse.clicked.connect(self.choose_manifest_dir)
        manifest_row = QHBoxLayout()
        manifest_row.addWidget(self.manifest_edit, 1)
        manifest_row.addWidget(browse)
        self.form.addRow("Version", self.version_box)
        self.form.addRow("Environment", self.env_box)
        self.form.addRow("Reason", self.reason)
        self.form.addRow("Manifest folder", manifest_row)

        gate_title = QLabel("Gate")
        gate_title.setObjectName("sectionTitle")
        self.gate_status = StatusLine()
        self.checks = GateChecksModel(self)
        self.checks_view = QTableView()
        self.checks_view.setModel(self.checks)
        self.checks_view.verticalHeader().hide()
        self.checks_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.checks_view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.checks_view.setWordWrap(True)
        header = self.checks_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(EXPLANATION, QHeaderView.ResizeMode.Stretch)
        self.checks_view.setMinimumHeight(110)
        for offset, widget in enumerate((gate_title, self.gate_status, self.checks_view)):
            self.body.insertWidget(1 + offset, widget, 1 if widget is self.checks_view else 0)
        self.body.insertStretch(4, 0)  # takes the room while the checks table is hidden
        self.checks_view.hide()

        self.force_button = self.buttons.addButton("Force with reason",
                                                   QDialogButtonBox.ButtonRole.ActionRole)
        self.force_button.setToolTip("Deploy although the gate refuses; recorded as forced, "
                                     "with your reason")
        self.force_button.clicked.connect(self.force)
        self.force_button.hide()
        self.ok_button.setEnabled(False)
        self.version_box.currentIndexChanged.connect(self.check)
        self.env_box.currentIndexChanged.connect(self.check)
        self.reason.textChanged.connect(self._update_force)
        self.resize(760, 420)
        self.status.set("info", "Loading versions and environments…")
        self._data_load.start(load_deployments, ctx.store, model, on_done=self._loaded,
                              on_error=self.failed)

    # -- choices -----------------------------------------------------------------------
    @property
    def version(self) -> int | None:
        return self.version_box.currentData()

    @property
    def environment(self) -> str | None:
        return self.env_box.currentData()

    def _loaded(self, data: DeploymentsData) -> None:
        self.data = data
        version, environment = self._wanted
        self.version_box.blockSignals(True)
        self.env_box.blockSignals(True)
        for v in reversed(data.versions):  # newest first
            if not v.archived or v.number == version:
                note = f" — {v.note}" if v.note else ""
                self.version_box.addItem(f"v{v.number}{note}", v.number)
        for env in data.environments:
            serves = f"serves v{env.version}" if env.version is not None else "empty"
            self.env_box.addItem(f"{env.name}  ({serves})", env.name)
        _select(self.version_box, version)
        _select(self.env_box, environment if environment is not None else "production")
        self.version_box.blockSignals(False)
        self.env_box.blockSignals(False)
        self.status.clear()
        self.check()

    def select(self, version: int | None = None, environment: str | None = None) -> None:
        if version is not None:
            _select(self.version_box, version)
        if environment is not None:
            _select(self.env_box, environment)

    def choose_manifest_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Manifest folder",
                                                self.manifest_edit.text())
        if path:
            self.manifest_edit.setText(path)

    # -- the gate ----------------------------------------------------------------------
    def check(self) -> None:
        """Evaluate the chosen environment's gate for the chosen version (in a task)."""
        self.gate = None
        self.ok_button.setEnabled(False)
        self.force_button.hide()
        self.checks.set_rows([])
        self.checks_view.hide()
        if self.version is None or self.environment is None:
            self.gate_status.set("info", "This model has no version to deploy yet.")
            return
        self.gate_status.set("info", f"Checking the gate of {self.environment}…")
        self._gate_load.start(check_gate, self.ctx.store, self.model_name, self.version,
                              self.environment, on_done=self._checked,
                              on_error=lambda message: self.gate_status.set("error", message))

    @property
    def checking(self) -> bool:
        return self._gate_load.running

    def _checked(self, gate: GateCheck) -> None:
        if (gate.version, gate.environment) != (self.version, self.environment):
            return
        self.gate = gate
        ref = f"{gate.model}:{gate.version}"
        if gate.unchanged:
            self.gate_status.set("info", f"{gate.environment} already serves {ref}: "
                                         "deploying it again changes nothing.")
            return
        self.show_report(gate.report)

    def show_report(self, report: GateReport) -> None:
        self.checks.set_report(report)
        self.checks_view.setVisible(bool(report.checks or report.skipped))
        self.checks_view.resizeRowsToContents()
        if report.policy is None:
            self.gate_status.set("warning", f"{report.environment} has no gate: this deploy "
                                            "is not checked against any test run.")
        elif report.passed:
            skipped = (f" {report.n_skipped} newer run(s) skipped: not complete evidence "
                       "(listed below)." if report.skipped else "")
            self.gate_status.set("ok", f"The gate of {report.environment} passes on run "
                                       f"{report.run_id}: every check holds.{skipped}")
        else:
            self.gate_status.set("error", f"Refused by the gate of {report.environment}: "
                                          f"{report.explain()}")
        self.ok_button.setEnabled(report.passed and not self.busy)
        self.force_button.setVisible(not report.passed)
        self._update_force()

    @property
    def refused(self) -> bool:
        report = self.gate.report if self.gate else None
        return report is not None and not report.passed

    def _update_force(self) -> None:
        has_reason = bool(self.reason.text().strip())
        self.force_button.setEnabled(self.refused and has_reason and not self.busy)
        self.force_button.setToolTip(
            "Deploy although the gate refuses; recorded as forced, with your reason"
            if has_reason else "Write a reason first: a forced deploy must say why")

    # -- deploying ---------------------------------------------------------------------
    def submit(self) -> None:
        if self.gate is None or self.gate.unchanged or self.refused or self.busy:
            return
        self._deploy(force=False)

    def force(self) -> None:
        if not self.refused or self.busy:
            return
        if not self.reason.text().strip():
            self.status.set("error", "A forced deploy needs a reason: write why above.")
            self.reason.setFocus()
            return
        self._deploy(force=True)

    def _deploy(self, *, force: bool) -> None:
        self.force_button.setEnabled(False)
        self.run(deploy_version, self.ctx.store, self.model_name, self.version,
                 self.environment, reason=self.reason.text().strip(), force=force,
                 manifest_dir=self.manifest_edit.text().strip() or None,
                 message=f"Deploying to {self.environment}…", on_done=self._outcome)

    def _outcome(self, outcome: DeployOutcome) -> None:
        if outcome.refused is not None:  # the gate changed since it was checked
            self.status.clear()
            self.gate = GateCheck(self.model_name, self.version, self.environment,
                                  self.gate.current if self.gate else None, outcome.refused)
            self.show_report(outcome.refused)
            return
        self.succeeded(outcome.result)

    def failed(self, message: str) -> None:
        super().failed(message)
        self.ok_button.setEnabled(self.gate is not None and not self.refused
                                  and not self.gate.unchanged)
        self._update_force()

    def done_with(self, result: DeployResult) -> None:
        move = result.move
        if move is None:
            text = f"{self.model_name}:{self.version} already served {self.environment}."
        else:
            was = f"v{move.from_version}" if move.from_version is not None else "empty"
            text = (f"{move.model}:{move.to_version} deployed to {move.environment} "
                    f"(was {was}){' — forced' if move.forced else ''}.")
        if result.manifest is not None:
            text += f" Manifest: {result.manifest}"
        self.ctx.status_message.emit(text)
        self.deployed.emit(result)


def _select(box: QComboBox, data) -> None:
    index = box.findData(data) if data is not None else -1
    if index >= 0:
        box.setCurrentIndex(index)
