"""Deploy to…: pick a version, an environment and a reason; the gate is checked first.

Choosing a version or an environment evaluates the environment's gate in a task and shows
every check (metric, value, threshold, run), and the newer runs it skipped because they are
not complete evidence (a row-limited, failed or interrupted run). Deploy is enabled when
the gate passes (or there is none); when it refuses, "Force with reason" deploys anyway,
only with a reason, and the move is recorded as forced.

When the gate has no usable run of the candidate, "Run the gate check now" records that run
(the version over the whole gate dataset) and hands it to the window, which executes it
where every run executes (the Runs page); the check is evaluated again when runs change.
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
    QPushButton,
    QTableView,
    QToolButton,
    QWidget,
)

from mlops_desk.core.deploy import DeployResult
from mlops_desk.core.gates import GateReport
from mlops_desk.core.runs import Run, get_run
from mlops_desk.ui import theme
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.dialogs.deploy_base import DeployTaskDialog
from mlops_desk.ui.item_models.deploy_data import (
    DeploymentsData,
    DeployOutcome,
    GateCheck,
    check_gate,
    deploy_version,
    load_deployments,
)
from mlops_desk.ui.item_models.deploy_tables import EXPLANATION, GateChecksModel
from mlops_desk.ui.item_models.run_queries import create_run
from mlops_desk.ui.loader import LatestLoad, guarded
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
        self._gate_run_load = LatestLoad(ctx, self)
        self._gate_run_task = None

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
        theme.section_title(gate_title)
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
        self.gate_run_button = QPushButton("Run the gate check now")
        self.gate_run_button.setToolTip("Run this version over the whole gate dataset; the "
                                        "gate is checked again when the run ends")
        self.gate_run_button.clicked.connect(self.run_gate_check)
        self.gate_run_button.hide()
        self.gate_run_id: int | None = None  # the gate run this dialog started
        gate_run_row = QHBoxLayout()
        gate_run_row.addWidget(self.gate_run_button)
        gate_run_row.addStretch(1)
        for offset, item in enumerate((gate_title, self.gate_status, gate_run_row,
                                       self.checks_view)):
            if isinstance(item, QHBoxLayout):
                self.body.insertLayout(1 + offset, item)
            else:
                self.body.insertWidget(1 + offset, item, 1 if item is self.checks_view else 0)
        self.body.insertStretch(5, 0)  # takes the room while the checks table is hidden
        self.checks_view.hide()
        ctx.runs_changed.connect(self._runs_changed)

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
        self._update_gate_run(report)

    # -- the gate run ------------------------------------------------------------------
    @staticmethod
    def missing_gate_run(report: GateReport | None) -> bool:
        """The gate refuses because the candidate has no usable run on its dataset."""
        return report is not None and report.policy is not None and any(
            check.name == "run" and not check.passed for check in report.checks)

    def _update_gate_run(self, report: GateReport | None) -> None:
        running = self.gate_run_id is not None
        self.gate_run_button.setVisible(self.missing_gate_run(report) or running)
        self.gate_run_button.setEnabled(not running)
        self.gate_run_button.setText(f"Gate run {self.gate_run_id} running…" if running
                                     else "Run the gate check now")

    def run_gate_check(self) -> None:
        """Record the candidate's run over the whole gate dataset and have it executed."""
        report = self.gate.report if self.gate else None
        if not self.missing_gate_run(report) or self.gate_run_id is not None:
            return
        from mlops_desk.core.runner import RunOptions  # the engine loads on first use

        dataset = report.policy["dataset"]
        self.gate_run_button.setEnabled(False)
        self.gate_status.set("info", f"Starting the gate run of {report.candidate} on "
                                     f"{dataset}…")
        ctx, created = self.ctx, guarded(self, self._gate_run_created)

        def execute(run_id: int) -> None:
            ctx.run_requested.emit(run_id)  # recorded, so executed even if the dialog closed
            created(run_id)

        self._gate_run_task = ctx.tasks.start(
            create_run, ctx.store, self.model_name, self.version, dataset, RunOptions(),
            on_done=execute, on_error=guarded(self, self._gate_run_failed))

    def _gate_run_created(self, run_id: int) -> None:
        self.gate_run_id = run_id
        self._update_gate_run(None)
        self.gate_status.set("info", f"Gate run {run_id} is running (see Runs); the gate "
                                     "is checked again when it ends.")

    def _gate_run_failed(self, message: str) -> None:
        self.gate_status.set("error", f"The gate run could not start: {message}")
        self.gate_run_button.setEnabled(True)

    def _runs_changed(self) -> None:
        """A run ended somewhere: the gate's evidence may have changed."""
        if self.data is None or self.busy:
            return
        if self.gate_run_id is None:
            self.check()
            return
        self._gate_run_load.start(get_run, self.ctx.store, self.gate_run_id,
                                  on_done=self._gate_run_state)

    def _gate_run_state(self, run: Run) -> None:
        if run.id != self.gate_run_id or run.status in ("queued", "running"):
            return  # another run ended; ours goes on
        self.gate_run_id = None
        self.check()
        if run.status != "completed":
            self.status.set("warning", f"Gate run {run.id} ended {run.status}"
                                       f"{': ' + run.reason if run.reason else ''}.")

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
