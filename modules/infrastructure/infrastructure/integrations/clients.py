"""``HttpClients``: one ``HttpClient`` per configured integration, built on first use and shared by every caller."""

from __future__ import annotations

import threading
from typing import Any, Protocol

import httpx2

from modules.infrastructure.domain.tracing.ports import NO_TRACING, Tracer
from modules.infrastructure.domain.config.integration_settings import INTEGRATION_PREFIX, integration_name
from modules.infrastructure.domain.config.values import AppConfig, IntegrationConfig
from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.domain.policies.breaker import CircuitBreaker
from modules.infrastructure.domain.policies.rate_limit import CapacityLimiter
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.http_transport.deadline_transport import DeadlineTransport
from modules.infrastructure.infrastructure.integrations.http_client import CallObserver, HttpClient

class TransportSource(Protocol):
    """Where an integration's requests go: the network, or the shipped fake's scripted answers."""

    def transport(self, config: IntegrationConfig) -> httpx2.BaseTransport:
        """The transport for ``config``'s requests."""
        ...

    def configuration(self, name: str) -> IntegrationConfig | None:
        """Settings for an integration the environment does not configure (a fake's), else ``None``."""
        ...


class NetworkTransports:
    """Requests over the network, each socket operation bounded by the call's cutoff; only configured integrations."""

    def transport(self, config: IntegrationConfig) -> httpx2.BaseTransport:
        return DeadlineTransport(config.base_url)

    def configuration(self, name: str) -> IntegrationConfig | None:
        return None


class HttpClients:
    """The integrations of ``config``, on ``transports`` (the network, or the shipped fake, which may add integrations
    the environment does not configure). Rate limits are shared through Redis when REDIS_URL is set."""

    def __init__(
        self,
        config: AppConfig,
        redactor: Redactor,
        observe: CallObserver | None = None,
        transports: TransportSource | None = None,
        tracer: Tracer = NO_TRACING,
    ) -> None:
        self._config = config
        self._tracer = tracer
        self._redactor = redactor
        self._observe = observe
        self._transports = transports or NetworkTransports()
        self._clients: dict[str, HttpClient] = {}
        self._shared_redis: Any = None
        self._lock = threading.Lock()

    def names(self) -> tuple[str, ...]:
        """The integrations the environment configures, in order."""
        return tuple(sorted(self._config.integrations))

    def has(self, name: str) -> bool:
        return self._settings(integration_name(name)) is not None

    def get(self, name: str) -> HttpClient:
        """The client of integration ``name``; ``ConfigurationError`` naming the variable when it is not configured."""
        key = integration_name(name)
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._build(key)
            return self._clients[key]

    def breakers(self) -> dict[str, CircuitBreaker]:
        """The circuit breaker of each integration whose client was built; a retired integration's is gone."""
        with self._lock:
            return {name: client.breaker for name, client in self._clients.items()}

    def _settings(self, key: str) -> IntegrationConfig | None:
        return self._config.integrations.get(key) or self._transports.configuration(key)

    def _build(self, key: str) -> HttpClient:
        config = self._settings(key)
        if config is None:
            configured = ", ".join(self.names()) or "none"
            raise ConfigurationError(
                f"No integration {key!r} is configured (configured: {configured}); set {INTEGRATION_PREFIX}{key.upper()}_BASE_URL "
                "and its credential (.env.example lists the INTEGRATION_<NAME>_* variables)"
            )
        return HttpClient(
            config, transport=self._transports.transport, redactor=self._redactor, limiter=self._limiter(config), observe=self._observe,
            tracer=self._tracer,
        )

    def _limiter(self, config: IntegrationConfig) -> CapacityLimiter | None:
        """The Redis token bucket of ``integration:ratelimit:<name>`` when the limit is set and REDIS_URL is; else in process."""
        if not (config.rpm_limit and self._config.cache.redis_url):
            return None
        from modules.infrastructure.infrastructure.shared_limits.redis_rate_limit import RedisRateLimiter, shared_redis

        variable = f"{INTEGRATION_PREFIX}{config.name.upper()}_RPM_LIMIT"
        if self._shared_redis is None:
            self._shared_redis = shared_redis(self._config.cache)
        return RedisRateLimiter(self._shared_redis, f"integration:ratelimit:{config.name}", config.rpm_limit, None, self._redactor, settings=variable)

    def reconfigure(self, config: AppConfig) -> list[httpx2.Client]:
        """Take a reloaded configuration: each client whose settings changed uses the new ones from its next call, one
        whose integration was removed refuses further calls. Returns the httpx2 clients to close once calls in flight end."""
        replaced: list[httpx2.Client | None] = []
        with self._lock:
            self._config = config
            for key, client in list(self._clients.items()):
                settings = self._settings(key)
                if settings is None:
                    replaced.append(client.retire())
                    del self._clients[key]
                elif settings != client.config:
                    replaced.append(client.reconfigure(settings, self._limiter(settings)))
        return [old for old in replaced if old is not None]

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()
        if self._shared_redis is not None:
            self._shared_redis.close()

    def after_fork(self) -> None:
        self._lock = threading.Lock()
        for client in self._clients.values():
            client.after_fork()  # redis-py's pool notices the new process itself and opens its own connections
