"""Logging configuration from the settings: ``LOG_LEVEL`` and ``LOG_FORMAT`` (text or json).

Every line names the request it was logged for: the HTTP layer sets :data:`request_id` for the
time it handles a request, and :class:`RequestIdFilter` stamps each record with it (``-``
outside a request). Text lines read ``time level logger [request id]: message``; JSON lines
carry ``time``, ``level``, ``logger``, ``request_id`` and ``message`` (plus ``exception`` when
there is one), which log shippers index without a parsing rule.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from typing import Any, Literal

NO_REQUEST = "-"
request_id: ContextVar[str | None] = ContextVar("conduit_request_id", default=None)

_TEXT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request being handled when it was logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or NO_REQUEST
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", NO_REQUEST),
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
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            # uvicorn installs handlers of its own unless told to propagate to the root.
            name: {"handlers": [], "propagate": True, "level": level.upper()}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
