"""Recognising and masking secrets: API keys, tokens, passwords and URL passwords."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

MASK = "****"

SECRET_NAME_SUFFIXES = ("_API_KEY", "_KEY", "_TOKEN", "_PASSWORD", "_SECRET")

# scheme://user:password@host  ->  scheme://user:****@host
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^/\s:@]*:)(?P<password>[^@\s/]+)(?P<tail>@)")
# Authorization: Bearer xxx / api-key: xxx / "api_key": "xxx" as they appear in logged requests.
_HEADER_SECRET = re.compile(
    r"(?P<head>(?:authorization|api[-_]key|x-api-key)[\"']?\s*[:=]\s*[\"']?(?:bearer\s+)?)(?P<secret>[^\s\"',]+)",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    """True for variable names whose value is a credential (``*_API_KEY``, ``*_TOKEN``, ...)."""
    return name.upper().endswith(SECRET_NAME_SUFFIXES)


def mask_url(url: str) -> str:
    """Return ``url`` with the password part replaced by ``****``; other text is left alone."""
    return _URL_PASSWORD.sub(lambda m: m["head"] + MASK + m["tail"], url)


def url_password(url: str) -> str | None:
    """The password embedded in ``url``, if any."""
    try:
        return urlsplit(url).password or None
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
        for part in value.split(","):
            password = url_password(part.strip())
            if password:
                found.add(password)
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
        text = _URL_PASSWORD.sub(lambda m: m["head"] + MASK + m["tail"], text)
        return _HEADER_SECRET.sub(lambda m: m["head"] + MASK, text)
