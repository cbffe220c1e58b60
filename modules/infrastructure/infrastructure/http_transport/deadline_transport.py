"""The HTTP transport of the LLM adapters and the HTTP integrations: httpx2 on httpcore2 with ``DeadlineBackend``,
so a call's cutoff holds.

httpx2's own transport takes no network backend, so this one builds httpcore2's pool itself, with
the connection limits its caller gives (the LLM adapters: openai's defaults), and the proxy the environment
names for the URL (``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``, ``NO_PROXY``, as ``urllib`` reads them).
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import httpcore2
import httpx2

from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.domain.secrets import mask_url
from modules.infrastructure.infrastructure.http_transport.deadline_network import DeadlineBackend

# httpcore2's exceptions and httpx2's own for them (httpx2 maps them so in its transport), subclasses first.
_MAPPED: tuple[tuple[type[Exception], type[httpx2.TransportError]], ...] = (
    (httpcore2.ConnectTimeout, httpx2.ConnectTimeout),
    (httpcore2.ReadTimeout, httpx2.ReadTimeout),
    (httpcore2.WriteTimeout, httpx2.WriteTimeout),
    (httpcore2.PoolTimeout, httpx2.PoolTimeout),
    (httpcore2.TimeoutException, httpx2.TimeoutException),
    (httpcore2.ConnectError, httpx2.ConnectError),
    (httpcore2.ReadError, httpx2.ReadError),
    (httpcore2.WriteError, httpx2.WriteError),
    (httpcore2.NetworkError, httpx2.NetworkError),
    (httpcore2.ProxyError, httpx2.ProxyError),
    (httpcore2.UnsupportedProtocol, httpx2.UnsupportedProtocol),
    (httpcore2.LocalProtocolError, httpx2.LocalProtocolError),
    (httpcore2.RemoteProtocolError, httpx2.RemoteProtocolError),
    (httpcore2.ProtocolError, httpx2.ProtocolError),
)


class DeadlineTransport(httpx2.BaseTransport):
    """Requests through one httpcore2 pool (direct, or through the environment's proxy for ``base_url``)."""

    def __init__(self, base_url: str, limits: httpx2.Limits = httpx2.Limits(max_connections=100, max_keepalive_connections=20)) -> None:
        backend = DeadlineBackend()
        ssl_context = httpx2.create_ssl_context()
        proxy = environment_proxy(base_url)
        self._pool: httpcore2.ConnectionPool
        if proxy is None:
            self._pool = httpcore2.ConnectionPool(
                ssl_context=ssl_context,
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry,
                network_backend=backend,
            )
        else:
            self._pool = httpcore2.HTTPProxy(
                proxy_url=_core_url(proxy.url),
                proxy_auth=proxy.raw_auth,
                proxy_headers=proxy.headers.raw,
                ssl_context=ssl_context,
                proxy_ssl_context=proxy.ssl_context,
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry,
                network_backend=backend,
            )

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        assert isinstance(request.stream, httpx2.SyncByteStream)
        core_request = httpcore2.Request(
            method=request.method,
            url=_core_url(request.url),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors(request):
            response = self._pool.handle_request(core_request)
        assert isinstance(response.stream, Iterable)
        return httpx2.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream, request),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def environment_proxy(base_url: str) -> httpx2.Proxy | None:
    """The proxy the environment names for ``base_url``'s scheme (or for all), unless ``NO_PROXY`` exempts its host;
    raises ``ConfigurationError`` for one that is not an HTTP(S) proxy (``socks5://``)."""
    url = httpx2.URL(base_url)
    proxies = urllib.request.getproxies()
    address = proxies.get(url.scheme) or proxies.get("all")
    if not address or urllib.request.proxy_bypass(url.host):
        return None
    address = address if "://" in address else f"http://{address}"
    if not address.lower().startswith(("http://", "https://")):
        raise ConfigurationError(
            f"The environment names the proxy {mask_url(address)} for {mask_url(base_url)} (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY); "
            "the module's HTTP clients go through HTTP(S) proxies only: name one, or exempt the host in NO_PROXY"
        )
    try:
        return httpx2.Proxy(address)
    except (httpx2.InvalidURL, ValueError) as exc:
        raise ConfigurationError(
            f"The environment names the proxy {mask_url(address)} (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY), which is not "
            f"a valid URL ({exc}); fix it, e.g. http://proxy.example:3128, or exempt the host in NO_PROXY"
        ) from None


class _ResponseStream(httpx2.SyncByteStream):
    """The body as httpcore2 reads it, its errors raised as httpx2's."""

    def __init__(self, stream: Iterable[bytes], request: httpx2.Request) -> None:
        self._stream = stream
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors(self._request):
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)  # httpcore2's pool streams have one; httpx2's transport asks so too
        if close is not None:
            close()


@contextmanager
def _httpx_errors(request: httpx2.Request) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core, mapped in _MAPPED:
            if isinstance(exc, core):
                raise mapped(str(exc), request=request) from exc
        raise


def _core_url(url: httpx2.URL) -> httpcore2.URL:
    return httpcore2.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)
