"""Dialogs opened from the pages (non-blocking: they report back with signals)."""
