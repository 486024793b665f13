"""Add or edit an endpoint: where inference happens, its limits, prices and API key.

The key itself never reaches SQLite: it goes to the OS keyring (``core.secrets``), or the
endpoint names an environment variable to read it from. Headless Linux usually has no
keyring; the dialog says so and offers the environment variable instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mlops_desk.core import registry, secrets
from mlops_desk.core.errors import BadInput
from mlops_desk.core.registry import Endpoint
from mlops_desk.core.store import Store
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.loader import guarded
from mlops_desk.ui.widgets.status_line import StatusLine

KEEP, NO_KEY, KEYRING, ENV = "keep", "none", "keyring", "env"


@dataclass(frozen=True)
class EndpointSpec:
    """What the dialog asks the store to do (plain data, handed to a worker)."""

    name: str
    editing: bool
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)  # base_url, target, timeout_s, ...
    key_ref: str | None = None  # None: leave the stored reference as it is
    key: str | None = None  # a key to put in the keyring


def save_endpoint(store: Store, spec: EndpointSpec) -> Endpoint:
    """Add or update the endpoint and store its key, all or nothing (runs in a worker)."""
    fields = dict(spec.fields)
    if spec.key_ref is not None:
        fields["api_key_ref"] = spec.key_ref
    return registry.save_endpoint(store, spec.name, kind=None if spec.editing else spec.kind,
                                  key=spec.key, **fields)


class EndpointDialog(QDialog):
    saved = Signal(object)  # the Endpoint

    def __init__(self, ctx: AppContext, endpoint: Endpoint | None = None,
                 parent: QWidget | None = None, *, keyring: tuple[bool, str] | None = None):
        super().__init__(parent)
        self.ctx, self.endpoint = ctx, endpoint
        self._task = None
        # The page asks keyring_status() in a task; ask here only if it has no answer yet.
        self.keyring_usable, self.keyring_why = keyring or secrets.keyring_status()
        editing = endpoint is not None
        self.setWindowTitle(f"Edit endpoint {endpoint.name}" if editing else "Add endpoint")
        self.resize(620, 640)

        self.name = QLineEdit(endpoint.name if editing else "")
        self.name.setPlaceholderText("e.g. openai, ollama, local-vllm")
        self.name.setReadOnly(editing)
        self.kind = QComboBox()
        self.kind.addItems(registry.ENDPOINT_KINDS)
        self.kind.setCurrentText(endpoint.kind if editing else "openai")
        self.kind.setEnabled(not editing)  # versions rely on the kind: make a new endpoint
        # A password stored before such URLs were refused is shown masked, so saving asks
        # for the URL without it.
        self.base_url = QLineEdit((endpoint.display_url or "") if editing else "")
        self.base_url.setPlaceholderText("https://api.openai.com/v1 or http://127.0.0.1:11434/v1")
        self.target = QLineEdit((endpoint.target or "") if editing else "")
        self.target.setPlaceholderText("package.module:function")
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(0.1, 3600)
        self.timeout.setDecimals(1)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(endpoint.timeout_s if editing else 60.0)
        self.concurrency = QSpinBox()
        self.concurrency.setRange(1, 1024)
        self.concurrency.setValue(endpoint.max_concurrency if editing else 8)
        self.rpm = self._limit_box(endpoint.rpm if editing else None)
        self.tpm = self._limit_box(endpoint.tpm if editing else None, maximum=100_000_000)

        self.form = QFormLayout()
        self.form.addRow("Name", self.name)
        self.form.addRow("Kind", self.kind)
        self.form.addRow("Base URL", self.base_url)
        self.form.addRow("Python target", self.target)
        self.form.addRow("Timeout", self.timeout)
        self.form.addRow("Max concurrency", self.concurrency)
        self.form.addRow("Requests / minute", self.rpm)
        self.form.addRow("Tokens / minute", self.tpm)

        self.prices = QTableWidget(0, 3)
        self.prices.setHorizontalHeaderLabels(["Model id ('*' = any)", "Input $/1M", "Output $/1M"])
        self.prices.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.prices.verticalHeader().hide()
        self.prices.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for model_id, (price_in, price_out) in (endpoint.prices.items() if editing else []):
            self.add_price(model_id, price_in, price_out)
        add_price = QPushButton("Add price")
        add_price.clicked.connect(lambda: self.add_price("*", 0.0, 0.0))
        remove_price = QPushButton("Remove")
        remove_price.clicked.connect(self._remove_price)
        prices_box = QGroupBox("Prices (USD per 1M tokens; used for cost per run)")
        prices_layout = QVBoxLayout(prices_box)
        prices_layout.addWidget(self.prices)
        buttons_row = QHBoxLayout()
        buttons_row.addWidget(add_price)
        buttons_row.addWidget(remove_price)
        buttons_row.addStretch(1)
        prices_layout.addLayout(buttons_row)
        self.prices.setMaximumHeight(150)

        self.key_box = self._build_key_box()
        self.status = StatusLine()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.addButton("Save" if editing else "Add endpoint",
                                                  QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setDefault(True)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.key_box)
        layout.addWidget(prices_box)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)

        # Problems show once the user has typed in or left a field, or pressed the button:
        # a form just opened is empty, not wrong.
        self.touched = editing
        self.kind.currentTextChanged.connect(self._kind_changed)
        for edit in (self.name, self.base_url, self.target, self.key_text, self.env_var):
            edit.textChanged.connect(self._touch)  # before validate, which reads it
            edit.editingFinished.connect(self._touch)
            edit.textChanged.connect(self.validate)
        self.key_group.buttonToggled.connect(self._key_choice_changed)
        self.prices.itemChanged.connect(self.validate)
        self._key_choice_changed()
        self._kind_changed(self.kind.currentText())

    # -- building ------------------------------------------------------------------
    @staticmethod
    def _limit_box(value: int | None, maximum: int = 1_000_000) -> QSpinBox:
        box = QSpinBox()
        box.setRange(0, maximum)
        box.setSpecialValueText("no limit")
        box.setValue(value or 0)
        return box

    def _build_key_box(self) -> QGroupBox:
        box = QGroupBox("API key (kept out of the database)")
        grid = QGridLayout(box)
        self.key_group = QButtonGroup(self)
        current = self.endpoint.api_key_ref if self.endpoint else None
        self.key_radios: dict[str, QRadioButton] = {}
        choices = [(NO_KEY, "No key (local servers such as Ollama or vLLM)"),
                   (KEYRING, "Store a key in the OS keyring"),
                   (ENV, "Read the key from an environment variable")]
        if self.endpoint is not None:
            choices.insert(0, (KEEP, f"Keep the current key setting "
                                     f"({secrets.describe(current or '')})"))
        for choice, text in choices:
            radio = QRadioButton(text)
            self.key_radios[choice] = radio
            self.key_group.addButton(radio)
        self.key_text = QLineEdit()
        self.key_text.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_text.setPlaceholderText("sk-…")
        self.env_var = QLineEdit(current[4:] if current and current.startswith("env:") else "")
        self.env_var.setPlaceholderText("e.g. OPENAI_API_KEY")
        self.keyring_note = QLabel()
        self.keyring_note.setWordWrap(True)
        self.keyring_note.setObjectName("hint")
        if not self.keyring_usable:
            self.key_radios[KEYRING].setEnabled(False)
            self.keyring_note.setText(f"The OS keyring cannot be used: {self.keyring_why}. "
                                      "Name an environment variable instead.")
        row = 0
        for choice, radio in self.key_radios.items():
            grid.addWidget(radio, row, 0, 1, 2)
            row += 1
            if choice == KEYRING:
                grid.addWidget(self.key_text, row, 1)
                row += 1
                grid.addWidget(self.keyring_note, row, 1)
                row += 1
            elif choice == ENV:
                grid.addWidget(self.env_var, row, 1)
                row += 1
        grid.setColumnMinimumWidth(0, 18)
        grid.setColumnStretch(1, 1)
        default = KEEP if self.endpoint is not None else NO_KEY
        self.key_radios[default].setChecked(True)
        return box

    def add_price(self, model_id: str, price_in: float, price_out: float) -> None:
        row = self.prices.rowCount()
        self.prices.insertRow(row)
        for column, value in enumerate((model_id, f"{price_in:g}", f"{price_out:g}")):
            self.prices.setItem(row, column, QTableWidgetItem(value))

    def _remove_price(self) -> None:
        for row in sorted({i.row() for i in self.prices.selectedIndexes()}, reverse=True):
            self.prices.removeRow(row)
        self.validate()

    # -- state ---------------------------------------------------------------------
    @property
    def key_choice(self) -> str:
        return next(c for c, radio in self.key_radios.items() if radio.isChecked())

    def _kind_changed(self, kind: str) -> None:
        python = kind == "python"
        self.form.setRowVisible(self.base_url, not python)
        self.form.setRowVisible(self.target, python)
        self.key_box.setVisible(not python)  # a local callable needs no key
        self.validate()

    def _key_choice_changed(self, *_args) -> None:
        choice = self.key_choice
        self.key_text.setEnabled(choice == KEYRING)
        self.env_var.setEnabled(choice == ENV)
        self.validate()

    def read_prices(self) -> dict[str, list[float]]:
        prices: dict[str, list[float]] = {}
        for row in range(self.prices.rowCount()):
            cells = [self.prices.item(row, c) for c in range(3)]
            model_id = (cells[0].text().strip() if cells[0] else "")
            if not model_id:
                raise BadInput(f"price row {row + 1}: give a model id ('*' for any)")
            try:
                values = [float(cells[c].text()) if cells[c] else 0.0 for c in (1, 2)]
            except ValueError:
                raise BadInput(f"price row {row + 1}: prices must be numbers") from None
            if min(values) < 0:
                raise BadInput(f"price row {row + 1}: prices cannot be negative")
            prices[model_id] = values
        return prices

    def build_spec(self) -> EndpointSpec:
        """The change to save; raises BadInput with what to fix."""
        name = self.name.text()
        registry.check_name(name, "endpoint")
        kind = self.kind.currentText()
        fields: dict[str, Any] = {
            "timeout_s": float(self.timeout.value()),
            "max_concurrency": int(self.concurrency.value()),
            "rpm": self.rpm.value() or None, "tpm": self.tpm.value() or None,
            "prices": self.read_prices(),
        }
        if kind == "openai":
            url = self.base_url.text().strip()
            if not url.startswith(("http://", "https://")):
                raise BadInput("the base URL must start with http:// or https://")
            fields["base_url"] = registry.check_base_url(url)
        else:
            fields["target"] = self.target.text().strip()
            if ":" not in fields["target"]:
                raise BadInput("the Python target must look like package.module:function")
        key_ref, key = self._key_change(kind)
        return EndpointSpec(name, self.endpoint is not None, kind, fields, key_ref, key)

    def _key_change(self, kind: str) -> tuple[str | None, str | None]:
        choice = self.key_choice
        if kind == "python":
            return ("", None) if self.endpoint is None else (None, None)
        if choice == KEEP:
            return None, None
        if choice == NO_KEY:
            return "", None
        if choice == ENV:
            return secrets.env_ref(self.env_var.text().strip()), None
        key = self.key_text.text().strip()
        if not key:
            if self.endpoint is not None and self.endpoint.api_key_ref == "keyring":
                return None, None  # keep the key already in the keyring
            raise BadInput("enter the API key to store in the keyring")
        return "keyring", key

    def _touch(self, *_args) -> None:
        if not self.touched:
            self.touched = True
            self.validate()

    def validate(self) -> bool:
        try:
            self.build_spec()
        except BadInput as exc:
            if self.touched:
                self.status.set("error", str(exc))
            self.save_button.setEnabled(not self.touched)  # pressing it shows the problem
            return False
        self.status.clear()
        self.save_button.setEnabled(True)
        return True

    # -- saving --------------------------------------------------------------------
    def submit(self) -> None:
        self.touched = True
        if not self.validate():
            return
        spec = self.build_spec()
        self.save_button.setEnabled(False)
        self.status.set("info", "Saving…")
        self._task = self.ctx.tasks.start(save_endpoint, self.ctx.store, spec,
                                          on_done=guarded(self, self._saved),
                                          on_error=guarded(self, self._failed))

    def _saved(self, endpoint: Endpoint) -> None:
        self.ctx.registry_changed.emit()
        self.saved.emit(endpoint)
        self.accept()

    def _failed(self, message: str) -> None:
        self.status.set("error", message)
        self.save_button.setEnabled(True)
