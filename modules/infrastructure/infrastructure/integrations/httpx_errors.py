"""The one seam where httpx2's exceptions become ``IntegrationError``s naming the integration and the call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx2

from modules.infrastructure.domain.errors import (
    IntegrationConnectionError,
    IntegrationError,
    IntegrationTimeoutError,
    InvalidArgumentError,
)
from modules.infrastructure.domain.integrations.requests import OutgoingRequest
from modules.infrastructure.domain.secrets import Redactor


@contextmanager
def httpx_errors(integration: str, request: OutgoingRequest, redactor: Redactor) -> Iterator[None]:
    """Map every httpx2 exception (and the OS errors beneath it) raised inside the block; ours pass through."""
    call = f"{integration} {request.method} {request.path}"
    try:
        yield
    except IntegrationError:
        raise
    except httpx2.TimeoutException as exc:
        raise IntegrationTimeoutError(
            f"{call} timed out ({_reason(exc, redactor)}); try later or raise INTEGRATION_{integration.upper()}_TIMEOUT",
            integration=integration, method=request.method, path=request.path,
        ) from exc
    except (httpx2.InvalidURL, httpx2.UnsupportedProtocol, UnicodeError) as exc:  # UnicodeError: text a request cannot carry
        raise InvalidArgumentError(f"{call}: the request cannot be built ({_reason(exc, redactor)})") from exc
    except (httpx2.HTTPError, httpx2.StreamError, httpx2.CookieConflict, OSError, ValueError) as exc:  # ValueError: ssl, idna, h11 refusals
        raise IntegrationConnectionError(
            f"{call} failed: {_reason(exc, redactor)}; check INTEGRATION_{integration.upper()}_BASE_URL and that the service is up",
            integration=integration, method=request.method, path=request.path,
        ) from exc


def _reason(exc: BaseException, redactor: Redactor) -> str:
    text = redactor.redact(str(exc))[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
