"""Start and stop the local gateway from the app: ``mlops-desk serve`` as a child process.

A child process rather than a thread: the gateway's event loop and request log then never
compete with the GUI for the GIL, and it serves exactly what the CLI serves. We read its
``serving URL`` line to know the address (port 0 picks a free port). The controller belongs
to the app context (``gateway_for``); the main window stops it when it closes, so no
gateway outlives the app.
"""

from __future__ import annotations

import re
import sys
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication

from mlops_desk.core.gateway_address import DEFAULT_HOST, DEFAULT_PORT
from mlops_desk.core.logs import get_logger

log = get_logger("ui.gateway")

STOPPED = "stopped"
STARTING = "starting"
RUNNING = "running"
STOPPING = "stopping"
FAILED = "failed"
_SERVING = re.compile(r"^serving (\S+)")
START_TIMEOUT_MS = 30_000
STOP_TIMEOUT_MS = 5_000


def serve_command(db_path: Path | str, host: str, port: int) -> tuple[str, list[str]]:
    """The program and arguments that run ``mlops-desk serve`` with this interpreter."""
    args = ["serve", "--db", str(db_path), "--host", host, "--port", str(port)]
    if getattr(sys, "frozen", False):  # a PyInstaller build: the executable is the CLI
        return sys.executable, args
    return sys.executable, ["-m", "mlops_desk", *args]


class GatewayControl(QObject):
    state_changed = Signal(str)

    def __init__(self, db_path: Path | str, parent: QObject | None = None, *,
                 host: str = DEFAULT_HOST, port: int = DEFAULT_PORT):
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.host, self.port = host, port
        self.state = STOPPED
        self.url = ""
        self.error = ""
        self._stderr: deque[str] = deque(maxlen=20)
        self._stop_requested = False
        self._process: QProcess | None = None
        self._start_timer = QTimer(self)
        self._start_timer.setSingleShot(True)
        self._start_timer.timeout.connect(self._start_timed_out)
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill)

    # -- state -----------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """A child process exists (starting, running or stopping)."""
        return self.state in (STARTING, RUNNING, STOPPING)

    @property
    def pid(self) -> int | None:
        if self._process is None:
            return None
        return self._process.processId() or None

    def status_text(self) -> tuple[str, str]:
        """(status-bar text, tooltip)."""
        if self.state == RUNNING:
            return (f"Gateway: {self.url}", f"The local gateway serves deployed versions at "
                    f"{self.url} (OpenAI API); stop it from the Gateway menu")
        if self.state == FAILED:
            return "Gateway: failed", self.error or "The gateway stopped unexpectedly"
        if self.state == STARTING:
            return "Gateway: starting…", f"Starting on {self.host}:{self.port}"
        if self.state == STOPPING:
            return "Gateway: stopping…", "Stopping the local gateway"
        return "Gateway: stopped", "Start the local gateway from the Gateway menu"

    def _set_state(self, state: str) -> None:
        if state != STARTING:
            self._start_timer.stop()
        if state in (STOPPED, FAILED):
            self._kill_timer.stop()
        self.state = state
        self.state_changed.emit(state)

    # -- start / stop ----------------------------------------------------------------------
    def start(self, port: int | None = None) -> None:
        if self.active:
            return
        if port is not None:
            self.port = port
        program, args = serve_command(self.db_path, self.host, self.port)
        self.url, self.error = "", ""
        self._stderr.clear()
        self._stop_requested = False
        process = QProcess(self)
        process.setProgram(program)
        process.setArguments(args)
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._error)
        self._process = process
        self._set_state(STARTING)
        self._start_timer.start(START_TIMEOUT_MS)
        log.info("starting the gateway: %s %s", program, " ".join(args))
        process.start()

    def stop(self, *, wait: bool = False) -> None:
        """Ask the child to stop (SIGTERM: it finishes in-flight requests), killing it if
        it does not within a few seconds. ``wait`` blocks until it has ended (on close)."""
        process = self._process
        if process is None or process.state() == QProcess.ProcessState.NotRunning:
            return
        self._stop_requested = True
        if self.state != STOPPING:
            self._set_state(STOPPING)
            if sys.platform == "win32":  # no SIGTERM for a console child there
                process.kill()
            else:
                process.terminate()
            self._kill_timer.start(STOP_TIMEOUT_MS)
        if wait and not process.waitForFinished(STOP_TIMEOUT_MS):
            process.kill()
            process.waitForFinished(STOP_TIMEOUT_MS)

    def _kill(self) -> None:
        if self._process is not None and self._process.state() != QProcess.ProcessState.NotRunning:
            log.warning("the gateway did not stop in time: killing it")
            self._process.kill()

    def _start_timed_out(self) -> None:
        self.error = f"the gateway did not start within {START_TIMEOUT_MS // 1000} s"
        self._stop_requested = False
        if self._process is not None:
            self._process.kill()

    # -- the child's output ----------------------------------------------------------------
    def _read_stdout(self) -> None:
        process = self._process
        if process is None:
            return
        while process.canReadLine():
            line = bytes(process.readLine().data()).decode(errors="replace").strip()
            match = _SERVING.match(line)
            if match and self.state == STARTING:
                self.url = match.group(1)
                log.info("gateway serving %s (pid %s)", self.url, self.pid)
                self._set_state(RUNNING)

    def _read_stderr(self) -> None:
        process = self._process
        if process is None:
            return
        text = bytes(process.readAllStandardError().data()).decode(errors="replace")
        self._stderr.extend(line.strip() for line in text.splitlines() if line.strip())

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.error = f"cannot run {self._process.program()}: {self._process.errorString()}"
            self._cleanup()
            self._set_state(FAILED)

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read_stderr()
        expected = self._stop_requested
        self._cleanup()
        if expected or (code == 0 and status == QProcess.ExitStatus.NormalExit):
            self._set_state(STOPPED)
            return
        reasons = [line for line in self._stderr if not line.startswith("press Ctrl+C")]
        self.error = self.error or (reasons[-1] if reasons else f"exited with code {code}")
        log.warning("the gateway stopped: %s", self.error)
        self._set_state(FAILED)

    def _cleanup(self) -> None:
        if self._process is not None:
            self._process.deleteLater()
            self._process = None


