"""The composition root: builds every adapter from ``AppConfig`` on first use, once per process."""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from modules.infrastructure.domain.cache.ports import Cache
from modules.infrastructure.domain.config.values import AppConfig
from modules.infrastructure.domain.health.ports import HealthCheck
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.config.environment_loader import EnvironmentLoader
from modules.infrastructure.infrastructure.logging.setup import configure_logging

if TYPE_CHECKING:
    from modules.infrastructure.infrastructure.database.connection_manager import ConnectionManager
    from modules.infrastructure.infrastructure.database.routing import DatabaseConnection
    from modules.infrastructure.infrastructure.messaging.events import OutboxMessaging
    from modules.infrastructure.infrastructure.metrics.registry import InfrastructureMetrics

logger = logging.getLogger(__name__)

Factory = Callable[["Container"], Any]


def _build_config(container: Container) -> AppConfig:
    config = container.loader.load_config()
    configure_logging(config.logging, container.redactor)
    return config


def _build_database_manager(container: Container) -> Any:
    from modules.infrastructure.infrastructure.database.connection_manager import ConnectionManager

    return ConnectionManager(container.config.database, container.redactor, container.metrics.session_observer)


def _build_database(container: Container) -> Any:
    from modules.infrastructure.infrastructure.database.routing import DatabaseConnection

    return DatabaseConnection(container.config.database, container.get("database_manager"))


def _build_cache(container: Container) -> Any:
    """The shared cache backend: Redis when ``REDIS_URL`` is set, else the in-process ``MemoryCache``."""
    config = container.config.cache
    if config.redis_url is None:
        from modules.infrastructure.infrastructure.cache.memory_cache import MemoryCache

        return MemoryCache(config.max_items, config.default_ttl)
    from modules.infrastructure.infrastructure.cache.redis_cache import RedisCache

    return RedisCache(
        config.redis_url,
        socket_timeout=config.socket_timeout,
        default_ttl=config.default_ttl,
        redactor=container.redactor,
    )


def _build_publisher(container: Container) -> Any:
    """The RabbitMQ publisher, or ``None`` when no ``RABBITMQ_URL`` is set (events wait in the outbox)."""
    from modules.infrastructure.infrastructure.messaging.rabbitmq_publisher import PikaMessagePublisher, broker_settings

    config = container.config.messaging
    return PikaMessagePublisher(broker_settings(config), container.redactor) if config.rabbitmq_urls else None


def _build_messaging(container: Container) -> Any:
    from modules.infrastructure.infrastructure.messaging.events import OutboxMessaging

    metrics = container.metrics
    messaging = OutboxMessaging(
        container.config.messaging, lambda: container.database.get_session(), lambda: container.get("publisher"),
        stored=metrics.events_stored.inc, published=metrics.published,
        max_connections=container.config.database.pool_size + container.config.database.max_overflow,
    )
    messaging.start()
    return messaging


def _build_llm(container: Container) -> Any:
    """The LLM call layer: providers in fallback order, responses cached under the ``llm:`` namespace."""
    from modules.infrastructure.infrastructure.cache.namespaced import NamespacedCache
    from modules.infrastructure.infrastructure.llm_clients.factory import build_gateway
    from modules.infrastructure.infrastructure.metrics.llm_sink import LLMMetricsSink

    cache = NamespacedCache(container.get("cache"), "llm")
    sinks: list[Callable[[Any], None]] = [LLMMetricsSink(container.metrics)]
    if container.config.llm_config.usage_persist:
        from modules.infrastructure.infrastructure.llm_clients.usage_store import DatabaseUsageSink

        sinks.append(DatabaseUsageSink(lambda: container.database.get_session()))
    return build_gateway(container.config, cache, container.redactor, sinks)


def _build_metrics(container: Container) -> Any:
    """The module's Prometheus metrics on a registry of this container's own (``reset()`` starts from zero)."""
    from modules.infrastructure.infrastructure.metrics.wiring import build_metrics

    return build_metrics(container)


def _build_health_checks(container: Container) -> list[HealthCheck]:
    from modules.infrastructure.infrastructure.cache.health import CacheHealthCheck
    from modules.infrastructure.infrastructure.database.health import DatabaseHealthCheck
    from modules.infrastructure.infrastructure.llm_clients.health import LLMHealthCheck
    from modules.infrastructure.infrastructure.messaging.health import MessagingHealthCheck

    return [
        DatabaseHealthCheck(container.get("database_manager")),
        CacheHealthCheck(lambda: container.cache),
        MessagingHealthCheck(lambda: container.get("messaging"), lambda: container.get("publisher").ping()),
        LLMHealthCheck(lambda: container.get("llm")),
    ]


