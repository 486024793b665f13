"""Application log: a rotating file in the user log dir, with secrets scrubbed."""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from mlops_desk.core.secrets import redact

LOGGER_NAME = "mlops_desk"


class RedactingFilter(logging.Filter):
    """Scrub known keys from the final message (args included) before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def log_dir() -> Path:
    env = os.environ.get("MLOPS_DESK_LOG_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return platformdirs.user_log_path("mlops-desk", appauthor=False)


def setup_logging(level: int = logging.INFO) -> Path | None:
    """Attach the file handler once; returns the log file path (None if unwritable)."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in logger.handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            return Path(handler.baseFilename)
    try:
        directory = log_dir()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "mlops-desk.log"
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=3, encoding="utf-8", delay=True,
            errors="backslashreplace",  # a non-UTF-8 file name must not break a log line
        )
    except OSError:
        return None  # logging must never stop the app
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    logger.setLevel(level)
    return path


def get_logger(name: str) -> logging.Logger:
    # Records propagate to the app logger, whose handler filter redacts them.
    return logging.getLogger(f"{LOGGER_NAME}.{name}")
