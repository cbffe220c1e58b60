"""What the TLS settings must agree with: the URLs they apply to, each other, and the rule for plain connections.

A setting and the same option in a URL's query string may both be given only with the same value;
different values are a problem naming both, since either precedence would surprise someone.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from modules.infrastructure.domain.config.redis_topology import PLAIN_SCHEMES, TLS_SCHEMES, is_topology_url, parse_topology
from modules.infrastructure.domain.config.tls_files import readable_by_others

DB_FILES = {"DB_SSLROOTCERT": "sslrootcert", "DB_SSLCERT": "sslcert", "DB_SSLKEY": "sslkey"}
REDIS_FILES = {"REDIS_TLS_CA_FILE": "ssl_ca_certs", "REDIS_TLS_CERT_FILE": "ssl_certfile", "REDIS_TLS_KEY_FILE": "ssl_keyfile"}
RABBITMQ_FILES = ("RABBITMQ_TLS_CA_FILE", "RABBITMQ_TLS_CERT_FILE", "RABBITMQ_TLS_KEY_FILE")
CERT_KEY_PAIRS = (("DB_SSLCERT", "DB_SSLKEY"), ("REDIS_TLS_CERT_FILE", "REDIS_TLS_KEY_FILE"), ("RABBITMQ_TLS_CERT_FILE", "RABBITMQ_TLS_KEY_FILE"))
KEY_FILES = ("DB_SSLKEY", "REDIS_TLS_KEY_FILE", "RABBITMQ_TLS_KEY_FILE")
ENCRYPTED_MODES = ("require", "verify-ca", "verify-full")  # libpq modes that never fall back to a plain connection
UNCHECKED_MODES = ("allow", "prefer")  # TLS when the server offers it, the server's certificate never checked
LIBPQ_DEFAULT_MODE = "prefer"
TLS_HOW = {
    "DATABASE_URL": "set DB_SSLMODE=verify-full and DB_SSLROOTCERT",
    "DATABASE_REPLICA_URLS": "set DB_SSLMODE=verify-full and DB_SSLROOTCERT",
    "REDIS_URL": "use a rediss:// URL (with REDIS_TLS_CA_FILE for a private CA)",
    "RABBITMQ_URL": "use amqps:// URLs (with RABBITMQ_TLS_CA_FILE for a private CA)",
}


@dataclass(frozen=True)
class TLSCheck:
    """Problems stop the start; warnings go into the start-up report."""

    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def database_ssl_mode(values: Mapping[str, Any]) -> str | None:
    """``DB_SSLMODE``; unset with a CA given: verify-full, since a CA is given to have the server checked."""
    mode: str | None = values.get("DB_SSLMODE")
    return mode or ("verify-full" if values.get("DB_SSLROOTCERT") else None)


def redis_url_over_tls(values: Mapping[str, Any], environ: Mapping[str, str]) -> str | None:
    """REDIS_URL, as rediss:// when it was made from REDIS_HOST and its parts (which name no scheme) and a
    REDIS_TLS_* file is given: the files ask for TLS. A REDIS_URL that was given keeps its scheme."""
    url: str | None = values.get("REDIS_URL")
    if url and url.startswith("redis://") and not environ.get("REDIS_URL", "").strip() and any(values.get(n) for n in REDIS_FILES):
        return "rediss://" + url.removeprefix("redis://")
    return url


def check_tls(values: Mapping[str, Any], production: bool, malformed: frozenset[str]) -> TLSCheck:
    """The problems and warnings of the parsed ``values``; a malformed URL is already reported, so not checked here."""
    problems = [*_unpaired(values, malformed), *_database(values, malformed, production), *_redis(values, malformed), *_rabbitmq(values, malformed)]
    warnings: list[str] = []
    (problems if production else warnings).extend(_open_keys(values))
    plain = list(_plain_connections(values, malformed))
    if values.get("REQUIRE_TLS"):
        problems += [f"{line}; REQUIRE_TLS=true refuses it" for line in plain]
    elif production:
        warnings += plain
    return TLSCheck(tuple(problems), tuple(warnings))


def _unpaired(values: Mapping[str, Any], malformed: frozenset[str]) -> Iterator[str]:
    for cert, key in CERT_KEY_PAIRS:
        if {cert, key} & malformed:
            continue  # the malformed one is reported
        if bool(values.get(cert)) != bool(values.get(key)):
            given, missing = (cert, key) if values.get(cert) else (key, cert)
            yield f"{given} is set but {missing} is not; a client certificate needs its key, give both or neither"


def _open_keys(values: Mapping[str, Any]) -> Iterator[str]:
    for name in KEY_FILES:
        path = values.get(name)
        if path and readable_by_others(path):
            yield f"{name}={path!r} may be read by every user of this machine; chmod 600 it (or 640 with the service's group)"


def _database(values: Mapping[str, Any], malformed: frozenset[str], production: bool) -> Iterator[str]:
    given = [name for name in ("DB_SSLMODE", *DB_FILES) if values.get(name)]
    primary = values.get("DATABASE_URL")
    if not given or {"DATABASE_URL", "DATABASE_REPLICA_URLS"} & malformed or (production and not primary):
        return  # a missing or malformed URL is a problem of its own
    if not primary or not _is_postgres(primary):
        shown = f"{urlsplit(primary).scheme}://..." if primary else "unset (the embedded SQLite database)"
        yield f"{given[0]} applies to PostgreSQL only, but DATABASE_URL is {shown}; point DATABASE_URL at PostgreSQL or unset {given[0]}"
        return
    for setting, url in _database_urls(values):
        query = _query(url)
        yield from _conflicts(setting, query, {"DB_SSLMODE": "sslmode", **DB_FILES}, values)
        mode = _first(query, "sslmode") or database_ssl_mode(values) or LIBPQ_DEFAULT_MODE
        unused = [name for name in DB_FILES if values.get(name)] if mode == "disable" else []
        if mode in UNCHECKED_MODES and values.get("DB_SSLROOTCERT"):
            unused = ["DB_SSLROOTCERT"]
        for name in unused:
            yield f"{name} is not used with sslmode={mode} (the mode {setting} gets); set DB_SSLMODE=verify-full, or unset {name}"


def _redis(values: Mapping[str, Any], malformed: frozenset[str]) -> Iterator[str]:
    given = [name for name in REDIS_FILES if values.get(name)]
    url = values.get("REDIS_URL")
    if not given or "REDIS_URL" in malformed:
        return
    if not url or urlsplit(url).scheme not in TLS_SCHEMES:
        shown = f"{urlsplit(url).scheme}://..." if url else "unset (the in-memory cache)"
        yield f"{given[0]} needs a rediss:// REDIS_URL (Redis over TLS), but REDIS_URL is {shown}"
        return
    yield from _conflicts("REDIS_URL", _query(url), REDIS_FILES, values)


def _rabbitmq(values: Mapping[str, Any], malformed: frozenset[str]) -> Iterator[str]:
    given = [name for name in RABBITMQ_FILES if values.get(name)]
    urls: Sequence[str] = values.get("RABBITMQ_URL") or ()
    if not given or "RABBITMQ_URL" in malformed:
        return
    plain = [url for url in urls if urlsplit(url).scheme != "amqps"]
    if not urls or plain:
        shown = f"{len(plain)} amqp:// URL(s)" if urls else "unset (events wait in the outbox)"
        yield f"{given[0]} needs amqps:// URLs in RABBITMQ_URL (AMQP over TLS), but RABBITMQ_URL has {shown}"
    elif any("ssl_options" in _query(url) for url in urls):
        yield f"{given[0]} and ssl_options in the query string of RABBITMQ_URL both set up TLS; use one of them"


def _conflicts(setting: str, query: Mapping[str, list[str]], options: Mapping[str, str], values: Mapping[str, Any]) -> Iterator[str]:
    for name, option in options.items():
        in_url, configured = _first(query, option), values.get(name)
        if in_url is not None and configured and in_url != configured:
            yield f"{name}={configured!r} conflicts with {option}={in_url!r} in the query string of {setting}; give it in one place"


def _plain_connections(values: Mapping[str, Any], malformed: frozenset[str]) -> Iterator[str]:
    """One line per connection to a host other than loopback that is not certain to be encrypted."""
    if not {"DATABASE_URL", "DATABASE_REPLICA_URLS"} & malformed:
        for setting, url in _database_urls(values):
            query = _query(url)
            mode = _first(query, "sslmode") or database_ssl_mode(values) or LIBPQ_DEFAULT_MODE
            if _is_postgres(url) and mode not in ENCRYPTED_MODES:
                yield from _remote(setting, _postgres_hosts(url, query), f"sslmode={mode}")
    redis_url = values.get("REDIS_URL")
    if redis_url and "REDIS_URL" not in malformed and urlsplit(redis_url).scheme in PLAIN_SCHEMES:
        yield from _remote("REDIS_URL", _redis_hosts(redis_url), f"{urlsplit(redis_url).scheme}://")
    if "RABBITMQ_URL" not in malformed:
        for url in values.get("RABBITMQ_URL") or ():
            if urlsplit(url).scheme == "amqp":
                yield from _remote("RABBITMQ_URL", [urlsplit(url).hostname], "amqp://")


def _remote(setting: str, hosts: Sequence[str | None], how: str) -> Iterator[str]:
    for host in hosts:
        if not is_loopback(host):
            yield f"{setting} reaches {host} without TLS ({how}); {TLS_HOW[setting]}"


def is_loopback(host: str | None) -> bool:
    """A Unix socket (no host, or a path), ``localhost`` or a loopback address: traffic that never leaves the machine."""
    if not host or host.startswith("/") or host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _database_urls(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    primary = values.get("DATABASE_URL")
    urls = [("DATABASE_URL", primary)] if primary else []
    return urls + [("DATABASE_REPLICA_URLS", url) for url in values.get("DATABASE_REPLICA_URLS") or ()]


def _is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def _postgres_hosts(url: str, query: Mapping[str, list[str]]) -> list[str | None]:
    """The host of the URL, else those of its ``host`` query parameters (libpq's multi-host form), without ports."""
    host = urlsplit(url).hostname
    if host:
        return [host]
    named = [h for value in query.get("host", []) for h in value.split(",")]
    return [h.rsplit(":", 1)[0] if h.count(":") == 1 else h for h in named] or [None]


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def _first(query: Mapping[str, list[str]], name: str) -> str | None:
    found = query.get(name)
    return found[0] if found else None


def _redis_hosts(url: str) -> list[str | None]:
    """The hosts a Redis URL names: one server's, or every node of a Sentinel or Cluster URL."""
    if is_topology_url(url):
        return [host for host, _ in parse_topology(url).nodes]
    return [urlsplit(url).hostname]
