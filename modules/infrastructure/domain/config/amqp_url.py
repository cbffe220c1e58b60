"""``RABBITMQ_URL``: an AMQP URL checked as the broker client will read it, query string included.

The client (pika 1.x, ``pika.URLParameters``) reads a fixed set of query parameters, each
exactly once, and raises a bare ``ValueError`` or ``TypeError`` on anything else, so a bad one
(``?heartbeat=abc``) would only surface as a traceback when the relay connects. The rules
below are pika's, a little stricter where pika would take a value no connection can use
(``heartbeat=70000`` does not fit AMQP's 16-bit field; ``1_0`` and ``nan`` are not numbers).
``tests/unit/test_amqp_url.py`` checks them against pika itself.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from modules.infrastructure.domain.config.parsers import InvalidValue, integer, number, url

_FRAME_MIN, _FRAME_MAX = 4096, 131072  # AMQP 0-9-1 frame sizes pika accepts
_SHORT_MAX = 65535  # heartbeat and channel_max travel as 16-bit fields in Connection.TuneOk


_DICT = "a dict such as {'key': 'value'}, or None"
_CA_KEYS = ("cafile", "ca_certs", "capath", "ca_path", "cadata", "ca_data")


def _literal_dict(raw: str) -> object:
    """A Python literal of a dict, or ``None`` (pika evaluates it with ``ast.literal_eval``)."""
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise InvalidValue("is not a Python literal", _DICT) from None
    if value is not None and not isinstance(value, dict):
        raise InvalidValue(f"is a {type(value).__name__}", _DICT)
    return value


def _ssl_options(raw: str) -> None:
    """``None``, or a dict naming the CA certificates: pika always loads them (whether the file exists shows on connecting)."""
    value = _literal_dict(raw)
    if isinstance(value, dict) and not any(value.get(key) for key in _CA_KEYS):
        raise InvalidValue("names no CA certificates", "{'cafile': '/path/to/ca.pem', ...} (or capath, cadata), or None")


def _text(raw: str) -> None:
    """Any text (``locale``)."""


QUERY_PARAMETERS: dict[str, Callable[[str], object]] = {
    "blocked_connection_timeout": number(minimum=0),
    "channel_max": integer(1, _SHORT_MAX),
    "client_properties": _literal_dict,
    "connection_attempts": integer(1),
    "frame_max": integer(_FRAME_MIN, _FRAME_MAX),
    "heartbeat": integer(0, _SHORT_MAX),
    "locale": _text,
    "retry_delay": number(minimum=0),
    "socket_timeout": number(above=0),
    "ssl_options": _ssl_options,
    "stack_timeout": number(above=0),
    "tcp_options": _literal_dict,
}
_EXPECTED = "an AMQP URL such as amqp://user:password@host:5672/%2F"
_check_url = url(("amqp", "amqps"))


def amqp_url(raw: str) -> str:
    """``raw`` stripped, when pika can read it: scheme, host, port, user info and every query parameter."""
    value: str = _check_url(raw)
    parts = urlsplit(value)
    if parts.username is not None and parts.password is None:
        raise InvalidValue("has a user name but no password", f"{_EXPECTED} (write user:password@)")
    # parse_qs drops blank values (?heartbeat=), as pika does: such a parameter is ignored.
    for name, values in parse_qs(parts.query).items():
        _check_parameter(name, values, parts.scheme)
    return value


def _check_parameter(name: str, values: list[str], scheme: str) -> None:
    check = QUERY_PARAMETERS.get(name)
    if check is None:
        raise InvalidValue(f"has an unknown query parameter {name!r}", f"{_EXPECTED}?<one of {', '.join(QUERY_PARAMETERS)}>")
    if len(values) != 1:
        raise InvalidValue(f"gives the query parameter {name!r} {len(values)} times", f"{_EXPECTED}, each parameter once")
    if name == "ssl_options" and scheme == "amqps" and values[0].strip() == "None":
        raise InvalidValue("turns TLS off with ssl_options=None on an amqps:// URL", f"{_EXPECTED} without ssl_options=None")
    try:
        check(values[0])
    except InvalidValue as exc:
        # The value is not shown: the query string may carry a secret (ssl_options' key password).
        raise InvalidValue(f"has a query parameter {name} that {exc.problem}", f"{name}={exc.expected}") from None
