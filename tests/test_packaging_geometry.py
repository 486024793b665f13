"""Where the main window opens: 80% of the screen on a first start, the saved place later,
and back on a screen when the saved one is gone or the saved geometry is unreadable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PySide6.QtCore import QByteArray, QRect, QSize

from mlops_desk.ui.window_geometry import (
    LAYOUT_MINIMUM,
    first_start_rect,
    on_some_screen,
)
from tests.gui.conftest import make_window, settings  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[1]


def _screen(name: str, x: int) -> dict:
    return {"name": name, "x": x, "y": 0, "width": 1600, "height": 1000, "logicalDpi": 96,
            "logicalBaseDpi": 96, "dpr": 1}


def probe(tmp_path: Path, screens: list[dict], *move: int) -> dict:
    """The window in a process of its own, whose offscreen platform has ``screens``."""
    config = tmp_path / f"screens-{len(screens)}.json"
    config.write_text(json.dumps({"screens": screens}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
           "MLOPS_DESK_LOG_DIR": str(tmp_path / "logs")}
    args = [sys.executable, "-m", "tests.support.window_probe", str(tmp_path / "settings.ini"),
            str(tmp_path / "registry.db")]
    if move:
        args += ["--move", *map(str, move)]
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.slow  # two fresh processes that open the window (~2 s each when idle)
def test_first_start_fills_80_percent_then_a_lost_screen_falls_back(tmp_path: Path) -> None:
    two = [_screen("left", 0), _screen("right", 1600)]
    first = probe(tmp_path, two, 1800, 100, 1200, 700)  # then moved to the right screen
    assert first == {"x": 160, "y": 100, "width": 1280, "height": 800, "screen": "left",
                     "restored": False}

    unplugged = probe(tmp_path, [_screen("left", 0)])  # the right monitor is gone
    window = QRect(unplugged["x"], unplugged["y"], unplugged["width"], unplugged["height"])
    assert unplugged["screen"] == "left" and unplugged["width"] == 1200
    assert QRect(0, 0, 1600, 1000).contains(window), window


def test_an_unreadable_saved_geometry_gives_the_first_start_placement(
        make_window, settings) -> None:  # noqa: F811
    settings.setValue("window/geometry", QByteArray(b"not a geometry"))
    window = make_window(resize=False)
    available = window.screen().availableGeometry()
    expected = first_start_rect(available, LAYOUT_MINIMUM.expandedTo(window.minimumSizeHint()))
    assert not window.geometry_restored
    assert window.size() == expected.size()


@hypothesis_settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=st.integers(-4000, 4000), y=st.integers(-2000, 2000), width=st.integers(320, 8000),
       height=st.integers(240, 5000), min_width=st.integers(100, 2500),
       min_height=st.integers(100, 1600))
def test_first_start_rect_is_80_percent_centred_and_fits(x, y, width, height, min_width,
                                                         min_height) -> None:
    available = QRect(x, y, width, height)
    rect = first_start_rect(available, QSize(min_width, min_height))
    assert available.contains(rect)
    assert rect.width() == min(max(round(width * 0.8), min_width), width)
    assert rect.height() == min(max(round(height * 0.8), min_height), height)
    left_gap, right_gap = rect.left() - available.left(), available.right() - rect.right()
    top_gap, bottom_gap = rect.top() - available.top(), available.bottom() - rect.bottom()
    assert abs(left_gap - right_gap) <= 1 and abs(top_gap - bottom_gap) <= 1
    if min_width <= width and min_height <= height:  # never smaller than the layout needs
        assert rect.width() >= min_width and rect.height() >= min_height


def test_a_window_counts_as_on_screen_when_half_of_it_is() -> None:
    screens = [QRect(0, 0, 1600, 1000), QRect(1600, 0, 1600, 1000)]
    assert on_some_screen(QRect(100, 100, 800, 600), screens)
    assert on_some_screen(QRect(1900, 100, 800, 600), screens)
    assert on_some_screen(QRect(-300, 100, 800, 600), screens)  # 5/8 visible
    assert not on_some_screen(QRect(-600, 100, 800, 600), screens)  # 1/4 visible
    assert not on_some_screen(QRect(3500, 100, 800, 600), screens)
    assert not on_some_screen(QRect(0, 0, 0, 0), screens)
