"""The WSGI handler for local download URLs: a genuine token streams the file as an attachment; forged,
altered, expired or traversal-shaped paths get 403 and never a byte of any file."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from modules.infrastructure.domain.storage.upload import CheckedUpload
from modules.infrastructure.infrastructure.storage.local_disk import LocalDiskBackend
from modules.infrastructure.infrastructure.storage.storage_wsgi import storage_wsgi_app
from modules.infrastructure.infrastructure.storage.url_signing import sign_download_token

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
LATER = datetime.now(UTC) + timedelta(minutes=10)


class Response:
    def __init__(self, app: Any, path: str, method: str = "GET") -> None:
        self.status = ""
        self.headers: dict[str, str] = {}
        body: Iterable[bytes] = app({"REQUEST_METHOD": method, "PATH_INFO": path}, self._start)
        self.body = b"".join(body)

    def _start(self, status: str, headers: list[tuple[str, str]]) -> None:
        self.status, self.headers = status, dict(headers)


@pytest.fixture
def backend(tmp_path: Path) -> LocalDiskBackend:
    store = LocalDiskBackend(tmp_path / "store", url_secret="w" * 32)
    store.save("docs", "reports/évaluation \"final\".svg", CheckedUpload(SVG, 10_000, ["*"]))
    (tmp_path / "store" / "passwd").write_bytes(b"root:x:0:0")
    return store


def token(backend: LocalDiskBackend, key: str = "reports/évaluation \"final\".svg", expires: datetime = LATER) -> str:
    return backend.download_url("docs", key, expires).removeprefix("/files/")


def test_a_genuine_token_serves_the_file_as_an_attachment(backend: LocalDiskBackend) -> None:
    response = Response(storage_wsgi_app(backend), "/files/" + token(backend))
    assert response.status == "200 OK"
    assert response.body == SVG
    assert response.headers["Content-Length"] == str(len(SVG))
    assert response.headers["Content-Type"] == backend.info("docs", "reports/évaluation \"final\".svg").content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%C3%A9valuation%20%22final%22.svg" in disposition
    assert 'filename="_valuation _final_.svg"' in disposition


def test_the_download_url_of_a_long_multi_byte_key_is_served(backend: LocalDiskBackend) -> None:
    key = "/".join(["文" * 85] * 12)[:1024]
    backend.save("docs", key, CheckedUpload(b"hello", 100, ["*"]))
    response = Response(storage_wsgi_app(backend), backend.download_url("docs", key, LATER))
    assert (response.status, response.body) == ("200 OK", b"hello")


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 5000


def test_the_headers_describe_the_bytes_sent_while_saves_replace_the_file(backend: LocalDiskBackend) -> None:
    key, stop = "reports/évaluation \"final\".svg", threading.Event()
    url, expected = backend.download_url("docs", key, LATER), {SVG: "image/svg+xml", PNG: "image/png"}

    def replace_again_and_again() -> None:
        while not stop.is_set():
            for data in expected:
                backend.save("docs", key, CheckedUpload(data, 10_000, ["*"]))

    saver = threading.Thread(target=replace_again_and_again)
    saver.start()
    try:
        responses = [Response(storage_wsgi_app(backend), url) for _ in range(300)]
    finally:
        stop.set()
        saver.join()
    assert {r.status for r in responses} == {"200 OK"}
    for response in responses:
        assert (response.headers["Content-Length"], response.headers["Content-Type"]) == (str(len(response.body)), expected[response.body])


def test_a_sidecar_of_another_file_gives_the_facts_measured_from_the_file_sent(backend: LocalDiskBackend) -> None:
    """As while a save is between its renames (its sidecar in place, its data not yet), for as long as it lasts."""
    key = "reports/évaluation \"final\".svg"
    backend.save("docs", "other.png", CheckedUpload(PNG, 10_000, ["*"]))
    data_path = backend.paths.data_path("docs", key)
    backend.paths.meta_path(data_path).write_bytes(backend.paths.meta_path(backend.paths.data_path("docs", "other.png")).read_bytes())
    stored, chunks = backend.open_with_facts("docs", key, 1024)
    assert (stored.size, stored.content_type, b"".join(chunks)) == (len(SVG), "image/svg+xml", SVG)
    response = Response(storage_wsgi_app(backend), backend.download_url("docs", key, LATER))
    assert (response.headers["Content-Length"], response.body) == (str(len(SVG)), SVG)


def test_a_url_base_without_a_trailing_slash_gives_urls_the_handler_serves(tmp_path: Path) -> None:
    store = LocalDiskBackend(tmp_path / "other", url_base="/files", url_secret="w" * 32)
    store.save("docs", "a.txt", CheckedUpload(b"hello", 100, ["*"]))
    url = store.download_url("docs", "a.txt", LATER)
    assert url.startswith("/files/") and Response(storage_wsgi_app(store), url).body == b"hello"


def test_head_sends_the_headers_without_the_body(backend: LocalDiskBackend) -> None:
    response = Response(storage_wsgi_app(backend), "/" + token(backend), method="HEAD")
    assert (response.status, response.body, response.headers["Content-Length"]) == ("200 OK", b"", str(len(SVG)))


def test_other_methods_are_not_allowed(backend: LocalDiskBackend) -> None:
    assert Response(storage_wsgi_app(backend), "/" + token(backend), method="DELETE").status.startswith("405")


def bad_paths(backend: LocalDiskBackend) -> list[str]:
    genuine = token(backend)
    payload, signature = genuine.split(".")
    other_payload = sign_download_token("docs", "passwd", LATER, b"w" * 32).split(".")[0]
    return [
        "/files/../passwd",
        "/files/%2e%2e%2fpasswd",
        "/files/" + token(backend, expires=datetime.now(UTC) - timedelta(seconds=1)),
        f"/files/{other_payload}.{signature}",
        f"/files/{payload}.{signature[::-1]}",
        "/files/" + sign_download_token("docs", "reports/évaluation \"final\".svg", LATER, b"x" * 32),
        "/files/" + sign_download_token("docs", "../passwd", LATER, b"w" * 32),
        "/files/" + sign_download_token("../..", "passwd", LATER, b"w" * 32),
        "/files/",
    ]


def test_forged_expired_tampered_and_traversal_paths_are_forbidden(backend: LocalDiskBackend) -> None:
    app = storage_wsgi_app(backend)
    for path in bad_paths(backend):
        response = Response(app, path)
        assert response.status == "403 Forbidden", path
        assert b"root" not in response.body and SVG not in response.body


def test_a_deleted_file_is_not_found(backend: LocalDiskBackend) -> None:
    url_token = token(backend)
    backend.delete("docs", "reports/évaluation \"final\".svg")
    assert Response(storage_wsgi_app(backend), "/files/" + url_token).status == "404 Not Found"
