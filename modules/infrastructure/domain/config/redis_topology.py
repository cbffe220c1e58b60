"""Which Redis a ``REDIS_URL`` names: one server, a Sentinel group's master, or a Cluster.

    redis://[user:password@]host:6379/0                      one server (rediss:// with TLS, unix:///path)
    redis+sentinel://[user:password@]s1:26379,s2:26379/mymaster[/0]   the master the sentinels name
    redis+cluster://[user:password@]n1:7000,n2:7001           a Cluster, from any of its nodes

``rediss+sentinel://`` and ``rediss+cluster://`` reach the data nodes over TLS. The user and password are the data
nodes'; sentinels are asked without them. A query string holds redis-py's connection options, as on one server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from modules.infrastructure.domain.config.parsers import InvalidValue

SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
TLS_SCHEMES = ("rediss", "rediss+sentinel", "rediss+cluster")  # every REDIS_URL scheme that speaks TLS
PLAIN_SCHEMES = ("redis", "redis+sentinel", "redis+cluster")  # every network scheme that does not
DEFAULT_PORTS = {"sentinel": 26379, "cluster": 6379}
MAX_NODES = 64
EXPECTED = (
    "redis+sentinel://[user:password@]host:26379,host:26379/<master name>[/<db>] or "
    "redis+cluster://[user:password@]host:7000,host:7001"
)
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.\-_]{0,251}[A-Za-z0-9])?")
_MASTER = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
_DIGITS = re.compile(r"[0-9]+")
_NODE_CHARACTERS = re.compile(r"[A-Za-z0-9.\-_:,\[\]]+")  # ASCII only: str.isdigit takes "²", which int() refuses


@dataclass(frozen=True)
class RedisTopology:
    """A Sentinel or Cluster URL taken apart; ``kind`` is ``sentinel`` or ``cluster``."""

    kind: str
    nodes: tuple[tuple[str, int], ...]
    master: str | None = None
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    query: str = ""


def is_topology_url(url: str) -> bool:
    """Whether ``url`` names a Sentinel group or a Cluster rather than one server."""
    return url.strip().lower().startswith(tuple(f"{scheme}://" for scheme in SENTINEL_SCHEMES + CLUSTER_SCHEMES))


def parse_topology(url: str) -> RedisTopology:
    """The topology ``url`` names; ``InvalidValue`` saying what is wrong (no node, no master name, a bad port...).

    Where the user and password end is found by reading: the URL without credentials first, then with them up to
    each "@" in turn (a password may hold "@", "/" or "?"; a query option may hold "@"); the first reading that
    makes a whole URL wins. When none does, the problem of the reading up to the last "@" is told: it quotes only
    what follows that "@", never the password.
    """
    scheme, separator, rest = url.strip().partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in SENTINEL_SCHEMES + CLUSTER_SCHEMES:
        raise InvalidValue("is not a Sentinel or Cluster URL", EXPECTED)
    kind = "sentinel" if scheme in SENTINEL_SCHEMES else "cluster"
    tls = scheme.startswith("rediss")
    if "@" not in rest:
        return _topology(kind, tls, None, rest)
    last: InvalidValue | None = None
    for at in [None] + [i for i, char in enumerate(rest) if char == "@"]:
        credentials, remainder = (None, rest) if at is None else (rest[:at], rest[at + 1 :])
        try:
            return _topology(kind, tls, credentials, remainder)
        except InvalidValue as problem:
            last = problem  # the reading up to the last "@" quotes only what follows it: never the password
    assert last is not None
    raise last


def _topology(kind: str, tls: bool, credentials: str | None, rest: str) -> RedisTopology:
    username, password = _credentials(credentials) if credentials is not None else (None, None)
    rest, _, query = rest.partition("?")
    if "#" in rest or "#" in query:
        raise InvalidValue("has a fragment (#...)", EXPECTED)
    hosts, _, path = rest.partition("/")
    nodes = _nodes(hosts, DEFAULT_PORTS[kind])
    segments = [unquote(segment) for segment in path.split("/")] if path else []
    master, db = None, 0
    if kind == "sentinel":
        if not segments or not segments[0]:
            raise InvalidValue("names no master: Sentinel needs the name it monitors the master by", EXPECTED)
        master = segments.pop(0)
        if not _MASTER.fullmatch(master):
            raise InvalidValue(f"names the master {master[:40]!r}, which is not a Sentinel master name", EXPECTED)
    if segments and segments != [""]:
        db = _database(segments, kind)
    return RedisTopology(kind, nodes, master, db, username, password, tls, query)


def _credentials(text: str) -> tuple[str | None, str | None]:
    user, has_password, password = text.partition(":")
    return (unquote(user) or None, unquote(password) if has_password else None)


def _nodes(text: str, default_port: int) -> tuple[tuple[str, int], ...]:
    if not text.strip():
        raise InvalidValue("names no nodes", EXPECTED)
    nodes = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise InvalidValue("has an empty node in its list (two commas, or a comma at an end)", EXPECTED)
        nodes.append(_node(item, default_port))
    if len(nodes) > MAX_NODES:
        raise InvalidValue(f"names {len(nodes)} nodes, more than {MAX_NODES}: name a few; the rest are found", EXPECTED)
    return tuple(nodes)


def _node(text: str, default_port: int) -> tuple[str, int]:
    if text.startswith("["):  # [::1]:7000
        host, bracket, port_text = text[1:].partition("]")
        if not bracket or (port_text and not port_text.startswith(":")):
            raise InvalidValue(f"has the node {text[:60]!r}, which is not host:port", EXPECTED)
        port_text = port_text[1:]
        valid_host = bool(host) and all(part == "" or re.fullmatch(r"[0-9A-Fa-f]{1,4}", part) for part in host.split(":"))
    else:
        host, _, port_text = text.partition(":")
        valid_host = bool(_HOST.fullmatch(host))
    if not valid_host:
        raise InvalidValue(f"has the node {text[:60]!r}, whose host cannot be one", EXPECTED)
    if not port_text:
        return host, default_port
    if not _DIGITS.fullmatch(port_text) or not 0 < int(port_text) < 65536:
        raise InvalidValue(f"has the node {text[:60]!r}, whose port is not 1 to 65535", EXPECTED)
    return host, int(port_text)


def _database(segments: list[str], kind: str) -> int:
    if len(segments) != 1 or not _DIGITS.fullmatch(segments[0]) or len(segments[0]) > 10:
        raise InvalidValue(f"has the path {'/'.join(segments)[:40]!r}, which is not a database number", EXPECTED)
    db = int(segments[0])
    if kind == "cluster" and db != 0:
        raise InvalidValue(f"names database {db}; a Redis Cluster has database 0 only", "redis+cluster://host:7000 (no path)")
    return db
