"""PySide6 desktop application."""
