"""The log lines of the outside calls: a warning per failed call (information for a client error), a debug line per answer.

Structured: ``integration``, ``method``, ``path`` (never the query), ``status`` and ``attempts`` ride as fields.
"""

from __future__ import annotations

import logging

from modules.infrastructure.domain.errors import IntegrationClientError, IntegrationError
from modules.infrastructure.domain.integrations.requests import OutgoingRequest

logger = logging.getLogger(__name__)


def log_failure(integration: str, request: OutgoingRequest, error: IntegrationError, attempts: int) -> None:
    """One line per failed call: a warning, but a client error (the request was wrong: a 404, a 422) is routine news."""
    level = logging.INFO if isinstance(error, IntegrationClientError) else logging.WARNING
    logger.log(level, "%s", error, extra=_fields(integration, request, error.status, attempts))


def log_answer(integration: str, request: OutgoingRequest, status: int, attempts: int, elapsed: float) -> None:
    """The debug line of an answered call: integration, method, path, status, time and attempts."""
    logger.debug(
        "%s %s %s -> %s in %.0f ms (%d attempt(s))", integration, request.method, request.path, status, elapsed * 1000, attempts,
        extra=_fields(integration, request, status, attempts),
    )


def _fields(integration: str, request: OutgoingRequest, status: int | None, attempts: int) -> dict[str, object]:
    return {"integration": integration, "method": request.method, "path": request.path, "status": status, "attempts": attempts}
