"""The one logging setup: level and format from ``LoggingConfig``, JSON lines, and redaction on every handler."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime

import pytest

from modules.infrastructure.domain.config.values import LoggingConfig
from modules.infrastructure.domain.secrets import MASK, Redactor
from modules.infrastructure.infrastructure.logging.setup import RedactionFilter, configure_logging
from tests.logging_helpers import bare_root, restore_root_logger  # noqa: F401 (autouse fixture)

SECRET = "sk-unit-LOGSECRET-5150"


def setup(level: str = "DEBUG", fmt: str = "text", secrets: tuple[str, ...] = (SECRET,), **kw) -> io.StringIO:
    stream = io.StringIO()
    configure_logging(LoggingConfig(level=level, format=fmt), Redactor(secrets), stream, **kw)
    return stream


def json_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# --- level --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "shown", "hidden"),
    [
        ("DEBUG", ["debug-line", "info-line", "warning-line"], []),
        ("INFO", ["info-line", "warning-line"], ["debug-line"]),
        ("WARNING", ["warning-line"], ["debug-line", "info-line"]),
        ("ERROR", [], ["debug-line", "info-line", "warning-line"]),
    ],
)
def test_log_level_is_honoured(level: str, shown: list[str], hidden: list[str]) -> None:
    stream = setup(level=level, force=True)
    logger = logging.getLogger("tests.logging.level")

    logger.debug("debug-line")
    logger.info("info-line")
    logger.warning("warning-line")

    assert logging.getLogger().level == logging.getLevelName(level)
    output = stream.getvalue()
    assert all(line in output for line in shown), output
    assert not any(line in output for line in hidden), output


# --- JSON ---------------------------------------------------------------------------------------


def test_json_lines_carry_timestamp_level_logger_message_and_extras() -> None:
    stream = setup(fmt="json", force=True)

    logging.getLogger("tests.orders").info("order %s placed", "A-17", extra={"order_id": 7, "customer": "acme"})

    [entry] = json_lines(stream)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "tests.orders"
    assert entry["message"] == "order A-17 placed"
    assert entry["order_id"] == 7
    assert entry["customer"] == "acme"
    assert datetime.fromisoformat(entry["timestamp"]).utcoffset() is not None


def test_json_writes_one_parseable_object_per_record() -> None:
    stream = setup(fmt="json", force=True)
    logger = logging.getLogger("tests.many")

    logger.info("first\nwith a newline")
    logger.warning("second", extra={"n": 2})
    logger.error("third")

    entries = json_lines(stream)
    assert [e["message"] for e in entries] == ["first\nwith a newline", "second", "third"]
    assert [e["level"] for e in entries] == ["INFO", "WARNING", "ERROR"]


def test_json_extra_values_that_are_not_json_are_written_as_text() -> None:
    stream = setup(fmt="json", force=True)

    logging.getLogger("tests.json").info("x", extra={"when": datetime(2024, 1, 2, 3, 4, 5), "tags": {"a": 1}})

    [entry] = json_lines(stream)
    assert entry["when"] == "2024-01-02 03:04:05"
    assert entry["tags"] == {"a": 1}


def test_json_carries_the_exception_traceback() -> None:
    stream = setup(fmt="json", force=True)

    try:
        raise ValueError("the cause")
    except ValueError:
        logging.getLogger("tests.json").exception("it broke")

    [entry] = json_lines(stream)
    assert entry["message"] == "it broke"
    assert entry["level"] == "ERROR"
    assert entry["exception"].startswith("Traceback")
    assert "ValueError: the cause" in entry["exception"]


# --- text ---------------------------------------------------------------------------------------


def test_text_lines_carry_level_logger_message_and_extras() -> None:
    stream = setup(fmt="text", force=True)

    logging.getLogger("tests.orders").warning("order %s late", "A-17", extra={"order_id": 7, "region": "eu"})

    line = stream.getvalue().strip()
    assert "WARNING" in line
    assert "tests.orders" in line
    assert "order A-17 late" in line
    assert "order_id=7" in line
    assert "region=eu" in line


def test_text_carries_the_exception_traceback() -> None:
    stream = setup(fmt="text", force=True)

    try:
        raise KeyError("missing-thing")
    except KeyError:
        logging.getLogger("tests.text").exception("lookup failed")

    output = stream.getvalue()
    assert "lookup failed" in output
    assert "Traceback" in output
    assert "KeyError: 'missing-thing'" in output


# --- redaction ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_in_message_args_and_extras_are_redacted(fmt: str) -> None:
    stream = setup(fmt=fmt, force=True)
    logger = logging.getLogger("tests.redact")

    logger.info(f"direct {SECRET}")
    logger.info("in args %s and %r", SECRET, {"key": SECRET})
    logger.info("in extras", extra={"api_key": SECRET, "request": {"headers": {"x": SECRET}}})
    logger.info("pattern Authorization: Bearer tok-unknown-1 and postgresql://u:pw-unknown-2@db/app")

    output = stream.getvalue()
    assert "direct" in output and "in args" in output and "in extras" in output and "pattern" in output
    assert SECRET not in output
    assert "tok-unknown-1" not in output
    assert "pw-unknown-2" not in output
    assert output.count(MASK) >= 6


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_exception_tracebacks_are_redacted(fmt: str) -> None:
    stream = setup(fmt=fmt, force=True)

    try:
        try:
            raise ConnectionError(f"refused for redis://u:url-pass-77@cache and key {SECRET}")
        except ConnectionError as exc:
            raise RuntimeError(f"wrapped: {SECRET}") from exc
    except RuntimeError:
        logging.getLogger("tests.redact").exception("call failed")

    output = stream.getvalue()
    assert "ConnectionError" in output and "RuntimeError: wrapped: " in output
    assert SECRET not in output
    assert "url-pass-77" not in output


def test_stack_info_is_redacted() -> None:
    stream = setup(fmt="text", force=True)

    logging.getLogger("tests.redact").info("where am I", stack_info=True)  # postgresql://app:stack-pw-31@db/app

    output = stream.getvalue()
    assert "Stack (most recent call last)" in output
    assert "postgresql://app:" + MASK + "@db/app" in output  # the source line above, masked
    assert "stack-pw-31" not in output


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_redaction_reaches_records_from_any_logger_that_propagates(fmt: str) -> None:
    stream = setup(fmt=fmt, force=True)

    logging.getLogger("modules.content_creation.deep.child").debug("token %s", SECRET)

    assert "token " + MASK in stream.getvalue()
    assert SECRET not in stream.getvalue()


# --- handlers -----------------------------------------------------------------------------------


def test_the_redaction_filter_is_attached_to_every_root_handler() -> None:
    with bare_root() as root:
        app_stream = io.StringIO()
        root.addHandler(logging.StreamHandler(app_stream))
        root.addHandler(logging.NullHandler())

        setup(force=True)
        logging.getLogger("tests.app").warning("via the app handler: %s", SECRET)

        assert len(root.handlers) == 3
        for handler in root.handlers:
            assert sum(isinstance(f, RedactionFilter) for f in handler.filters) == 1, handler
        assert "via the app handler: " + MASK in app_stream.getvalue()


def test_pytest_capture_handlers_get_the_filter_too() -> None:
    """Whatever handlers are on the root logger at the time (here pytest's own) are covered."""
    foreign = logging.getLogger().handlers[:]
    assert foreign, "pytest's log capture should have handlers on the root logger"

    setup(force=True)

    assert all(any(isinstance(f, RedactionFilter) for f in handler.filters) for handler in foreign)


def test_calling_configure_logging_twice_leaves_one_module_handler() -> None:
    with bare_root() as root:
        first = io.StringIO()
        second = io.StringIO()
        configure_logging(LoggingConfig(), Redactor([SECRET]), first)
        handler = configure_logging(LoggingConfig(format="json"), Redactor([SECRET]), second)

        logging.getLogger("tests.twice").warning("only once")

        assert handler is not None
        assert root.handlers == [handler]
        assert sum(isinstance(f, RedactionFilter) for f in handler.filters) == 1
        assert first.getvalue() == ""
        assert [e["message"] for e in json_lines(second)] == ["only once"]


def test_calling_configure_logging_twice_with_force_leaves_one_module_handler() -> None:
    before = logging.getLogger().handlers[:]
    first = setup(force=True)
    second = io.StringIO()
    handler = configure_logging(LoggingConfig(), Redactor([SECRET]), second, force=True)

    logging.getLogger("tests.twice").warning("only once")

    assert [h for h in logging.getLogger().handlers if h not in before] == [handler]
    assert first.getvalue() == ""
    assert second.getvalue().count("only once") == 1


def test_reconfiguring_uses_the_new_redactor_on_every_handler() -> None:
    with bare_root() as root:
        app_stream = io.StringIO()
        root.addHandler(logging.StreamHandler(app_stream))
        first = setup(secrets=("old-secret-1111",), force=True)
        second = setup(secrets=("new-secret-2222",), force=True)

        logging.getLogger("tests.reconfigure").warning("new-secret-2222 old-secret-1111")

        assert app_stream.getvalue().startswith(MASK + " old-secret-1111")
        assert "new-secret-2222" not in second.getvalue()
        assert first.getvalue() == ""  # the first module handler was replaced, not kept


def test_an_application_root_handler_is_kept_without_a_second_module_handler() -> None:
    with bare_root() as root:
        app_stream = io.StringIO()
        app_handler = logging.StreamHandler(app_stream)
        root.addHandler(app_handler)
        ours = io.StringIO()

        returned = configure_logging(LoggingConfig(level="DEBUG"), Redactor([SECRET]), ours)
        logging.getLogger("tests.app").debug("app line %s", SECRET)

        assert returned is None
        assert root.handlers == [app_handler]
        assert any(isinstance(f, RedactionFilter) for f in app_handler.filters)
        assert app_stream.getvalue() == "app line " + MASK + "\n"
        assert ours.getvalue() == ""
        assert root.level == logging.DEBUG


def test_force_adds_the_module_handler_next_to_the_application_handler() -> None:
    with bare_root() as root:
        app_stream = io.StringIO()
        app_handler = logging.StreamHandler(app_stream)
        root.addHandler(app_handler)

        stream = setup(fmt="json", force=True)
        logging.getLogger("tests.app").info("both see %s", SECRET)

        assert len(root.handlers) == 2
        assert root.handlers[0] is app_handler
        assert [e["message"] for e in json_lines(stream)] == ["both see " + MASK]
        assert app_stream.getvalue() == "both see " + MASK + "\n"
