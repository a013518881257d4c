"""Logging configuration from the settings: ``LOG_LEVEL`` and ``LOG_FORMAT`` (text or json).

JSON lines carry ``time``, ``level``, ``logger`` and ``message`` (plus ``exception`` when there is
one), which log shippers index without a parsing rule.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def log_config(*, level: str, fmt: Literal["text", "json"]) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for Conduit and uvicorn alike."""
    formatter: dict[str, Any] = {"()": JsonFormatter} if fmt == "json" else {"format": _TEXT}
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "default",
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            # uvicorn installs handlers of its own unless told to propagate to the root.
            name: {"handlers": [], "propagate": True, "level": level.upper()}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