FACTORIES: dict[str, Factory] = {
    "config": _build_config,
    "redactor": lambda c: c.loader.redactor(),
    "database_manager": _build_database_manager,
    "database": _build_database,
    "cache": _build_cache,
    "publisher": _build_publisher,
    "messaging": _build_messaging,
    "llm": _build_llm,
    "health_checks": _build_health_checks,
    "metrics": _build_metrics,
}


class Container:
    """Holds one instance of each component, built lazily under a lock; tests swap them with ``override``."""

    def __init__(self, loader: EnvironmentLoader | None = None, factories: dict[str, Factory] | None = None) -> None:
        self.loader = loader or EnvironmentLoader()
        self._factories = dict(FACTORIES if factories is None else factories)
        self._instances: dict[str, Any] = {}
        self._overrides: list[dict[str, Any]] = []
        self._lock = threading.RLock()

    @property
    def config(self) -> AppConfig:
        return self.get("config")

    @property
    def redactor(self) -> Redactor:
        return self.get("redactor")

    @property
    def database(self) -> DatabaseConnection:
        return self.get("database")

    @property
    def database_manager(self) -> ConnectionManager:
        return self.get("database_manager")

    @property
    def cache(self) -> Cache:
        return self.get("cache")

    @property
    def messaging(self) -> OutboxMessaging:
        return self.get("messaging")

    @property
    def metrics(self) -> InfrastructureMetrics:
        return self.get("metrics")

    @property
    def health_checks(self) -> Sequence[HealthCheck]:
        return self.get("health_checks")

    def get(self, name: str) -> Any:
        """The component called ``name``: an override if one is active, else the built instance."""
        for layer in reversed(self._overrides):
            if name in layer:
                return layer[name]
        try:
            return self._instances[name]
        except KeyError:
            pass
        with self._lock:
            if name not in self._instances:
                self._instances[name] = self._factory(name)(self)
            return self._instances[name]

    @contextmanager
    def override(self, **components: Any) -> Iterator[None]:
        """Use the given components instead of the built ones inside the ``with`` block."""
        for name in components:
            self._factory(name)
        self._overrides.append(components)
        try:
            yield
        finally:
            # reset() may already have dropped this layer; remove it by identity if it is still there.
            self._overrides[:] = [layer for layer in self._overrides if layer is not components]

    def shutdown(self) -> None:
        """Close every built component (newest first) and forget them; safe to call twice."""
        with self._lock:
            instances, self._instances = self._instances, {}
        for name, instance in reversed(list(instances.items())):
            close = getattr(instance, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:  # shutdown goes on; the failure is logged, not raised
                    logger.exception("Closing the %s component failed", name)

    def reset(self) -> None:
        """Close everything, drop overrides and reread the configuration on next use."""
        self.shutdown()
        self._overrides.clear()
        self.loader.reset()

    def after_fork_in_child(self) -> None:
        """In a forked child: let components drop inherited connections without closing the parent's."""
        self._lock = threading.RLock()
        kept = {}
        for name, instance in self._instances.items():
            after_fork = getattr(instance, "after_fork", None)
            if callable(after_fork):
                after_fork()
                kept[name] = instance
            elif not callable(getattr(instance, "close", None)):
                kept[name] = instance
        self._instances = kept

    def _factory(self, name: str) -> Factory:
        try:
            return self._factories[name]
        except KeyError:
            known = ", ".join(sorted(self._factories))
            raise ValueError(f"Unknown infrastructure component {name!r}; known components: {known}") from None


_container: Container | None = None
_container_lock = threading.Lock()


def get_container() -> Container:
    """The process-wide container, created on first use; ``shutdown`` runs at interpreter exit."""
    global _container
    container = _container
    if container is None:
        with _container_lock:
            if _container is None:
                _container = Container()
                atexit.register(_container.shutdown)
            container = _container
    return container


def _after_fork_in_child() -> None:
    global _container_lock
    _container_lock = threading.Lock()
    if _container is not None:
        _container.after_fork_in_child()


os.register_at_fork(after_in_child=_after_fork_in_child)
