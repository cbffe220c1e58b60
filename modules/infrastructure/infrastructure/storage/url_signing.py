"""Signed download tokens for local files: ``base64url(payload) "." base64url(HMAC-SHA256(secret, payload))``,
the payload being compact JSON ``{"ns", "key", "exp"}`` (``exp`` in whole seconds since the epoch, UTC).

The token binds the namespace, the key and the expiry: changing any of them breaks the signature. Both parts are
canonical base64url without padding, so a token has one spelling only.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import os
import secrets
from datetime import datetime
from pathlib import Path

from modules.infrastructure.domain.errors import ConfigurationError, InvalidDownloadTokenError
from modules.infrastructure.domain.storage.keys import MAX_KEY, MAX_NAMESPACE
from modules.infrastructure.infrastructure.storage import base64url
from modules.infrastructure.infrastructure.storage.local_files import read_small, write_temporary
from modules.infrastructure.infrastructure.storage.local_paths import fsync_folder

MIN_SECRET_LENGTH = 32
SIGNING_KEY_FILE = ".signing-key"
MAX_EXPIRY_DIGITS = 20  # any int64 of seconds
# The longest payload: the JSON around the values, a 64-character namespace, a 1,024-character key of 4-byte
# characters (the longest UTF-8; an escaped '"' takes 2) and the expiry; then base64url of it and the signature.
MAX_PAYLOAD_BYTES = len('{"ns":"","key":"","exp":}') + MAX_NAMESPACE + 4 * MAX_KEY + MAX_EXPIRY_DIGITS
MAX_TOKEN_LENGTH = base64url.encoded_length(MAX_PAYLOAD_BYTES) + 1 + base64url.encoded_length(hashlib.sha256().digest_size)


def sign_download_token(namespace: str, key: str, expires_at: datetime, secret: bytes) -> str:
    """The token for ``namespace``/``key`` valid until ``expires_at`` (an aware datetime)."""
    payload = json.dumps({"ns": namespace, "key": key, "exp": int(expires_at.timestamp())}, separators=(",", ":"), ensure_ascii=False)
    encoded = base64url.encode(payload.encode())
    return f"{encoded}.{base64url.encode(_signature(encoded, secret))}"


def verify_download_token(token: str, secret: bytes, now: datetime) -> tuple[str, str]:
    """``(namespace, key)`` of a genuine, unexpired token; else ``InvalidDownloadTokenError`` (the signature
    is compared in constant time and checked before the payload is read)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1 or not token.isascii():
        raise InvalidDownloadTokenError("The download token is malformed; ask for a new download URL")
    encoded, signature = token.split(".")
    if not hmac.compare_digest(_decode(signature), _signature(encoded, secret)):
        raise InvalidDownloadTokenError("The download token's signature does not match (forged or altered); ask for a new download URL")
    namespace, key, expires = _claims(_decode(encoded))
    if expires <= now.timestamp():
        raise InvalidDownloadTokenError("The download URL has expired; ask for a new one")
    return namespace, key


def signing_secret(configured: str | None, root: Path, production: bool) -> bytes:
    """STORAGE_URL_SECRET when set (at least 32 characters); else, outside production, a random key made
    once and kept in ``<root>/.signing-key`` (mode 0o600) so URLs stay valid across restarts."""
    if configured is not None:
        if len(configured) < MIN_SECRET_LENGTH:
            raise ConfigurationError(f"STORAGE_URL_SECRET must be at least {MIN_SECRET_LENGTH} characters; generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'")
        return configured.encode()
    if production:
        raise ConfigurationError("STORAGE_URL_SECRET is required when APP_ENV=production and files are kept on local disk")
    return _kept_key(root / SIGNING_KEY_FILE)


def _kept_key(path: Path) -> bytes:
    """The key in ``path``, made on first use: written whole to a temporary file and hard-linked into place,
    so concurrent first uses (threads or processes) never see a partial file and all keep the one that won."""
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    temporary = write_temporary(path.parent, [secrets.token_urlsafe(48).encode()])
    try:
        os.link(temporary, path)
    except FileExistsError:
        return _read_key(path)  # another process made it first: use the winner's
    finally:
        temporary.unlink(missing_ok=True)
    fsync_folder(path.parent)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    try:
        key = read_small(path).strip()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfigurationError(f"{path} is a symbolic link; remove it (a new signing key is made) or set STORAGE_URL_SECRET") from None
        raise
    if len(key) < MIN_SECRET_LENGTH:
        raise ConfigurationError(f"{path} holds a signing key too short to use; delete the file (a new one is made) or set STORAGE_URL_SECRET")
    return key


def _signature(encoded_payload: str, secret: bytes) -> bytes:
    return hmac.new(secret, encoded_payload.encode("ascii"), hashlib.sha256).digest()


def _decode(text: str) -> bytes:
    """Strict: one spelling per token, so no altered token verifies."""
    try:
        return base64url.decode(text)
    except ValueError:
        raise InvalidDownloadTokenError("The download token is malformed; ask for a new download URL") from None


def _claims(payload: bytes) -> tuple[str, str, int]:
    try:
        claims = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        claims = None
    if isinstance(claims, dict):
        namespace, key, expires = claims.get("ns"), claims.get("key"), claims.get("exp")
        if isinstance(namespace, str) and isinstance(key, str) and type(expires) is int:
            return namespace, key, expires
    raise InvalidDownloadTokenError("The download token is malformed; ask for a new download URL")
