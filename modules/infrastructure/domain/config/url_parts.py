"""DATABASE_URL and REDIS_URL made from their parts (``DB_HOST``, ``DB_USER``, ...), as platforms hand them out.

A URL given beside its parts must say the same as every part given; a part without its host is refused.
Users, passwords and database names are percent-encoded, so any character in them is safe.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit


@dataclass(frozen=True)
class UrlParts:
    """How one URL is spelled in parts: the variables, and the URL's scheme and default port."""

    url: str  # the variable the parts stand in for
    scheme: str
    default_port: int
    host: str
    port: str
    path: str  # the database name (PostgreSQL) or number (Redis)
    user: str
    password: str
    path_default: str = ""
    needs_user_for_password: bool = True  # Redis takes a password alone (the default user)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.host, self.port, self.path, self.user, self.password)


DATABASE_PARTS = UrlParts("DATABASE_URL", "postgresql", 5432, "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD")
REDIS_PARTS = UrlParts(
    "REDIS_URL", "redis", 6379, "REDIS_HOST", "REDIS_PORT", "REDIS_DB", "REDIS_USERNAME", "REDIS_PASSWORD",
    path_default="0", needs_user_for_password=False,
)


# What Kubernetes sets as <SERVICE>_PORT for a Service named redis or db (service links): not a port of ours.
_SERVICE_LINK_PORT = re.compile(r"(tcp|udp|sctp)://[^/@\s]+:[0-9]+")


def drop_service_links(parts: UrlParts, environ: MutableMapping[str, str]) -> list[str]:
    """Remove a Kubernetes service link found in the port variable while the host is unset; a warning says so."""
    raw = environ.get(parts.port, "").strip()
    if not _SERVICE_LINK_PORT.fullmatch(raw) or environ.get(parts.host, "").strip():
        return []
    del environ[parts.port]
    return [
        f"{parts.port}={raw!r} is a Kubernetes service link, not a port, and is ignored while {parts.host} is unset; "
        "set enableServiceLinks: false on the pod to drop it"
    ]


def url_from_parts(parts: UrlParts, values: Mapping[str, Any], malformed: frozenset[str]) -> tuple[str | None, list[str]]:
    """(the URL the parts make, or ``None`` when none is set; the problems). Malformed parts are already reported."""
    given = [name for name in parts.names if values.get(name) not in (None, "") or name in malformed]
    if not given or malformed & set(parts.names):
        return None, []
    problems = _missing_companions(parts, given)
    if problems:
        return None, problems
    host = _url_host(str(values[parts.host]))
    if host is None:
        shown = repr(str(values[parts.host])[:60])
        return None, [f"{parts.host}={shown} is not a host name or IP address; put the port in {parts.port}"]
    user, password = values.get(parts.user), values.get(parts.password)
    credentials = quote(str(user or ""), safe="") + (f":{quote(str(password), safe='')}" if password else "")
    port = values.get(parts.port) or parts.default_port
    path = values.get(parts.path)
    path = parts.path_default if path in (None, "") else str(path)
    at = "@" if credentials else ""
    return f"{parts.scheme}://{credentials}{at}{host}:{port}/{quote(path, safe='')}", []


def _url_host(host: str) -> str | None:
    """The host as a URL writes it (an IPv6 address bracketed), or ``None`` when a colon or bracket makes it no address."""
    if not {":", "[", "]"} & set(host):
        return host
    bracketed = host.startswith("[") and host.endswith("]")
    inner = host[1:-1] if bracketed else host
    if "[" in inner or "]" in inner:
        return None  # an unbalanced or stray bracket
    try:
        address = ipaddress.ip_address(inner)
    except ValueError:
        return None  # such as db:5433, a port written into the host
    return f"[{address}]" if address.version == 6 else None


def _missing_companions(parts: UrlParts, given: list[str]) -> list[str]:
    if parts.host not in given:
        return [
            f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} set but {parts.host} is not; "
            f"set {parts.host} too, or give {parts.url} instead"
        ]
    if parts.password in given and parts.user not in given and parts.needs_user_for_password:
        return [f"{parts.password} is set but {parts.user} is not; set the user the password belongs to"]
    if parts.user in given and parts.password not in given and not parts.needs_user_for_password:
        return [f"{parts.user} is set but {parts.password} is not; Redis logs a user in with a password, set it too"]
    return []


def differences(parts: UrlParts, url: str, built: str, given: frozenset[str]) -> list[str]:
    """The given parts whose value ``url`` contradicts (names only: a password is never shown)."""
    if _family(built) != _family(url):
        return sorted(given, key=parts.names.index)
    ours, theirs = _components(parts, built), _components(parts, url)
    return [name for name in parts.names if name in given and ours[name] != theirs[name]]


def _family(url: str) -> str:
    """The kind of server a URL names: ``postgres+psycopg2`` is PostgreSQL, ``rediss`` is Redis (over TLS)."""
    dialect = url.partition("://")[0].partition("+")[0].lower()
    return {"postgres": "postgresql", "rediss": "redis"}.get(dialect, dialect)


def _components(parts: UrlParts, url: str) -> dict[str, object]:
    split = urlsplit(url)
    try:
        port = split.port
    except ValueError:
        port = None
    path = unquote(split.path.lstrip("/")) if split.scheme != "unix" else ""
    return {
        parts.host: _same_address(split.hostname or ""),
        parts.port: port or parts.default_port,
        parts.path: path or parts.path_default,
        parts.user: unquote(split.username or ""),
        parts.password: unquote(split.password or ""),
    }


def _same_address(host: str) -> object:
    """A host as compared: an IP address as its value (``::ffff:1.2.3.4`` is ``::ffff:102:304``), a name in lower case."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return host.lower()
