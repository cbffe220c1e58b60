"""Parsers for configuration values: each turns raw text into a typed value or says why not."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import SplitResult, urlsplit

Parser = Callable[[str], Any]

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_HOST = re.compile(r"^[A-Za-z0-9_.\-:\[\]]+$")
_DB_SCHEME = re.compile(r"^[a-z][a-z0-9_]*(\+[a-z0-9_]+)?$")
POSTGRES_DIALECTS = ("postgres", "postgresql")
DEFAULT_POSTGRES_DRIVER = "psycopg2"
ASYNC_DRIVERS = frozenset({"asyncpg", "psycopg_async", "aiosqlite", "aiomysql", "asyncmy", "aioodbc"})
_SYNC_SCHEMES = {"postgres": "postgresql", "postgresql": "postgresql", "sqlite": "sqlite", "mysql": "mysql+pymysql"}


class InvalidValue(ValueError):
    """A raw value did not parse: ``problem`` says what is wrong, ``expected`` the valid form."""

    def __init__(self, problem: str, expected: str) -> None:
        super().__init__(f"{problem}; expected {expected}")
        self.problem = problem
        self.expected = expected


def boolean(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidValue("is not a boolean", "true/false, 1/0, yes/no or on/off")


def integer(minimum: int | None = None, maximum: int | None = None) -> Parser:
    expected = _range_text("a whole number", minimum, maximum)

    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise InvalidValue("is not a whole number", expected) from None
        _check_range(value, minimum, maximum, expected)
        return value

    return parse


def number(minimum: float | None = None, maximum: float | None = None, *, above: float | None = None) -> Parser:
    """A float; ``above`` is an exclusive lower bound (timeouts must be > 0)."""
    expected = f"a number greater than {above:g}" if above is not None else _range_text("a number", minimum, maximum)

    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise InvalidValue("is not a number", expected) from None
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidValue("is not a finite number", expected)
        if above is not None and value <= above:
            raise InvalidValue(f"must be greater than {above:g}", expected)
        _check_range(value, minimum, maximum, expected)
        return value

    return parse


def choice(options: Iterable[str], *, upper: bool = False) -> Parser:
    allowed = tuple(o.upper() if upper else o.lower() for o in options)
    expected = "one of " + ", ".join(allowed)

    def parse(raw: str) -> str:
        value = raw.strip().upper() if upper else raw.strip().lower()
        if value not in allowed:
            raise InvalidValue("is not a known value", expected)
        return value

    return parse


def text(raw: str) -> str:
    return raw.strip()


def host(raw: str) -> str:
    value = raw.strip()
    if not _HOST.match(value):
        raise InvalidValue("is not a host name or address", "a host such as 127.0.0.1 or api.internal")
    return value


def url(schemes: Iterable[str]) -> Parser:
    """A URL whose scheme is one of ``schemes`` and which names a host (or a path for unix://)."""
    allowed = tuple(schemes)
    expected = "a URL such as " + " or ".join(f"{s}://..." for s in allowed)

    def parse(raw: str) -> str:
        value = raw.strip()
        parts = _split(value, expected)
        if parts.scheme not in allowed:
            raise InvalidValue(f"has scheme '{parts.scheme}'", expected)
        if not (parts.hostname or (parts.scheme == "unix" and parts.path)):
            raise InvalidValue("has no host", expected)
        _check_port(parts, expected)
        return value

    return parse


def database_url(raw: str) -> str:
    """A SQLAlchemy URL: ``dialect[+driver]://...``; SQLite needs no host.

    PostgreSQL as hosts print it (``postgres://``, ``postgresql://``) names the module's driver,
    psycopg2: SQLAlchemy 2.1 would otherwise pick psycopg 3 for a bare ``postgresql://``.
    """
    expected = (
        "a SQLAlchemy URL such as sqlite:///var/app.db or postgresql://user:password@host:5432/db "
        "(in a password, write / as %2F, ? as %3F, # as %23)"
    )
    scheme, separator, rest = raw.strip().partition("://")
    scheme = scheme.lower()  # URL schemes are case-insensitive
    if not separator or not _DB_SCHEME.match(scheme):
        raise InvalidValue("is not a database URL", expected)
    parts = _split(f"db://{rest}", expected)  # urlsplit refuses '_' in a scheme (postgresql+psycopg_async)
    dialect, _, driver = scheme.partition("+")
    if driver in ASYNC_DRIVERS:
        raise InvalidValue(
            f"names {driver}, a driver for asyncio; this module is synchronous",
            f"{_SYNC_SCHEMES.get(dialect, dialect)}://... (or another driver that is not async)",
        )
    local_socket = rest.startswith("/")  # e.g. postgresql:///app: the default Unix socket
    if dialect != "sqlite" and not parts.hostname and not parts.query and not local_socket:
        raise InvalidValue("has no host", expected)
    _check_port(parts, expected)
    return normalise_database_url(f"{scheme}://{rest}")


def normalise_database_url(url: str) -> str:
    """``postgres://``, ``postgresql://`` and ``postgres+psycopg2://`` as ``postgresql+psycopg2://``; others unchanged.

    An ``@`` in the user or password is percent-encoded: the user info runs to the last ``@`` before
    the path, as URL parsers read it, but SQLAlchemy would end the password at the first one and
    connect to a host made of the rest of it.
    """
    scheme, separator, rest = url.partition("://")
    authority_end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    at = rest.rfind("@", 0, authority_end)
    if at > 0:
        rest = rest[:at].replace("@", "%40") + rest[at:]
    dialect, _, driver = scheme.partition("+")
    if dialect in POSTGRES_DIALECTS and driver in ("", DEFAULT_POSTGRES_DRIVER):
        scheme = f"postgresql+{DEFAULT_POSTGRES_DRIVER}"
    elif dialect == "postgres":
        scheme = f"postgresql+{driver}"
    return f"{scheme}{separator}{rest}"


def comma_list(item: Parser) -> Parser:
    """Comma-separated values, each parsed by ``item``; blanks between commas are ignored."""

    def parse(raw: str) -> tuple[Any, ...]:
        items = [part.strip() for part in raw.split(",") if part.strip()]
        parsed = []
        for number, part in enumerate(items, start=1):
            try:
                parsed.append(item(part))
            except InvalidValue as exc:
                if len(items) == 1:
                    raise
                # The item is not shown: a comma inside a password splits it, and a piece would not be masked.
                raise InvalidValue(
                    f"has an item {number} of {len(items)} that {exc.problem}",
                    f"{exc.expected}; items separated by commas (a comma inside one is written %2C)",
                ) from None
        return tuple(parsed)

    return parse


def _split(value: str, expected: str) -> SplitResult:
    try:
        return urlsplit(value)
    except ValueError:
        raise InvalidValue("is not a valid URL", expected) from None


def _check_port(parts: Any, expected: str) -> None:
    try:
        parts.port
    except ValueError:
        raise InvalidValue("has an invalid port", expected) from None


def _check_range(value: float, minimum: float | None, maximum: float | None, expected: str) -> None:
    if minimum is not None and value < minimum:
        raise InvalidValue(f"is below the minimum {minimum:g}", expected)
    if maximum is not None and value > maximum:
        raise InvalidValue(f"is above the maximum {maximum:g}", expected)


def _range_text(kind: str, minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"{kind} from {minimum:g} to {maximum:g}"
    if minimum is not None:
        return f"{kind} of at least {minimum:g}"
    if maximum is not None:
        return f"{kind} of at most {maximum:g}"
    return kind
