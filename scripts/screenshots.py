"""Render every page of the sample workspace to PNG files for the README.

    .venv/bin/python scripts/screenshots.py            # both sizes, see below
    .venv/bin/python scripts/screenshots.py --out DIR --size 1280x800
    xvfb-run -a -s '-screen 0 1920x1080x24' env QT_QPA_PLATFORM=xcb \
        .venv/bin/python scripts/screenshots.py          # on a virtual X screen

Runs offscreen unless QT_QPA_PLATFORM says otherwise, on a throw-away database and settings
file, waits until each page has loaded its data, then grabs the whole window at each size:
1280x800 into docs/screenshots/, any other size into a folder named after it
(docs/screenshots/1920x1080/). PNGs are written at the highest compression.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Extra views beyond one shot per page: (file stem, page title, action before the grab).
EXTRA_SHOTS = (
    ("runs-confusion", "Runs", "show_confusion"),
    ("runs-compare", "Runs", "compare_versions"),
)
SIZES = ("1280x800", "1920x1080")  # the first goes into --out itself, others a folder each
# What to select on a page before its shot, so it shows more than an empty detail pane.
PAGE_ACTIONS = {"Models": "select_model", "Datasets": "select_dataset",
                "Runs": "select_best_run", "Endpoints": "select_endpoint",
                "Audit": "verify_audit"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--size", action="append", metavar="WIDTHxHEIGHT",
                        help=f"window size (repeatable; default {' and '.join(SIZES)})")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from mlops_desk.core.sample import load_sample_workspace
    from mlops_desk.core.store import Store
    from mlops_desk.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("MLOps Desk")
    for size in args.size or SIZES:
        out = args.out if size == SIZES[0] else args.out / size
        out.mkdir(parents=True, exist_ok=True)
        width, height = (int(v) for v in size.lower().split("x"))
        shoot(app, out, width, height, load_sample_workspace, Store, QSettings, MainWindow)
    return 0


def shoot(app, out: Path, width: int, height: int, load_sample_workspace, Store, QSettings,
          MainWindow) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "registry.db")
        load_sample_workspace(store)
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(store, settings=settings)
        window.resize(width, height)
        window.show()
        settle(app, window)
        pages = [(cls.title.lower(), cls.title, PAGE_ACTIONS.get(cls.title))
                 for cls in window.page_classes]  # every page the window has
        for stem, title, action in [*pages, *EXTRA_SHOTS]:
            page = window.show_page(title)
            settle(app, window)
            if action:
                ACTIONS[action](page)
                settle(app, window)
            path = out / f"{stem}.png"
            if not window.grab().save(str(path), "PNG", 0):  # 0: the highest compression
                raise OSError(f"could not write {path}")
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        window.ctx.tasks.shutdown()
        window.close()
        store.close()


def settle(app, window, timeout_s: float = 15.0) -> None:
    """Process events until no task runs and nothing is left to deliver."""
    deadline = time.monotonic() + timeout_s
    quiet = 0
    while time.monotonic() < deadline:
        app.processEvents()
        busy = window.ctx.tasks.active > 0
        quiet = 0 if busy else quiet + 1
        if quiet >= 20:  # idle for a while: lazy loads that start on show have started
            return
        time.sleep(0.01)
    raise TimeoutError("the window did not settle within the time limit")


def _select_first_row(view) -> None:
    if view.model() is not None and view.model().rowCount() > 0:
        view.setCurrentIndex(view.model().index(0, 0))


def select_model(page) -> None:
    _select_first_row(page.model_list)
    if getattr(page, "table", None) is not None:
        page.table.selectRow(page.table.model().rowCount() - 1)


def select_dataset(page) -> None:
    _select_first_row(page.dataset_list)


def select_endpoint(page) -> None:
    _select_first_row(page.endpoint_list)


def _runs(page) -> list:
    return [page.model.record(i) for i in range(page.model.rowCount())]


def select_best_run(page) -> None:
    best = max((r for r in _runs(page) if r.status == "completed"),
               key=lambda r: (r.version, r.id))
    page.select_runs([best.id])


def show_confusion(page) -> None:
    select_best_run(page)
    page.detail.tabs.setCurrentIndex(1)


def compare_versions(page) -> None:
    done = [r for r in _runs(page) if r.status == "completed"]
    newest: Callable = lambda v: max(r.id for r in done if r.version == v)  # noqa: E731
    page.detail.tabs.setCurrentIndex(0)
    page.select_runs([newest(1), newest(3)])


def verify_audit(page) -> None:
    page.verify()


ACTIONS = {name: globals()[name] for name in (
    "select_model", "select_dataset", "select_endpoint", "select_best_run", "show_confusion",
    "compare_versions", "verify_audit")}


if __name__ == "__main__":
    sys.exit(main())
