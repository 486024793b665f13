"""Column fitting benchmark: one ``readable_table`` pass over a 10,000-row, 9-column table.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_table_fit.py

The pass runs on the GUI thread after every reload of a table, so it must stay short.
Target: < 50 ms.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QApplication, QTableView

from mlops_desk.ui.widgets.table_columns import readable_table

ROWS, COLUMNS, REPEATS = 10_000, 9, 5


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    model = QStandardItemModel(ROWS, COLUMNS)
    for row in range(ROWS):
        for column in range(COLUMNS):
            text = f"review-sentiment:{row % 7} row {row} column {column}" * (1 + column % 3)
            model.setItem(row, column, QStandardItem(text))
    view = QTableView()
    view.setModel(model)
    fitter = readable_table(view)
    view.resize(1000, 600)
    view.show()
    app.processEvents()
    started = time.perf_counter()
    for _ in range(REPEATS):
        fitter.fit()
    elapsed_ms = (time.perf_counter() - started) / REPEATS * 1000
    print(f"fit {ROWS:,} rows x {COLUMNS} columns: {elapsed_ms:.1f} ms per pass (target < 50)")
    view.close()


if __name__ == "__main__":
    main()
