"""Process logging: one line per record on stderr, plain text or JSON (log.format).

JSON lines are for log shippers, so every record is one flat object. A record
whose message is itself a JSON object (BotContext.observe logs the per-message
record that way) is merged into the line rather than nested as a string, so
`platform`, `entry`, `score` and `latency_ms` are top-level fields either way.
"""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

from .config import ConfigError, LogConfig

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_RESERVED = ("time", "level", "logger")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        message = record.getMessage()
        fields = _as_object(message)
        if fields is None:
            line["message"] = message
        else:
            line.update((k, v) for k, v in fields.items() if k not in _RESERVED)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """The plain format, kept to one line: a multi-line message would split a record
    in two for anything that reads the log line by line."""

    def __init__(self) -> None:
        super().__init__(PLAIN_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", "\\n")


def _as_object(message: str) -> dict | None:
    if not message.startswith("{"):
        return None
    try:
        value = json.loads(message)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def check_level(level: str) -> int:
    name = str(level).strip().upper()
    if name not in LEVELS:
        raise ConfigError("log.level", f"must be one of {', '.join(LEVELS)}, not {level!r}")
    return getattr(logging, name)


def configure(config: LogConfig, stream: TextIO = sys.stderr) -> None:
    """Replace the root logger's handlers with one that writes `config.format` to `stream`."""
    level = check_level(config.level)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if config.format == "json" else PlainFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
