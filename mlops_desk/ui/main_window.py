"""The main window. The desktop issue builds the pages; this is the frame."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow

from mlops_desk import __version__
from mlops_desk.core.store import Store


class MainWindow(QMainWindow):
    def __init__(self, store: Store):
        super().__init__()
        self.store = store
        self.setWindowTitle(f"MLOps Desk {__version__}")
        self.resize(1200, 800)
        placeholder = QLabel("MLOps Desk: the pages are on their way; the CLI works now.")
        placeholder.setMargin(24)
        self.setCentralWidget(placeholder)
        self.statusBar().showMessage(f"Database: {store.path}")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        self.menuBar().addMenu("&File").addAction(quit_action)
