"""``BrokerErrors``: the one seam between pika and callers; every pika exception, and the socket
errors of a broker connection, leave it as a ``MessagingError`` naming the nodes and RABBITMQ_URL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from pika.exceptions import (
    AMQPConnectionError,
    AMQPError,
    AuthenticationError,
    ChannelError,
    ProbableAccessDeniedError,
    ProbableAuthenticationError,
    ReentrancyError,
)

from modules.infrastructure.domain.errors import MessagingAuthenticationError, MessagingError
from modules.infrastructure.domain.secrets import Redactor, mask_url
from modules.infrastructure.infrastructure.tls_advice import RABBITMQ_TLS, tls_advice

# pika.exceptions: AMQPError and, outside it, ChannelError (with DuplicateGetOkCallback) and ReentrancyError.
# OSError: a socket, DNS or TLS failure that pika's I/O loop lets through.
BROKER_ERRORS: tuple[type[Exception], ...] = (AMQPError, ChannelError, ReentrancyError, OSError)
# The broker refused the user, password or virtual host: reconnecting cannot help.
REFUSED_CREDENTIALS: tuple[type[Exception], ...] = (AuthenticationError, ProbableAuthenticationError, ProbableAccessDeniedError)


class BrokerErrors:
    """``with errors("Publishing 3 event(s)"):`` raises a broker failure as a ``MessagingError``, chained.

    Refused credentials become ``MessagingAuthenticationError``.
    """

    def __init__(self, urls: Sequence[str], redactor: Redactor) -> None:
        self.nodes = ", ".join(mask_url(url) for url in urls) or "(no node: RABBITMQ_URL is not set)"
        self._redactor = redactor

    @contextmanager
    def __call__(self, doing: str, then: str = "") -> Iterator[None]:
        """``doing`` names the operation ("Publishing 3 event(s)"); ``then`` says what became of the work."""
        try:
            yield
        except BROKER_ERRORS as exc:
            raise self.error(exc, doing, then) from exc

    def error(self, exc: BaseException, doing: str, then: str = "") -> MessagingError:
        """The ``MessagingError`` for ``exc``, for a caller that gives up outside a ``with`` block."""
        detail = self._redactor.redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        error = MessagingAuthenticationError if isinstance(exc, REFUSED_CREDENTIALS) else MessagingError
        return error(f"{doing} failed: RabbitMQ at {self.nodes} ({detail}). {_advice(exc, detail)}{f' {then}' if then else ''}")


def _advice(exc: BaseException, detail: str) -> str:
    if isinstance(exc, REFUSED_CREDENTIALS):
        return "Check the user, password and virtual host in RABBITMQ_URL."
    tls = tls_advice(detail, RABBITMQ_TLS) if isinstance(exc, (AMQPConnectionError, OSError)) else None
    if tls:
        return f"{tls}."
    if isinstance(exc, (AMQPConnectionError, OSError)):
        return "Check that the broker is up and that RABBITMQ_URL names it."
    return "The broker or pika refused the operation; check the broker's log and the permissions of RABBITMQ_URL's user."
