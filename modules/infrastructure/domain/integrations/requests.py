"""``OutgoingRequest``: a caller's request to an integration, checked before anything is sent.

A client for ``crm`` talks to ``crm`` only: the path is a path under the base URL, never a URL, never
one that climbs out of the base path; headers are one line of ASCII each and cannot replace the credential.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from modules.infrastructure.domain.errors import InvalidArgumentError

METHODS = ("GET", "HEAD", "OPTIONS", "DELETE", "PUT", "POST", "PATCH")
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})  # RFC 9110 9.2.2; POST and PATCH only with a key
IDEMPOTENCY_HEADER = "Idempotency-Key"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
MAX_PATH = 2048
MAX_KEY = 255
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_NOT_IN_PATH = re.compile(r"[\x00-\x20\x7f?#\\]")  # white space, control characters, ?, # and a backslash
_RESERVED = frozenset({"host", "content-length", "transfer-encoding", "connection", "authorization", "idempotency-key"})


@dataclass(frozen=True)
class OutgoingRequest:
    method: str
    target: str  # what follows the base URL: the checked path ("" for the base URL itself)
    params: Mapping[str, Any] | None
    headers: Mapping[str, str]
    body: bytes | None
    retryable: bool  # may be sent again after a failure worth retrying

    @property
    def path(self) -> str:
        """The path as errors, logs and responses show it, without a query (``/`` for the base URL itself)."""
        return self.target or "/"


def outgoing(
    integration: str,
    method: object,
    path: object,
    *,
    params: object = None,
    json_body: object = None,
    content: object = None,
    headers: object = None,
    idempotency_key: object = None,
    credential_header: str | None = None,
) -> OutgoingRequest:
    """The checked request; ``InvalidArgumentError`` naming the argument for anything that must not be sent."""
    verb = _method(integration, method)
    checked_headers = dict(_headers(integration, headers, credential_header))
    key = _idempotency_key(integration, idempotency_key)
    if key is not None:
        checked_headers[IDEMPOTENCY_HEADER] = key
    body = _body(integration, json_body, content, checked_headers)
    checked_params = _params(integration, params)
    return OutgoingRequest(verb, checked_path(integration, path), checked_params, checked_headers, body, verb in IDEMPOTENT or key is not None)


def _method(integration: str, method: object) -> str:
    verb = method.upper() if isinstance(method, str) else None
    if verb not in METHODS:
        raise InvalidArgumentError(f"{integration}: the method {method!r:.40} is not one of {', '.join(METHODS)}")
    return verb


def checked_path(integration: str, path: object) -> str:
    """``path`` as sent under the base URL (``""``: the base URL itself); ``InvalidArgumentError`` for a URL, a query,
    a dot segment or a character that needs encoding."""
    if not isinstance(path, str):
        raise InvalidArgumentError(f"{integration}: the path is text such as '/contacts/42', not {type(path).__name__}")
    if path == "":
        return path
    shown = repr(path[:80])
    if "://" in path or path.startswith("//") or path.startswith("\\"):
        raise InvalidArgumentError(
            f"{integration}: {shown} is a URL; a client talks to its own service only: give a path under "
            f"INTEGRATION_{integration.upper()}_BASE_URL, or configure another integration for the other host"
        )
    if len(path) > MAX_PATH or _NOT_IN_PATH.search(path):
        raise InvalidArgumentError(
            f"{integration}: the path {shown} has white space, a control character, ?, # or \\ (or is over {MAX_PATH} characters); "
            "pass query parameters as params= and percent-encode the rest"
        )
    if _BAD_ESCAPE.search(path):
        raise InvalidArgumentError(f"{integration}: the path {shown} has a % that does not start an escape such as %2F; write % as %25")
    decoded = unquote(path)
    if any(ord(c) < 32 or ord(c) == 127 or c == "\\" for c in decoded):
        raise InvalidArgumentError(f"{integration}: the path {shown} encodes a control character or a backslash, which servers read differently")
    if any(segment.split(";")[0] in (".", "..") for segment in decoded.split("/")):
        raise InvalidArgumentError(f"{integration}: the path {shown} has a . or .. segment, which would leave the base URL's path")
    return path if path.startswith("/") else "/" + path


def _params(integration: str, params: object) -> Mapping[str, Any] | None:
    """Query parameters: text names, each value text, a whole or finite number, a bool or None, or a list of those."""
    if params is None:
        return None
    if not isinstance(params, Mapping):
        raise InvalidArgumentError(f"{integration}: params takes a mapping of query parameters, not {type(params).__name__}")
    for name, value in params.items():
        values = value if isinstance(value, list | tuple) else (value,)
        if not isinstance(name, str):
            raise InvalidArgumentError(f"{integration}: a query parameter's name is text, not {type(name).__name__} ({name!r:.40})")
        if not all(_is_query_value(v) for v in values):
            raise InvalidArgumentError(
                f"{integration}: the query parameter {name[:40]!r} takes text, a number, a boolean or None (or a list of them), "
                f"not {type(value).__name__}; encode it first (json.dumps, .decode())"
            )
    return params


def _is_query_value(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int)


def _headers(integration: str, headers: object, credential_header: str | None) -> Mapping[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise InvalidArgumentError(f"{integration}: headers takes a mapping of names to values, not {type(headers).__name__}")
    reserved = _RESERVED | ({credential_header.lower()} if credential_header else set())
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise InvalidArgumentError(f"{integration}: {name!r:.60} is not an HTTP header name (letters, digits, -)")
        if name.lower() in reserved:
            raise InvalidArgumentError(
                f"{integration}: the header {name} is set by the client itself (the credential comes from "
                f"INTEGRATION_{integration.upper()}_*, the idempotency key from idempotency_key=)"
            )
        if not isinstance(value, str) or any(ord(c) < 32 and c != "\t" or ord(c) > 126 for c in value):
            raise InvalidArgumentError(
                f"{integration}: the header {name} must be one line of ASCII text (no line break, control or non-ASCII "
                "character); percent-encode other text"
            )
    return headers


def _idempotency_key(integration: str, key: object) -> str | None:
    if key is None:
        return None
    if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY or any(ord(c) < 33 or ord(c) > 126 for c in key):
        raise InvalidArgumentError(
            f"{integration}: idempotency_key takes 1 to {MAX_KEY} visible ASCII characters (an event id, a UUID), not {key!r:.60}"
        )
    return key


def _body(integration: str, json_body: object, content: object, headers: dict[str, str]) -> bytes | None:
    if json_body is not None and content is not None:
        raise InvalidArgumentError(f"{integration}: give json= or content=, not both")
    if json_body is not None:
        try:
            encoded = json.dumps(json_body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
        except (TypeError, ValueError, RecursionError) as exc:
            raise InvalidArgumentError(f"{integration}: json= cannot be sent as JSON ({exc})"[:300]) from None
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
        return encoded
    if content is None:
        return None
    if isinstance(content, str):
        return content.encode()
    if isinstance(content, bytes | bytearray | memoryview):
        return bytes(content)
    raise InvalidArgumentError(f"{integration}: content= takes bytes or text, not {type(content).__name__}")


def call_deadline(integration: str, seconds: object, configured: float) -> float:
    """A per-call ``deadline=`` in seconds, or the integration's own; it may shorten ``configured`` (DEADLINE), not extend
    it, so every call of a client ends within DEADLINE. ``InvalidArgumentError`` otherwise."""
    if seconds is None:
        return configured
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds) or not 0 < seconds <= configured:
        raise InvalidArgumentError(
            f"{integration}: deadline= takes seconds above 0 and at most INTEGRATION_{integration.upper()}_DEADLINE "
            f"({configured:g}), which it may shorten but not extend; not {seconds!r:.40}"
        )
    return float(seconds)


def origin(url: str) -> str:
    """Scheme, host and port of ``url`` alone, for reports and reprs: a webhook's base path may itself be its secret
    (``https://hooks.example/services/T0/B0/xyz``)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
