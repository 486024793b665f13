"""Charts benchmark: 10,000 runs on the time-series chart (offscreen Qt).

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_charts.py

Prints the first paint of all four panels, the slowest single event-loop turn while they
are built, the mean repaint after a zoom (a fresh downsample) and one hover look-up.
Targets: first paint < 3 s, one turn < 1 s, repaint < 0.5 s, hover < 50 ms.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from mlops_desk.ui.widgets.chart_timeseries import TimeSeriesChart
from tests.gui.synthetic_charts import synthetic


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    chart = TimeSeriesChart()
    chart.resize(1200, 800)
    chart.show()
    app.processEvents()
    data = synthetic(10_000)

    started = time.perf_counter()
    chart.set_data(data)
    slowest_turn = time.perf_counter() - started  # the first panel, built and painted
    while chart.drawing:
        turn = time.perf_counter()
        chart._draw_next()
        slowest_turn = max(slowest_turn, time.perf_counter() - turn)
    chart.grab()
    first_paint = time.perf_counter() - started

    plot = chart.plots["accuracy"]
    series = data.series[0]
    started = time.perf_counter()
    for step in range(5):  # zooming in and out repaints with a fresh downsample
        plot.vb.setXRange(series.x[step * 1000], series.x[-1])
        chart.grab()
    repaint = (time.perf_counter() - started) / 5

    started = time.perf_counter()
    chart.hover_at("accuracy", series.x[5000], series.values["accuracy"][5000] * 100)
    hover = time.perf_counter() - started
    assert chart.hovered == ("big", 5000), chart.hovered

    print(f"first_paint_s={first_paint:.3f} (target < 3)")
    print(f"slowest_turn_s={slowest_turn:.3f} (target < 1)")
    print(f"repaint_s={repaint:.3f} (target < 0.5)")
    print(f"hover_ms={hover * 1000:.1f} (target < 50)")
    chart.close()
    chart.deleteLater()


if __name__ == "__main__":
    main()
