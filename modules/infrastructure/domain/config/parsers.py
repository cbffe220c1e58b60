"""Parsers for configuration values: each turns raw text into a typed value or says why not."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

Parser = Callable[[str], Any]

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_WHOLE = re.compile(r"[+-]?[0-9]+")
_DIGITS = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NON_FINITE = frozenset({"nan", "inf", "infinity"})
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


class Bounded:
    """A number within an inclusive range, which it states: ``limits`` for the docs, ``expected`` for errors.

    Only ASCII digits make a number here: Python's ``int()`` and ``float()`` also read ``1_0``
    and other scripts' digits (``"١٢"``), which no library downstream of a setting expects.
    """

    kind = "a number"

    def __init__(
        self, minimum: float | None = None, maximum: float | None = None, *, above: float | None = None, note: str = ""
    ) -> None:
        self.minimum, self.maximum, self.above = minimum, maximum, above
        self.limits = _limits_text(minimum, maximum, above, note)
        self.expected = _expected_text(self.kind, minimum, maximum, above, note)

    def __call__(self, raw: str) -> Any:
        value = self.convert(raw.strip())
        if self.above is not None and value <= self.above:
            raise InvalidValue(f"must be greater than {show_number(self.above)}", self.expected)
        if self.minimum is not None and value < self.minimum:
            raise InvalidValue(f"is below the minimum {show_number(self.minimum)}", self.expected)
        if self.maximum is not None and value > self.maximum:
            raise InvalidValue(f"is above the maximum {show_number(self.maximum)}", self.expected)
        return value

    def convert(self, text: str) -> float:
        raise NotImplementedError


class WholeNumber(Bounded):
    """A whole number written with the digits 0-9 and an optional sign."""

    kind = "a whole number"

    def convert(self, text: str) -> float:
        if not _WHOLE.fullmatch(text):
            raise InvalidValue("is not a whole number", self.expected)
        try:
            return int(text)
        except ValueError:  # more digits than int() reads (sys.get_int_max_str_digits): far outside any range
            return -math.inf if text.startswith("-") else math.inf


class DecimalNumber(Bounded):
    """A finite decimal number: ``30``, ``0.5``, ``1e3``."""

    def convert(self, text: str) -> float:
        if not _DECIMAL.fullmatch(text):
            spelled = text.lower().lstrip("+-")
            raise InvalidValue("is not a finite number" if spelled in _NON_FINITE else "is not a number", self.expected)
        value = float(text)
        bounded = self.maximum if value > 0 else self.minimum if self.above is None else self.above
        if math.isinf(value) and bounded is None:  # too large for a float, and no bound to report it against
            raise InvalidValue("is not a finite number", self.expected)
        return value


def integer(minimum: int | None = None, maximum: int | None = None, *, note: str = "") -> WholeNumber:
    """A whole number from ``minimum`` to ``maximum``; ``note`` says what the maximum amounts to (``"24.8 days"``)."""
    return WholeNumber(minimum, maximum, note=note)


def number(
    minimum: float | None = None, maximum: float | None = None, *, above: float | None = None, note: str = ""
) -> DecimalNumber:
    """A finite number in range; ``above`` is an exclusive lower bound (timeouts must be > 0)."""
    return DecimalNumber(minimum, maximum, above=above, note=note)


def show_number(value: float) -> str:
    """``value`` as it would be written in ``.env``: ``30``, ``0.5``, ``2147483647`` (never ``2.14748e+09``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


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
    if not _HOST.fullmatch(value):
        raise InvalidValue("is not a host name or address", "a host such as 127.0.0.1 or api.internal")
    return value


def url(schemes: Iterable[str], *, credentials: str | None = None) -> Parser:
    """A URL whose scheme is one of ``schemes`` and which names a host (or a path for unix://). With
    ``credentials`` (where they go instead), a user name or password in the URL is refused."""
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
        if credentials and (parts.username or parts.password):
            raise InvalidValue("carries a user name or password", f"a URL without them; give credentials in {credentials}")
        return value

    return parse


_REDIS_URL = url(("redis", "rediss", "unix"))


def redis_url(raw: str) -> str:
    """A Redis URL; on ``redis://`` and ``rediss://`` a path is the database number (``redis://cache:6379/2``).
    ``redis+sentinel://`` and ``redis+cluster://`` name a Sentinel group's master or a Cluster (``redis_topology``).

    redis-py would read any other path as database 0, without a word.
    """
    from modules.infrastructure.domain.config.redis_topology import is_topology_url, parse_topology

    if is_topology_url(raw):
        parse_topology(raw)
        return raw.strip()
    value: str = _REDIS_URL(raw)
    parts = urlsplit(value)
    database = unquote(parts.path).replace("/", "")
    if parts.scheme != "unix" and database and not _DIGITS.fullmatch(database):
        raise InvalidValue(
            f"has the path {parts.path!r}, which is not a database number", "a URL such as redis://host:6379/0 (0: the first database)"
        )
    return value


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
    if not separator or not _DB_SCHEME.fullmatch(scheme):
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


def _limits_text(minimum: float | None, maximum: float | None, above: float | None, note: str) -> str:
    """The range as the docs state it: ``1 to 1000``, ``more than 0, at most 2147483 (24.8 days)``."""
    parts = [f"more than {show_number(above)}"] if above is not None else []
    if minimum is not None and maximum is not None:
        parts.append(f"{show_number(minimum)} to {show_number(maximum)}")
    elif minimum is not None:
        parts.append(f"at least {show_number(minimum)}")
    elif maximum is not None:
        parts.append(f"at most {show_number(maximum)}")
    text = ", ".join(parts)
    return f"{text} ({note})" if note and text else text


def _expected_text(kind: str, minimum: float | None, maximum: float | None, above: float | None, note: str) -> str:
    """The valid form as an error states it: ``a whole number from 1 to 1000``, ``a number greater than 0 and at most 5``."""
    top = None if maximum is None else show_number(maximum)
    if above is not None:
        text = f"{kind} greater than {show_number(above)}" + (f" and at most {top}" if top else "")
    elif minimum is not None:
        text = f"{kind} from {show_number(minimum)} to {top}" if top else f"{kind} of at least {show_number(minimum)}"
    else:
        text = f"{kind} of at most {top}" if top else kind
    return f"{text} ({note})" if note and text != kind else text
