"""Start the desktop application (``mlops-desk`` with no subcommand)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HEADLESS_HINT = (
    "no display found: run 'xvfb-run mlops-desk' for a virtual screen, set "
    "QT_QPA_PLATFORM=offscreen to run without one, or use the CLI ('mlops-desk --help')"
)


def display_available() -> bool:
    """False on Linux/BSD with neither X11 nor Wayland and no explicit Qt platform."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform.startswith(("linux", "freebsd", "openbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def launch(db_path: Path | None) -> int:
    from mlops_desk.core.error_line import print_error as error

    if not display_available():
        error(HEADLESS_HINT)
        return 2
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:  # Qt's system libraries are missing
        error(f"cannot load Qt ({exc}); install the system libraries listed in the README")
        return 2
    from mlops_desk.core.errors import MlopsError
    from mlops_desk.core.logs import setup_logging
    from mlops_desk.core.store import Store
    from mlops_desk.ui import theme
    from mlops_desk.ui.main_window import MainWindow

    setup_logging()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("MLOps Desk")
    app.setOrganizationName("mlops-desk")  # QSettings() files live under this name
    app.setDesktopFileName("mlops-desk")
    app.setWindowIcon(theme.app_icon())
    try:
        store = Store(db_path)
    except MlopsError as exc:
        error(str(exc))
        return exc.exit_code
    window = MainWindow(store)  # it recovers runs a crash left 'running', in a task
    window.show()
    try:
        return app.exec()
    finally:
        store.close()
