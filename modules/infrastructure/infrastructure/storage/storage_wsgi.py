"""A WSGI application serving local download URLs: mount it at STORAGE_URL_BASE. It checks the token
(signature, expiry), then streams the file as an attachment, never inline: an HTML or SVG file shown by
the browser on the application's origin would run its scripts there."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from modules.infrastructure.domain.errors import InvalidDownloadTokenError, InvalidFileKeyError, StoredFileNotFoundError
from modules.infrastructure.domain.storage.keys import check_key, check_namespace
from modules.infrastructure.infrastructure.storage.download_headers import content_disposition
from modules.infrastructure.infrastructure.storage.local_disk import LocalDiskBackend

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
CHUNK = 256 * 1024


def storage_wsgi_app(backend: LocalDiskBackend) -> WSGIApp:
    """The handler for ``<STORAGE_URL_BASE><token>``: 200 with the file, 403 for a bad or expired token,
    404 when the file is gone, 405 for a method other than GET or HEAD."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return _plain(start_response, "405 Method Not Allowed", b"Only GET and HEAD\n", [("Allow", "GET, HEAD")])
        token = str(environ.get("PATH_INFO", "")).rsplit("/", 1)[-1]
        try:
            namespace, key = backend.verify_download_token(token)
            check_namespace(namespace), check_key(key)  # signed by us, checked again all the same
            body: Iterable[bytes] = []
            if method == "HEAD":
                stored = backend.info(namespace, key)
            else:  # the headers describe the very file whose bytes are sent, even while a save replaces it
                stored, body = backend.open_with_facts(namespace, key, CHUNK)
        except (InvalidDownloadTokenError, InvalidFileKeyError):
            return _plain(start_response, "403 Forbidden", b"This download link is not valid or has expired\n")
        except StoredFileNotFoundError:
            return _plain(start_response, "404 Not Found", b"The file no longer exists\n")
        start_response("200 OK", [
            ("Content-Type", stored.content_type),
            ("Content-Length", str(stored.size)),
            ("Content-Disposition", content_disposition(key)),
            ("X-Content-Type-Options", "nosniff"),
            ("Cache-Control", "private, no-store"),
        ])
        return body

    return app


def _plain(start_response: StartResponse, status: str, text: bytes, extra: list[tuple[str, str]] | None = None) -> Iterator[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(text))),
                            ("X-Content-Type-Options", "nosniff"), *(extra or [])])
    yield text
