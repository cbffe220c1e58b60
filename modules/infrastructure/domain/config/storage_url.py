"""``STORAGE_URL``: a folder for the local disk (a path or ``file://``), or ``s3://bucket/prefix`` for object storage;
``STORAGE_URL_BASE``: where local download URLs are served."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from modules.infrastructure.domain.config.parsers import InvalidValue

EXPECTED = "a folder (var/storage, /srv/files, file:///srv/files) or s3://bucket/optional/prefix"
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")  # S3's bucket naming rules, 3 to 63 characters


def storage_url(raw: str) -> str:
    """The value as written, once it is a usable folder or S3 location."""
    value = raw.strip()
    if not value or "\x00" in value:
        raise InvalidValue("it is empty" if not value else "it holds a NUL character", EXPECTED)
    if value.startswith("s3://"):
        parts = urlsplit(value)
        if parts.query or parts.fragment or "@" in parts.netloc:
            raise InvalidValue("an S3 location has no query, fragment or credentials (use the AWS_* variables)", EXPECTED)
        if not _BUCKET.fullmatch(parts.netloc) or ".." in parts.netloc:  # the netloc as written: no port, no upper case
            raise InvalidValue(f"{parts.netloc[:63]!r} is not an S3 bucket name (3 to 63 lower-case letters, digits, '.' and '-')", EXPECTED)
        return value
    if "://" in value and not value.startswith("file://"):
        raise InvalidValue(f"the scheme {value.split('://', 1)[0]!r} is not one of file, s3", EXPECTED)
    if value.startswith("file://") and not value.startswith("file:///"):
        raise InvalidValue("a file:// URL names an absolute folder, file:///srv/files (three slashes); write a relative folder without file://", EXPECTED)
    if value.startswith("~"):
        raise InvalidValue("'~' is not expanded here; write the home folder out (/home/app/files) or a folder relative to the working directory", EXPECTED)
    return value


def storage_url_base(raw: str) -> str:
    """The path or URL with a trailing ``/``: a download URL is the base and the token, its last segment."""
    value = raw.strip()
    if not value:
        raise InvalidValue("it is empty", "a path such as /files/ or an absolute URL such as https://files.example/dl/")
    return value if value.endswith("/") else value + "/"
