"""One logging setup for the process: level and format from the configuration, secrets redacted."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import IO, Any

from modules.infrastructure.domain.config.values import LoggingConfig
from modules.infrastructure.domain.secrets import Redactor

# Attributes every LogRecord has; anything else on a record was passed with ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
_TEXT_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"
# Libraries that announce routine internals at INFO; they speak at WARNING and above.
# httpx2 logs every request's whole URL at INFO, query string included (where an API may want a key);
# the module logs its own line per outside call, with the path alone.
_CHATTY_LOGGERS = ("alembic.runtime.plugins", "alembic.runtime.migration", "httpx2", "httpcore2")
# pika logs a traceback for every failed connection attempt, which the module already
# handles and reports in its own words; only its critical records get through.
_QUIET_LOGGERS = ("pika",)


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra=`` fields of a record."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class RedactionFilter(logging.Filter):
    """Masks secrets in a record's message, string extras, traceback and stack before any handler sees them."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self.redactor.redact
        record.msg, record.args = redact(record.getMessage()), None
        for key, value in extra_fields(record).items():
            if isinstance(value, str):
                setattr(record, key, redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, extra fields, exception."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **extra_fields(record),
            **trace_fields(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return self.redactor.redact(json.dumps(entry, default=str, ensure_ascii=False))


def trace_fields() -> dict[str, str]:
    """``trace_id`` and ``span_id`` of the span current where the line is logged, as a tracing backend shows them."""
    from opentelemetry import trace  # the API only, imported with the first JSON line

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x")}


class TextFormatter(logging.Formatter):
    """Human-readable lines, with extra fields appended as ``key=value``."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__(_TEXT_FORMAT)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = extra_fields(record)
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        return self.redactor.redact(line)


class ModuleHandler(logging.StreamHandler[IO[str]]):
    """The handler this module installs on the root logger; told apart from an application's own by its class."""


def configure_logging(
    config: LoggingConfig, redactor: Redactor, stream: IO[str] | None = None, *, force: bool = False
) -> ModuleHandler | None:
    """Set the root level and install the module's handler, replacing one installed earlier.

    An application that configured root handlers of its own keeps them (no second handler
    unless ``force``), but every root handler gets the redaction filter: none prints a secret.
    """
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, ModuleHandler)]
    foreign = len(root.handlers) > len(ours)
    handler = None
    if force or not foreign:
        for old in ours:
            root.removeHandler(old)
        handler = ModuleHandler(stream or sys.stderr)
        handler.setFormatter(JsonFormatter(redactor) if config.format == "json" else TextFormatter(redactor))
        root.addHandler(handler)
    for each in root.handlers:
        for old_filter in [f for f in each.filters if isinstance(f, RedactionFilter)]:
            each.removeFilter(old_filter)
        each.addFilter(RedactionFilter(redactor))
    root.setLevel(config.level)
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return handler
