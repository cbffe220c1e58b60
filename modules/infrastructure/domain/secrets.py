"""Recognising and masking secrets: API keys, tokens, passwords and URL passwords."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, urlsplit

MASK = "****"

SECRET_NAME_SUFFIXES = ("_API_KEY", "_KEY", "_TOKEN", "_PASSWORD", "_SECRET", "_HEADERS")  # _HEADERS: OTLP exporter credentials

# scheme://user:password@host  ->  scheme://user:****@host. The password runs to the LAST "@"
# of its token (it may itself hold "@" or "/"); a token ends at white space, a comma or a quote.
# Over-masking a rare path like "http://h:80/a@b" is the price of never leaking a password.
_URL_PASSWORD = re.compile(
    r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^/\s:@,'\"]*:)(?P<password>[^\s,'\"]+)(?P<tail>@)"
)
# A credential in a query string: ...?password=x&..., also token, secret, api_key.
_QUERY_SECRET = re.compile(r"(?P<head>[?&](?:password|passwd|pwd|secret|token|api_key|apikey)=)(?P<secret>[^&\s'\"]+)", re.IGNORECASE)
# Credentials as they appear in logged requests: "Authorization: <scheme> <credential>",
# "api-key: ...", "x-api-key: ...", "api_key": "...". The scheme word stays, the credential goes.
_HEADER_SECRET = re.compile(
    r"(?P<head>(?:authorization|api[-_]key|x-api-key)[\"']?\s*[:=]\s*[\"']?"
    r"(?:(?:bearer|basic|token|digest|apikey|negotiate)\s+)?)(?P<secret>[^\s\"',]+)",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    """True for variable names whose value is a credential (``*_API_KEY``, ``*_TOKEN``, ...)."""
    return name.upper().endswith(SECRET_NAME_SUFFIXES)


def mask_url(url: str) -> str:
    """Return ``url`` with its password (in the user-info or the query string) replaced by ``****``."""
    password = _parsed_password(url)
    if password:
        url = url.replace(f":{password}@", f":{MASK}@")
    url = _URL_PASSWORD.sub(lambda m: m["head"] + MASK + m["tail"], url)
    return _QUERY_SECRET.sub(lambda m: m["head"] + MASK, url)


def url_password(url: str) -> str | None:
    """The password embedded in ``url``, if any, as written (still percent-encoded)."""
    match = _URL_PASSWORD.search(url)
    return _parsed_password(url) or (match["password"] if match else None)


def _parsed_password(url: str) -> str | None:
    """The password as a URL parser reads the whole string; catches characters the pattern stops at."""
    try:
        return urlsplit(url.strip()).password or None
    except ValueError:
        return None


def secrets_in_environment(environ: Mapping[str, str]) -> set[str]:
    """Every secret value in ``environ``: secret-named variables and passwords inside URLs."""
    found: set[str] = set()
    for name, value in environ.items():
        value = value.strip()
        if not value:
            continue
        if is_secret_name(name):
            found.add(value)
            if name.upper().endswith("_HEADERS"):  # key=value pairs: each value may be a credential of its own
                found.update(unquote(item.partition("=")[2]).strip() for item in value.split(","))
        passwords = [m["password"] for m in _URL_PASSWORD.finditer(value)]
        passwords += [m["secret"] for m in _QUERY_SECRET.finditer(value)]
        passwords.append(_parsed_password(value) or "")
        found.update(p for password in passwords if password for p in (password, unquote(password)))
    return found


class Redactor:
    """Removes known secret values and credential patterns from any text."""

    # Very short values would mask ordinary words; such secrets are caught by the patterns.
    MIN_SECRET_LENGTH = 4

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: tuple[str, ...] = ()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Remember more secret values; longest first, so a secret that contains another goes whole."""
        merged = set(self._secrets) | {s for s in secrets if len(s) >= self.MIN_SECRET_LENGTH}
        self._secrets = tuple(sorted(merged, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """``text`` with every known secret and credential pattern masked."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        text = mask_url(text)
        return _HEADER_SECRET.sub(lambda m: m["head"] + MASK, text)


class Secret:
    """A credential that does not show itself: ``repr``/``str`` print ``****``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The real value, for handing to a client library; never log it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def optional_secret(value: str | None) -> Secret | None:
    """``value`` held as a ``Secret``; ``None`` for an unset or empty setting."""
    return Secret(value) if value else None
