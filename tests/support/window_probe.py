"""Open the main window in a fresh process and print where it opened, as JSON.

``python -m tests.support.window_probe SETTINGS DB [--move X Y W H]``: opens MainWindow on
DB with the settings file SETTINGS, prints ``{"x", "y", "width", "height", "screen",
"restored"}``, optionally moves it, then closes it (which saves its geometry). A process of
its own because the screens are chosen when Qt starts (QT_QPA_PLATFORM's offscreen
``configfile``), and the test session's screens are fixed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from mlops_desk.core.store import Store
from mlops_desk.ui.main_window import MainWindow


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("settings", type=Path)
    parser.add_argument("db", type=Path)
    parser.add_argument("--move", type=int, nargs=4, metavar=("X", "Y", "W", "H"))
    args = parser.parse_args()
    app = QApplication([])
    store = Store(args.db)
    window = MainWindow(store, settings=QSettings(str(args.settings),
                                                  QSettings.Format.IniFormat))
    window.show()
    app.processEvents()
    rect = window.geometry()
    print(json.dumps({"x": rect.x(), "y": rect.y(), "width": rect.width(),
                      "height": rect.height(), "screen": window.screen().name(),
                      "restored": window.geometry_restored}))
    if args.move:
        window.setGeometry(*args.move)
        app.processEvents()
    deadline = time.monotonic() + 10
    while window.ctx.tasks.active and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    window.close()
    store.close()


if __name__ == "__main__":
    main()
