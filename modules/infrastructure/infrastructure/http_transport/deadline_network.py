"""Sockets that stop at a cutoff: every connect, read and write of a request ends when its call's time is up.

A client's ``timeout`` bounds each socket operation, so a server that sends one byte every half
second never trips it. ``cutoff(at)`` sets a point in time for the calls made inside the block, in
this thread; ``DeadlineBackend``'s streams shorten each operation's timeout to the time left
before it, and raise httpcore2's timeout once it has passed.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpcore2

_CUTOFF: ContextVar[float | None] = ContextVar("request_cutoff", default=None)


@contextmanager
def cutoff(at: float) -> Iterator[None]:
    """Socket operations inside the block end at ``at`` (``time.monotonic()``) at the latest; a sooner outer cutoff holds."""
    outer = _CUTOFF.get()
    token = _CUTOFF.set(at if outer is None else min(at, outer))
    try:
        yield
    finally:
        _CUTOFF.reset(token)


def _bounded(timeout: float | None, error: type[httpcore2.TimeoutException]) -> float | None:
    """``timeout`` shortened to the time left before the cutoff; raises ``error`` once it has passed."""
    at = _CUTOFF.get()
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the call's time was up")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore2.NetworkStream):
    """A network stream whose operations never outlast the current cutoff."""

    def __init__(self, stream: httpcore2.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.NetworkStream:
        bounded = _bounded(timeout, httpcore2.ConnectTimeout)
        return DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore2.NetworkBackend):
    """httpcore2's own sockets, each wrapped in a ``DeadlineStream``."""

    def __init__(self, backend: httpcore2.NetworkBackend | None = None) -> None:
        self._backend = backend or httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.NetworkStream:
        bounded = _bounded(timeout, httpcore2.ConnectTimeout)
        return DeadlineStream(self._backend.connect_tcp(host, port, bounded, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None
    ) -> httpcore2.NetworkStream:
        bounded = _bounded(timeout, httpcore2.ConnectTimeout)
        return DeadlineStream(self._backend.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)
