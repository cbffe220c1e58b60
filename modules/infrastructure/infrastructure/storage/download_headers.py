"""How every download link hands a file over: as an attachment, never shown inline, since an HTML or SVG
file displayed by the browser on the application's (or the bucket's) origin would run its scripts there."""

from __future__ import annotations

from urllib.parse import quote


def content_disposition(key: str) -> str:
    """``attachment`` named after the key's last segment: an ASCII fallback name and the exact name in RFC 5987 form."""
    name = key.rsplit("/", 1)[-1]
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
