"""Reading an answer whole, but never more than the integration's ``MAX_RESPONSE_BYTES`` (decompressed); an error's status
wins over its body's size."""

from __future__ import annotations

import httpx2

from modules.infrastructure.domain.errors import IntegrationResponseError
from modules.infrastructure.domain.integrations.requests import OutgoingRequest


def read_limited(response: httpx2.Response, limit: int, integration: str, request: OutgoingRequest) -> bytes:
    """The body; ``IntegrationResponseError`` as soon as it passes ``limit`` bytes (declared or read), the rest unread.
    An answer that has no body (to HEAD, 1xx, 204, 304) declares the resource's length, not its own: not checked."""
    if request.method == "HEAD" or response.status_code < 200 or response.status_code in (204, 304):
        return b""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(integration, request, response.status_code, f"declares {declared} bytes", limit)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise _too_large(integration, request, response.status_code, f"passed {limit} bytes", limit)
        chunks.append(chunk)
    return b"".join(chunks)


def read_answer(response: httpx2.Response, limit: int, integration: str, request: OutgoingRequest) -> bytes:
    """The body within ``limit``; an error page over it is left unread (empty), so the status still says what failed."""
    try:
        return read_limited(response, limit, integration, request)
    except IntegrationResponseError:
        if response.status_code < 400:
            raise
        return b""


def _too_large(integration: str, request: OutgoingRequest, status: int, what: str, limit: int) -> IntegrationResponseError:
    return IntegrationResponseError(
        f"{integration} answered {request.method} {request.path} with {status} and a body that {what}, over "
        f"INTEGRATION_{integration.upper()}_MAX_RESPONSE_BYTES={limit}; raise it or ask the service for less",
        integration=integration, method=request.method, path=request.path, status=status,
    )
