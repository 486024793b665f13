"""How numbers and times read in tables: one place, so every page agrees."""

from __future__ import annotations

from datetime import datetime

DASH = "–"


def percent(value: float | None) -> str:
    return DASH if value is None else f"{value:.1%}"


def accuracy_with_interval(value: float | None, low: float | None, high: float | None) -> str:
    if value is None:
        return DASH
    if low is None or high is None:
        return percent(value)
    return f"{value:.1%}  ({low:.1%}–{high:.1%})"


def millis(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value / 1000:.2f} s" if value >= 10_000 else f"{value:,.0f} ms"


def cost(value: float | None) -> str:
    if value is None:
        return DASH
    return f"${value:,.4f}" if value < 0.1 else f"${value:,.2f}"


def timestamp(iso: str | None) -> str:
    """Stored UTC ISO text as local time, minutes precision."""
    if not iso:
        return DASH
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def date(iso: str | None) -> str:
    """The local date of a stored UTC timestamp."""
    return timestamp(iso)[:10]
