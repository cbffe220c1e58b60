"""The httpx2 client the openai and anthropic SDKs are given: theirs, on a transport whose sockets keep each call's cutoff."""

from __future__ import annotations

import httpx2
import openai

from modules.infrastructure.infrastructure.http_transport.deadline_transport import DeadlineTransport


def deadline_http_client(base_url: str) -> httpx2.Client:
    """openai's default client (timeouts, redirects, connection limits) on a ``DeadlineTransport`` for ``base_url``."""
    return openai.DefaultHttpxClient(transport=DeadlineTransport(base_url, openai.DEFAULT_CONNECTION_LIMITS))