def gateway_for(ctx) -> GatewayControl:
    """The app's one gateway controller (created on first use, owned by the context)."""
    control = getattr(ctx, "gateway", None)
    if control is None:
        control = GatewayControl(ctx.store.path, ctx)
        ctx.gateway = control
    return control



class GatewayMenu(QObject):
    """The main window's "Gateway" menu (Start, Stop, Copy URL) and its status-bar state."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.control = gateway_for(window.ctx)
        bar = window.menuBar()
        self.menu = bar.addMenu("&Gateway")
        menus = [a for a in bar.actions() if a.menu() is not None]
        if len(menus) >= 2:  # keep Help last
            bar.insertMenu(menus[-2], self.menu)
        self.start_action = QAction("&Start gateway", window)
        self.start_action.triggered.connect(self.start)
        self.stop_action = QAction("S&top gateway", window)
        self.stop_action.triggered.connect(self.stop)
        self.copy_action = QAction("&Copy gateway URL", window)
        self.copy_action.triggered.connect(self.copy_url)
        for action in (self.start_action, self.stop_action, self.copy_action):
            self.menu.addAction(action)
        self.control.state_changed.connect(self._update)
        self._update(self.control.state)

    def start(self) -> None:
        self.control.start()

    def stop(self) -> None:
        self.control.stop()

    def copy_url(self) -> None:
        QGuiApplication.clipboard().setText(self.control.url)

    def _update(self, state: str) -> None:
        self.window.set_gateway_status(*self.control.status_text())
        self.start_action.setEnabled(state in (STOPPED, FAILED))
        self.stop_action.setEnabled(state in (STARTING, RUNNING))
        self.copy_action.setEnabled(state == RUNNING)
