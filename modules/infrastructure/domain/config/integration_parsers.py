"""The parsers of the ``INTEGRATION_<NAME>_*`` values that are not plain numbers or text: what a request can carry.

A value is refused at start-up when the client could not send it as written, so a bad setting is one problem
in the start-up report rather than a failure, retried and blamed on the service, at every call.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

from modules.infrastructure.domain.config import parsers as p
from modules.infrastructure.domain.errors import InvalidArgumentError
from modules.infrastructure.domain.integrations.requests import checked_path

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an HTTP header name (RFC 9110 token)
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")  # one label of a host name, as IDNA writes it
_SET_BY_CLIENT = frozenset({"host", "content-length", "content-type", "transfer-encoding", "connection", "idempotency-key"})
_EXPECTED_URL = "a base URL such as https://crm.example/api/v2 (no credentials, query or fragment)"


def base_url(raw: str) -> str:
    """An http(s) URL of a host the client can reach as written, with an optional path; kept as given (a trailing
    slash included: a webhook's URL is used as it is)."""
    value: str = _HTTP_URL(raw)
    parts = urlsplit(value)
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise p.InvalidValue("has a query string or fragment", f"{_EXPECTED_URL}; pass query parameters per call")
    if "@" in parts.netloc:
        raise p.InvalidValue("has user information (an @)", f"{_EXPECTED_URL}; give credentials in INTEGRATION_<NAME>_TOKEN and the like")
    _check_host(parts)
    if parts.port == 0:
        raise p.InvalidValue("has port 0", _EXPECTED_URL)
    if parts.path.strip("/"):
        try:
            checked_path("base", parts.path)
        except InvalidArgumentError:
            raise p.InvalidValue("has a path the client cannot send as written (white space, a dot segment, a bad % escape)", _EXPECTED_URL) from None
    return value


def _check_host(parts: SplitResult) -> None:
    host = parts.hostname or ""
    if parts.netloc.startswith("["):
        if "%" in host:
            raise p.InvalidValue("has an IPv6 zone (%...), which an HTTP client cannot send in a URL", _EXPECTED_URL)
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise p.InvalidValue("has a bracketed host that is not an IPv6 address", _EXPECTED_URL) from None
        return
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise p.InvalidValue("has a host name that is not valid (an empty or over-long label)", _EXPECTED_URL) from None
    if not all(_LABEL.fullmatch(label) for label in ascii_host.rstrip(".").split(".")):
        raise p.InvalidValue("has a host name with a character a host name cannot hold", _EXPECTED_URL)


def header_name(raw: str) -> str:
    value = raw.strip()
    if not _TOKEN.fullmatch(value):
        raise p.InvalidValue("is not an HTTP header name", "letters, digits and -, e.g. X-API-Key")
    return value


def credential(raw: str) -> str:
    """A token or API key as a header carries it: visible ASCII, no spaces."""
    value = raw.strip()
    if not value.isascii() or any(ord(c) < 33 or ord(c) == 127 for c in value):
        raise p.InvalidValue("has a space or a character outside visible ASCII", "the token or key exactly as the service issued it")
    return value


def user_name(raw: str) -> str:
    """A basic-auth user name: no colon, which separates it from the password on the wire (RFC 7617)."""
    value = raw.strip()
    if ":" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise p.InvalidValue("has a colon or a control character", "the user name alone; the password goes in INTEGRATION_<NAME>_PASSWORD")
    return value


def api_key_header(raw: str) -> str:
    """A header name the client does not set itself: the key must not replace the body's length or the idempotency key."""
    value = header_name(raw)
    if value.lower() in _SET_BY_CLIENT:
        raise p.InvalidValue("is a header the client sets itself", "a header of the key's own, e.g. X-API-Key or Authorization")
    return value


def request_path(raw: str) -> str:
    """A path the client sends as it is, so the start-up check does not fail on a path the settings took."""
    value = raw.strip()
    if not value.startswith("/") or not _sendable(value):
        raise p.InvalidValue("is not a path on the service", "a path beginning with one /, without spaces, ?, #, \\ or .. segments, e.g. /health")
    return value


def _sendable(path: str) -> bool:
    try:
        checked_path("health", path)
    except InvalidArgumentError:
        return False
    return True


_HTTP_URL = p.url(("http", "https"), credentials="INTEGRATION_<NAME>_TOKEN, _API_KEY or _USERNAME/_PASSWORD")
