"""``SDKClient``: what the adapters on a provider's client package share: the package's client built on first use
(once, under a lock), closed with the adapter, and left to the parent after a fork."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Any

import httpx2

from modules.infrastructure.domain.config.values import LLMConfig
from modules.infrastructure.domain.secrets import Redactor

# Objects inherited across os.fork(): kept referenced, never closed or collected, in the child.
# Closing them would act on the parent's sockets; collecting xllamacpp's server would wait forever
# for a thread that does not exist in the child.
INHERITED: list[Any] = []


class SDKClient:
    """An adapter holding one client of a provider's package; subclasses say how to build it and map its errors.

    ``http_client`` (an ``httpx2.Client``, e.g. on a ``MockTransport``) replaces the one the adapter would build.
    """

    def __init__(self, config: LLMConfig, redactor: Redactor | None = None, http_client: httpx2.Client | None = None) -> None:
        self.config = config
        self.provider = config.provider
        self._http_client = http_client
        self._redactor = redactor or Redactor()
        if config.api_key:
            self._redactor.add([config.api_key.reveal()])
        self._client: Any = None
        self._lock = threading.Lock()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._http_client is None:
            with self._errors():
                client.close()

    def after_fork(self) -> None:
        """In a forked child: leave the parent's connections alone and connect afresh on next use."""
        INHERITED.append(self._client)
        self._client = None
        self._lock = threading.Lock()

    def _sdk(self) -> Any:
        """The package's client, built on first use."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._build()
        return self._client

    def _build(self) -> Any:
        raise NotImplementedError

    def _errors(self) -> AbstractContextManager[None]:
        """The seam every call into the package goes through."""
        raise NotImplementedError
