"""``mlops-desk --self-test``: does this install work?

Runs the program's main paths against a temporary registry, never the user's: the store
and its migrations, the Parquet and XLSX readers, the shipped sample workspace (dataset,
python endpoint, run engine, deploys), a short batch, the gateway as the app starts it
(``mlops-desk serve`` in a child process on a free loopback port, queried with the OpenAI
SDK), then the main window and each page once. Without a display it renders offscreen.
One line per check; the exit code is 0 only if every check passed. The build scripts run
it on the frozen executable, and it is the first thing to try when an installed copy
misbehaves.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from mlops_desk import __version__

BATCH_ROWS = 20
FORMAT_ROWS = 5
GATEWAY_START_S = 30.0
PAGE_LOAD_S = 20.0
# What Qt's offscreen plugin says about every window; it is not a fault of the install.
PLATFORM_NOISE = ("This plugin does not support propagateSizeHints",
                  "QStandardPaths: XDG_RUNTIME_DIR not set")


class CheckFailed(Exception):
    """A check's plain-words reason for failing."""


class SelfTest:
    def __init__(self, workdir: Path, out: TextIO):
        self.workdir = workdir
        self.db_path = workdir / "registry.db"
        self.out = out
        self.store: Any = None
        self.results: list[bool] = []

    def check(self, name: str, fn: Callable[[], str]) -> bool:
        """Run one check and print ``PASS|FAIL  name: detail (seconds)``."""
        start = time.perf_counter()
        try:
            detail, ok = fn(), True
        except CheckFailed as exc:
            detail, ok = str(exc), False
        except Exception as exc:  # a self-test reports bugs as failures, it does not crash
            detail, ok = f"{type(exc).__name__}: {exc}", False
        seconds = time.perf_counter() - start
        first_line = (detail.strip().splitlines() or [""])[0]
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {first_line} ({seconds:.2f} s)",
              file=self.out, flush=True)
        self.results.append(ok)
        return ok

    # -- the checks ----------------------------------------------------------------------
    def registry(self) -> str:
        from mlops_desk.core.store import Store

        self.store = Store(self.db_path)
        return f"created {self.db_path.name} in a temporary folder"

    def sample(self) -> str:
        from mlops_desk.core.sample import load_sample_workspace

        summary = load_sample_workspace(self.store)
        if not summary.created or summary.cancelled:
            raise CheckFailed("the sample workspace was not created")
        return (f"model {summary.model}, versions {len(summary.versions)}, "
                f"dataset {summary.dataset}, {len(summary.run_ids)} runs")

    def batch(self) -> str:
        from mlops_desk.core import registry, runner, runs, sample
        from mlops_desk.core.datasets import get_dataset

        version = registry.get_version(self.store, sample.MODEL, len(sample.VERSIONS))
        dataset = get_dataset(self.store, sample.DATASET)
        options = runner.RunOptions(limit=BATCH_ROWS, use_cache=False)
        run_id = runner.create_run(self.store, version, dataset, options)
        runner.execute(self.store, run_id)
        run = runs.get_run(self.store, run_id)
        if run.status != "completed":
            raise CheckFailed(f"run {run_id} ended {run.status}")
        metrics = run.metrics or {}
        done = metrics.get("n_rows")
        if done != BATCH_ROWS or metrics.get("n_errors"):
            raise CheckFailed(f"run {run_id}: {done} rows, {metrics.get('n_errors')} errors")
        return (f"{done} rows through the local python endpoint {sample.ENDPOINT}, "
                f"accuracy {metrics.get('accuracy', 0):.2f}")

    def dataset_formats(self) -> str:
        """Parquet and XLSX round trips: the readers load pyarrow and openpyxl, which a
        frozen build could have left out without any other check noticing."""
        import pandas as pd

        from mlops_desk.core.dataset_io import read_table
        from mlops_desk.core.sample import reviews_csv

        with reviews_csv() as path:
            expected = read_table(path)
        frame = pd.DataFrame(expected.rows[:FORMAT_ROWS], columns=expected.columns)
        formats = {".xlsx": frame.to_excel}
        if importlib.util.find_spec("pyarrow") is not None:  # the installers leave it out
            formats[".parquet"] = frame.to_parquet
        for suffix, write in formats.items():
            target = self.workdir / f"reviews{suffix}"
            write(target, index=False)
            table = read_table(target)
            if table.columns != expected.columns or table.rows != expected.rows[:FORMAT_ROWS]:
                raise CheckFailed(f"{target.name} read back differently from reviews.csv")
        read = ", ".join(["CSV", *(suffix[1:].upper() for suffix in formats)])
        absent = "" if ".parquet" in formats else "; Parquet is not part of this build"
        return f"{read} read back alike ({FORMAT_ROWS} rows each){absent}"

    def gateway(self) -> str:
        import openai

        from mlops_desk.core import sample

        with (serving(self.db_path, self.workdir) as url,
              openai.OpenAI(base_url=url, api_key="unused", max_retries=0,
                            timeout=15) as client):
            models = {m.id for m in client.models.list()}
            reply = client.chat.completions.create(
                model=sample.MODEL,
                messages=[{"role": "user", "content": "Great screen, lovely battery."}])
        answer = (reply.choices[0].message.content or "").strip()
        if sample.MODEL not in models:
            raise CheckFailed(f"/v1/models does not list {sample.MODEL}")
        if answer not in sample.LABELS:
            raise CheckFailed(f"unexpected answer {answer[:40]!r}")
        return f"{url} answered {answer!r} for {sample.MODEL} (production)"

    def window_checks(self) -> None:
        """The main window, then each page once; one line each."""
        holder: list[Any] = []  # the window check hands its window to the page checks
        with quiet_platform_noise():
            self._window_checks(holder)

    def _window_checks(self, holder: list[Any]) -> None:
        try:
            if not self.check("window", lambda: self._open_window(holder)):
                return
            window = holder[0]
            for index, cls in enumerate(window.page_classes):
                self.check(f"page {cls.title}", lambda i=index: self._show_page(window, i))
        finally:
            if holder:
                self._close_window(holder[0])

    def _open_window(self, holder: list) -> str:
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        from mlops_desk.ui import theme
        from mlops_desk.ui.main_window import MainWindow

        app = QApplication.instance() or QApplication(sys.argv[:1])
        app.setWindowIcon(theme.app_icon())
        settings = QSettings(str(self.workdir / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(self.store, settings=settings)
        holder.append(window)
        with slot_exceptions() as raised:
            window.show()
            _wait(lambda: window.ctx.tasks.active == 0, PAGE_LOAD_S)
        if raised:
            raise CheckFailed(f"{type(raised[0]).__name__}: {raised[0]}")
        if window.grab().isNull():
            raise CheckFailed("the window did not render")
        platform = app.platformName()
        return f"{window.width()}×{window.height()} px on the {platform} platform"

    def _show_page(self, window: Any, index: int) -> str:
        with slot_exceptions() as raised:
            page = window.show_page(index)
            loaded = _wait(lambda: window.ctx.tasks.active == 0, PAGE_LOAD_S)
        if raised:  # a slot's exception: Qt only prints it, the page looks fine otherwise
            exc = raised[0]
            raise CheckFailed(f"{type(exc).__name__}: {exc}")
        if not loaded:
            raise CheckFailed(f"its data did not load within {PAGE_LOAD_S:g} s")
        if not window.error_banner.isHidden():  # what the user would see as an error strip
            raise CheckFailed(window.error_banner.text)
        image = page.grab()
        if image.isNull() or image.width() < 50:
            raise CheckFailed("the page did not render")
        return f"rendered {image.width()}×{image.height()} px"

    def _close_window(self, window: Any) -> None:
        _wait(lambda: window.ctx.tasks.active == 0, PAGE_LOAD_S)
        window.close()
        window.deleteLater()
        from PySide6.QtWidgets import QApplication

        QApplication.processEvents()

    def run(self) -> bool:
        start = time.perf_counter()
        print(f"mlops-desk {__version__} self-test ({sys.platform}, Python "
              f"{sys.version.split()[0]}{', frozen' if getattr(sys, 'frozen', False) else ''})",
              file=self.out, flush=True)
        try:
            if self.check("registry", self.registry):
                self.check("dataset formats", self.dataset_formats)
                if self.check("sample workspace", self.sample):
                    self.check("batch", self.batch)
                    self.check("gateway", self.gateway)
                self.window_checks()
        finally:
            if self.store is not None:
                self.store.close()
        passed = sum(self.results)
        total = len(self.results)
        verdict = "passed" if passed == total else "FAILED"
        print(f"self-test {verdict}: {passed}/{total} checks in "
              f"{time.perf_counter() - start:.1f} s", file=self.out, flush=True)
        return passed == total


@contextmanager
def slot_exceptions() -> Iterator[list[BaseException]]:
    """Collect exceptions raised in Qt slots (PySide hands them to ``sys.excepthook``)."""
    raised: list[BaseException] = []
    previous = sys.excepthook

    def hook(kind, exc, tb) -> None:
        raised.append(exc)
        previous(kind, exc, tb)

    sys.excepthook = hook
    try:
        yield raised
    finally:
        sys.excepthook = previous


@contextmanager
def quiet_platform_noise() -> Iterator[None]:
    """Drop Qt's known offscreen-plugin chatter, so the output stays one line per check."""
    from PySide6.QtCore import qInstallMessageHandler

    previous = None

    def handler(kind, context, message: str) -> None:
        if message.startswith(PLATFORM_NOISE):
            return
        if previous is not None:
            previous(kind, context, message)
        else:
            print(message, file=sys.stderr)

    previous = qInstallMessageHandler(handler)
    try:
        yield
    finally:
        qInstallMessageHandler(previous)


def _wait(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Process Qt events until ``condition`` holds; False on time-out."""
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        QApplication.processEvents()
        time.sleep(0.005)
    QApplication.processEvents()
    return True


@contextmanager
def serving(db_path: Path, workdir: Path) -> Iterator[str]:
    """``mlops-desk serve`` on a free loopback port, as the app starts it; yields its URL."""
    from mlops_desk.ui.gateway_control import serve_command

    program, args = serve_command(db_path, "127.0.0.1", 0)
    env = {**os.environ, "MLOPS_DESK_LOG_DIR": str(workdir / "logs")}
    env.pop("MLOPS_DESK_GATEWAY_TOKEN", None)
    process = subprocess.Popen([program, *args], env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    # A daemon reader: a pipe read cannot time out portably, and the line may never come.
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout],
                     daemon=True).start()
    try:
        try:
            line = lines.get(timeout=GATEWAY_START_S)
        except queue.Empty:
            line = ""
        if not line.startswith("serving "):
            process.kill()
            err = process.communicate(timeout=10)[1].strip().splitlines()
            raise CheckFailed(f"the gateway did not start: {err[-1] if err else 'no output'}")
        yield line.split()[1]
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def run_self_test(out: TextIO | None = None) -> int:
    """0 if every check passed, else 1. Renders offscreen when there is no display."""
    from mlops_desk.ui.launch import display_available

    if not display_available():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    with tempfile.TemporaryDirectory(prefix="mlops-desk-self-test-") as workdir:
        ok = SelfTest(Path(workdir), out or sys.stdout).run()
    return 0 if ok else 1
