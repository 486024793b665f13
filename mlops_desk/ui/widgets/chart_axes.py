"""Axes for pyqtgraph charts whose values are whole numbers."""

from __future__ import annotations

import math

import pyqtgraph as pg


class CountAxis(pg.AxisItem):
    """An axis of counts: ticks on whole numbers only (there is no half a row)."""

    def tickValues(self, minVal, maxVal, size):
        levels = [(spacing, [v for v in values if float(v).is_integer()])
                  for spacing, values in super().tickValues(minVal, maxVal, size)
                  if spacing >= 1]
        if levels:
            return levels
        # A range narrower than 2 gets only fractional ticks from pyqtgraph: use each integer.
        return [(1.0, [float(v) for v in range(math.ceil(minVal), math.floor(maxVal) + 1)])]
