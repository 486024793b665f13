"""The main window: sidebar of pages, menus, status bar, error banner, settings, drops.

Pages are listed in ``PAGES`` as ``"module.Class"`` under ``mlops_desk.ui.pages``: adding a
page is one line there. A page is built the first time it is shown, so start-up pays only
for the page the user sees.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QSettings, QSize, Qt, QUrl
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from mlops_desk import __version__
from mlops_desk.core import runs
from mlops_desk.core.dataset_io import SUPPORTED
from mlops_desk.core.logs import get_logger
from mlops_desk.core.store import Store
from mlops_desk.ui import heap, theme
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.gateway_control import GatewayMenu
from mlops_desk.ui.pages.base import Page
from mlops_desk.ui.widgets.banner import Banner
from mlops_desk.ui.window_geometry import place_window

log = get_logger("ui.main_window")

CLOSE_GRACE_MS = 300  # how long closing waits for running tasks before asking

# Sidebar order; View > Ctrl+1.. follow it (new pages go last, so shortcuts stay put).
PAGES: tuple[str, ...] = (
    "overview.OverviewPage",
    "models.ModelsPage",
    "datasets.DatasetsPage",
    "runs.RunsPage",
    "charts.ChartsPage",
    "endpoints.EndpointsPage",
    "deployments.DeploymentsPage",
    "monitor.MonitorPage",
    "audit.AuditPage",
)


def page_class(spec: str) -> type[Page]:
    module, _, name = spec.rpartition(".")
    return getattr(importlib.import_module(f"mlops_desk.ui.pages.{module}"), name)


def dropped_files(urls: list[QUrl]) -> list[Path]:
    """Local files with a dataset suffix, in drop order."""
    files = [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]
    return [path for path in files if path.suffix.lower() in SUPPORTED]


def _load_sample(store: Store, *, on_progress: Callable[[Any], None], cancel: Any) -> Any:
    from mlops_desk.core import sample  # the caller checked that it exists

    load = sample.load_sample_workspace
    if "cancel" in inspect.signature(load).parameters:  # closing the window stops it
        return load(store, on_progress=on_progress, cancel=cancel)
    return load(store, on_progress=on_progress)


class MainWindow(QMainWindow):
    def __init__(self, store: Store, *, settings: QSettings | None = None,
                 ctx: AppContext | None = None):
        super().__init__()
        self.store = store
        self.settings = settings if settings is not None else QSettings()
        self.ctx = ctx or AppContext(store, self, settings=self.settings)
        self.page_classes = [page_class(spec) for spec in PAGES]
        self._pages: list[Page | None] = [None] * len(self.page_classes)
        self._errors: list[str] = []
        self._unsized: list[Page] = []  # pages built before the window was first shown
        self._sample_task = None
        self._recover_task = None

        self.setWindowTitle(f"MLOps Desk — {store.path.name}")
        self.setWindowIcon(theme.app_icon())
        self.setAcceptDrops(True)
        self._build_body()
        self._build_menus()
        self._build_status_bar()
        self.gateway_menu = GatewayMenu(self)  # issue 5: the local gateway, a child process

        self.ctx.error.connect(self.show_error)
        self.ctx.run_requested.connect(self.execute_run)
        self.ctx.status_message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.ctx.tasks.active_changed.connect(self._jobs_changed)
        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):  # Qt >= 6.5: follow light/dark switches
            hints.colorSchemeChanged.connect(self._scheme_changed)

        self._restore_settings()
        heap.collect_once("start-up")  # before anything else happens, not during a run
        # Mark runs a crash left 'running' as interrupted, once the first page has its data:
        # it is not urgent, and would compete with the page's load on a small machine.
        self._recovery_waits = self.ctx.tasks.active > 0
        if self._recovery_waits:
            self.ctx.tasks.active_changed.connect(self._start_recovery)
        else:
            self._start_recovery(0)

    # -- layout --------------------------------------------------------------------
    def _build_body(self) -> None:
        self.sidebar = QListWidget()
        theme.dress(self.sidebar, "sidebar")
        self.sidebar.setIconSize(QSize(20, 20))
        self.sidebar.setMinimumWidth(150)
        self.sidebar.setMaximumWidth(260)
        self.stack = QStackedWidget()
        for number, cls in enumerate(self.page_classes, start=1):
            item = QListWidgetItem(theme.page_icon(cls.icon_name or cls.title.lower()), cls.title)
            item.setToolTip(f"{cls.title} (Ctrl+{number})" if number <= 9 else cls.title)
            self.sidebar.addItem(item)
            self.stack.addWidget(QWidget())  # placeholder until the page is first shown
        self.sidebar.currentRowChanged.connect(self._row_changed)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.stack)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setCollapsible(1, False)
        self.splitter.setSizes([180, 1020])

        self.error_banner = Banner()
        self.error_banner.closed.connect(self._errors.clear)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addWidget(self.error_banner)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.import_action = self._action("&Import dataset…", "Ctrl+I", self.import_dataset,
                                          icon="import")
        self.new_run_action = self._action("&New run…", "Ctrl+R", self.new_run, icon="runs")
        self.sample_action = self._action("Load &sample workspace", None,
                                          self.load_sample_workspace)
        self.export_action = self._action("&Export report…", "Ctrl+E", self.export_report,
                                          icon="export")
        self.quit_action = self._action("&Quit", "Ctrl+Q", self.close)
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        for action in (self.import_action, self.new_run_action, self.export_action,
                       self.sample_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        view_menu = self.menuBar().addMenu("&View")
        self.page_actions = QActionGroup(self)
        for number, cls in enumerate(self.page_classes):
            shortcut = f"Ctrl+{number + 1}" if number < 9 else None
            action = self._action(cls.title, shortcut, lambda _=False, n=number: self.show_page(n))
            action.setCheckable(True)
            self.page_actions.addAction(action)
            view_menu.addAction(action)
        view_menu.addSeparator()
        self.find_action = self._action("&Find / filter", QKeySequence.StandardKey.Find,
                                        self.focus_filter)
        self.refresh_action = self._action("&Refresh", "F5",
                                           self.refresh_page, icon="refresh")
        view_menu.addAction(self.find_action)
        view_menu.addAction(self.refresh_action)

        help_menu = self.menuBar().addMenu("&Help")
        self.about_action = self._action("&About MLOps Desk", None, self.about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        help_menu.addAction(self.about_action)

    def _action(self, text: str, shortcut: Any, slot: Callable, icon: str | None = None
                ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if icon:
            action.setIcon(theme.icon(icon))
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even while the menu bar is hidden
        return action

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.db_label = QLabel(f"Database: {self.store.path}")
        self.db_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar.addWidget(self.db_label, 1)
        self.gateway_label = QLabel()  # issue 5: set_gateway_status()
        self.gateway_label.hide()
        bar.addPermanentWidget(self.gateway_label)
        self.jobs_label = QLabel()
        bar.addPermanentWidget(self.jobs_label)
        self._jobs_changed(self.ctx.tasks.active)

    # -- pages ---------------------------------------------------------------------
    @property
    def current_page(self) -> Page | None:
        return self._pages[self.stack.currentIndex()]

    def page(self, key: int | str | type[Page]) -> Page:
        """The page (built on first use) by index, class, class name or title."""
        index = self._index(key)
        page = self._pages[index]
        if page is None:
            page = self.page_classes[index](self.ctx)
            placeholder = self.stack.widget(index)
            self.stack.insertWidget(index, page)
            self.stack.removeWidget(placeholder)
            placeholder.deleteLater()
            self._pages[index] = page
            self._wire(page)
            if self.isVisible():
                self._restore_splitters(page)
            else:  # sizes are only known once shown: see showEvent
                self._unsized.append(page)
        return page

    def show_page(self, key: int | str | type[Page]) -> Page:
        index = self._index(key)
        page = self.page(index)
        if self.sidebar.currentRow() != index:
            self.sidebar.setCurrentRow(index)  # -> _row_changed
        else:
            self.stack.setCurrentIndex(index)
        return page

    def _index(self, key: int | str | type[Page]) -> int:
        if isinstance(key, int):
            return key
        for index, cls in enumerate(self.page_classes):
            if key in (cls, cls.__name__, cls.title):
                return index
        raise KeyError(f"no page {key!r}")

    def _row_changed(self, row: int) -> None:
        if row < 0:
            return
        page = self.page(row)
        self.stack.setCurrentIndex(row)
        self.page_actions.actions()[row].setChecked(True)
        page.activated()

    def _wire(self, page: Page) -> None:
        """Connect the cross-page requests a page offers (optional signals)."""
        if hasattr(page, "set_sample_action"):
            page.set_sample_action(self.sample_action)
        if hasattr(page, "open_model_requested"):
            page.open_model_requested.connect(self.open_model)

    # -- actions -------------------------------------------------------------------
    def import_dataset(self) -> None:
        self.show_page("DatasetsPage").open_import_dialog()

    def import_dataset_file(self, path: Path) -> None:
        self.show_page("DatasetsPage").import_file(path)

    def new_run(self) -> None:
        page = self.show_page("RunsPage")
        open_dialog = getattr(page, "open_start_dialog", None)
        if open_dialog is None:
            self.ctx.status_message.emit("Starting runs from the window is not available yet.")
            return
        open_dialog()

    def execute_run(self, run_id: int) -> None:
        """Execute a run recorded elsewhere (the deploy dialog's gate run) where every run
        executes, without leaving the page the user is on."""
        self.page("RunsPage").start_run(run_id)

    def open_model(self, name: str) -> None:
        page = self.show_page("ModelsPage")
        select = getattr(page, "select_model", None)
        if select is not None:
            select(name)

    def focus_filter(self) -> None:
        if self.current_page is not None:
            self.current_page.focus_filter()

    def export_report(self) -> None:
        """Ctrl+E: export what the current page shows (a run, a comparison, a model...)."""
        from mlops_desk.ui.report_export import export_current

        if not export_current(self.current_page):
            self.statusBar().showMessage("Nothing to export on this page: select a run, two "
                                         "runs, a model, or open the Audit page.", 8000)

    def refresh_page(self) -> None:
        page = self.current_page
        if page is not None:
            getattr(page, "refresh", page.activated)()

    def load_sample_workspace(self) -> None:
        try:
            from mlops_desk.core import sample
        except ImportError:
            self.show_error("The sample workspace is not part of this build.")
            return
        if not hasattr(sample, "load_sample_workspace"):
            self.show_error("The sample workspace is not part of this build.")
            return
        if self._sample_task is not None and self._sample_task.running:
            return
        self.sample_action.setEnabled(False)
        self.sample_action.setText("Loading the sample workspace…")
        self.statusBar().showMessage("Loading the sample workspace…")
        self._sample_task = self.ctx.tasks.start(
            _load_sample, self.store, on_done=self._sample_loaded,
            on_error=self._sample_failed, on_progress=self._sample_progress)

    def _sample_progress(self, value: Any) -> None:
        if isinstance(value, tuple) and len(value) == 2:
            text = f"Loading the sample workspace… {value[0]}/{value[1]}"
        else:
            text = f"Loading the sample workspace… {value}" if value else ""
        if text:
            self.statusBar().showMessage(text)

    def _sample_done(self) -> None:
        self.sample_action.setEnabled(True)
        self.sample_action.setText("Load &sample workspace")

    def _sample_loaded(self, result: Any) -> None:
        self._sample_done()
        if getattr(result, "cancelled", False):
            self.statusBar().showMessage("Loading the sample workspace was cancelled.", 8000)
        elif getattr(result, "created", True):
            self.statusBar().showMessage("Sample workspace loaded.", 8000)
        else:
            self.statusBar().showMessage("The sample workspace is already loaded.", 8000)
        for signal in (self.ctx.registry_changed, self.ctx.datasets_changed,
                       self.ctx.runs_changed, self.ctx.deployments_changed):
            signal.emit()

    def _sample_failed(self, message: str) -> None:
        self._sample_done()
        self.statusBar().clearMessage()
        self.show_error(f"Could not load the sample workspace: {message}")

    def _start_recovery(self, active: int) -> None:
        if active or self._recover_task is not None:
            return
        if self._recovery_waits:
            self._recovery_waits = False
            self.ctx.tasks.active_changed.disconnect(self._start_recovery)
        self._recover_task = self.ctx.tasks.start(
            runs.recover_interrupted, self.store, on_done=self._recovered)

    def _recovered(self, run_ids: list[int]) -> None:
        if run_ids:
            shown = ", ".join(str(i) for i in run_ids[:5]) + (" …" if len(run_ids) > 5 else "")
            self.statusBar().showMessage(
                f"Run(s) {shown} stopped when MLOps Desk last closed; resume them on the "
                "Runs page.", 15000)
            self.ctx.runs_changed.emit()

    def about(self) -> None:
        from PySide6 import __version__ as qt_version

        QMessageBox.about(
            self, "About MLOps Desk",
            f"<b>MLOps Desk {__version__}</b><p>A registry, test runs, charts and deploys "
            f"for the models a team runs in production.</p><p>Database: {self.store.path}"
            f"<br>PySide6 {qt_version}</p>")

    # -- status and errors ---------------------------------------------------------
    def show_error(self, message: str) -> None:
        """A readable, non-blocking error strip; repeated errors are kept in its tooltip."""
        log.warning("shown to the user: %s", message)
        self._errors.append(message)
        earlier = len(self._errors) - 1
        text = message if not earlier else f"{message}  (and {earlier} earlier)"
        self.error_banner.show_message(text, "error")
        self.error_banner.setToolTip("\n".join(self._errors[-10:]))

    def set_gateway_status(self, text: str, tooltip: str = "") -> None:
        """For issue 5: the local gateway's state in the status bar (empty text hides it)."""
        self.gateway_label.setText(text)
        self.gateway_label.setToolTip(tooltip or text)
        self.gateway_label.setVisible(bool(text))

    def _jobs_changed(self, active: int) -> None:
        self.jobs_label.setText("No jobs running" if active == 0 else
                                f"{active} job{'s' if active != 1 else ''} running")

    # -- drag and drop -------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if mime.hasUrls() and dropped_files(mime.urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = dropped_files(event.mimeData().urls()) if event.mimeData().hasUrls() else []
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        if len(files) > 1:
            self.ctx.status_message.emit(f"Importing {files[0].name}; drop one file at a time.")
        self.import_dataset_file(files[0])

    # -- theme ---------------------------------------------------------------------
    def _scheme_changed(self, *_args: Any) -> None:
        theme.refresh()
        theme.redress(self)  # re-resolves palette(...) colours
        self._retint()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            theme.refresh()
            self._retint()
        super().changeEvent(event)

    def _retint(self) -> None:
        for row, cls in enumerate(self.page_classes):
            self.sidebar.item(row).setIcon(theme.page_icon(cls.icon_name or cls.title.lower()))

    # -- settings and closing ------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.settings
        # First start (or a saved screen that is gone): 80% of the screen, centred.
        self.geometry_restored = place_window(self, s.value("window/geometry"))
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)
        splitter = s.value("window/splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        last = s.value("window/page", "Overview")
        try:
            index = self._index(str(last))
        except KeyError:  # a page that no longer exists
            index = 0
        self.show_page(index)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        pages, self._unsized = self._unsized, []
        for page in pages:
            self._restore_splitters(page)

    def _restore_splitters(self, page: Page) -> None:
        # Lay the page out at its real size first: a splitter restored while it has another
        # size shifts its panes on the next resize (by stretch factor, not proportionally).
        page.resize(self.stack.contentsRect().size())
        if page.layout() is not None:
            page.layout().activate()
        for splitter in page.findChildren(QSplitter):
            if splitter.objectName():
                state = self.settings.value(self._splitter_key(page, splitter))
                if state is not None:
                    splitter.restoreState(state)

    def _splitter_key(self, page: Page, splitter: QSplitter) -> str:
        return f"splitters/{type(page).__name__}/{splitter.objectName()}"

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/splitter", self.splitter.saveState())
        s.setValue("window/page", self.page_classes[self.stack.currentIndex()].title)
        for page in self._pages:
            if page is None:
                continue
            for splitter in page.findChildren(QSplitter):
                if splitter.objectName():
                    s.setValue(self._splitter_key(page, splitter), splitter.saveState())
        s.sync()

    def confirm_close(self, active: int) -> bool:
        """Ask before cancelling running jobs (tests replace QMessageBox.question)."""
        noun = "job is" if active == 1 else "jobs are"
        answer = QMessageBox.question(
            self, "Quit MLOps Desk?",
            f"{active} {noun} still running (loading or importing). Quit anyway? "
            "They stop; test runs are not among them.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def ask_about_runs(self, count: int) -> str:
        """Runs are going: "keep" them running (the default), "cancel" them, or "stay".

        Tests replace this method.
        """
        noun = "run is" if count == 1 else "runs are"
        box = QMessageBox(QMessageBox.Icon.Question, "Quit MLOps Desk?",
                          f"{count} test {noun} still going. Keep running in the background? "
                          "The Runs page shows their progress again when you come back; "
                          "'mlops-desk run cancel ID' stops one.", parent=self)
        keep = box.addButton("Keep running", QMessageBox.ButtonRole.AcceptRole)
        cancel = box.addButton("Cancel runs", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)
        box.exec()
        clicked = box.clickedButton()
        return "keep" if clicked is keep else "cancel" if clicked is cancel else "stay"

    def _run_jobs(self):
        """The Runs page's runs, if that page was built (else this window runs none)."""
        from mlops_desk.ui.pages.runs import RunsPage

        for page in self._pages:
            if isinstance(page, RunsPage):
                return page.jobs
        return None

    def closeEvent(self, event: QCloseEvent) -> None:
        jobs = self._run_jobs()
        going = len(jobs.active_ids) if jobs is not None else 0
        choice = self.ask_about_runs(going) if going else "keep"
        if choice == "stay":
            event.ignore()
            return
        active = self.ctx.tasks.active
        # A page load about to finish is not worth a question: give tasks a moment first.
        busy = active and not self.ctx.tasks.pool.waitForDone(CLOSE_GRACE_MS)
        if busy and not self.confirm_close(active):
            event.ignore()
            return
        if jobs is not None:  # runs are processes of their own: they go on, or stop, alone
            jobs.let_go(cancel=choice == "cancel")
        self.save_settings()
        if not self.ctx.tasks.shutdown():
            log.warning("some tasks did not stop within the shutdown timeout")
        self.gateway_menu.control.stop(wait=True)  # no gateway process outlives the window
        event.accept()
