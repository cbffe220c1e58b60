"""The composition root: every component of the module, and the one function that wires it.

Each component below is declared once, beside the builder that makes it from ``AppConfig``; a
builder's parameters name the components it needs. ``bootstrap()`` takes the same names, so any
component can be handed in instead of built (a fake in a test, an application's own client).
Builders import their adapters when they run: nothing connects, and no driver is imported,
until a component is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modules.infrastructure.infrastructure.components import Components, resource, value

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from modules.infrastructure.domain.cache.ports import CacheBackend
    from modules.infrastructure.domain.config.values import AppConfig
    from modules.infrastructure.domain.health.ports import HealthCheck
    from modules.infrastructure.domain.llm.gateway import LLMGateway
    from modules.infrastructure.domain.llm.providers import LLMProviders
    from modules.infrastructure.domain.messaging.ports import MessagePublisher
    from modules.infrastructure.domain.secrets import Redactor
    from modules.infrastructure.domain.storage.ports import StorageBackend
    from modules.infrastructure.domain.tracing.ports import Tracing
    from modules.infrastructure.infrastructure.config.environment_loader import EnvironmentLoader
    from modules.infrastructure.infrastructure.database.database import Database
    from modules.infrastructure.infrastructure.integrations.clients import HttpClients, TransportSource
    from modules.infrastructure.infrastructure.messaging.consumers import Consumers
    from modules.infrastructure.infrastructure.messaging.events import OutboxMessaging
    from modules.infrastructure.infrastructure.messaging.module_events import ModuleEvents
    from modules.infrastructure.infrastructure.metrics.exposition import MetricsExposition
    from modules.infrastructure.infrastructure.metrics.registry import InfrastructureMetrics


def build_environment() -> EnvironmentLoader:
    """The process environment with the dotenv file beneath it, read once."""
    from modules.infrastructure.infrastructure.config.environment_loader import EnvironmentLoader

    return EnvironmentLoader()


def build_redactor(environment: EnvironmentLoader) -> Redactor:
    return environment.redactor()


def build_config(environment: EnvironmentLoader, redactor: Redactor) -> AppConfig:
    """The validated configuration; logging is set up from it, with secrets redacted."""
    from modules.infrastructure.infrastructure.logging.setup import configure_logging

    from modules.infrastructure.infrastructure.config.environment_loader import log_unknown_variables

    config = environment.load_config()
    configure_logging(config.logging, redactor)
    log_unknown_variables(config)  # once, in the configured format (JSON lines stay JSON)
    return config


def build_metrics() -> InfrastructureMetrics:
    """The module's metric families; with ``PROMETHEUS_MULTIPROC_DIR``, a folder that cannot take their files is a
    ``ConfigurationError`` here rather than prometheus_client's ``OSError`` at the first metric."""
    from modules.infrastructure.infrastructure.metrics.multiprocess import leave_the_scrape_at_exit, multiprocess_folder
    from modules.infrastructure.infrastructure.metrics.registry import InfrastructureMetrics

    if multiprocess_folder() is not None:
        leave_the_scrape_at_exit()
    return InfrastructureMetrics()


def build_tracing(config: AppConfig, redactor: Redactor) -> Tracing:
    """Spans through OpenTelemetry: exported by the module's own provider when ``OTEL_*`` asks for it, else handed to
    an SDK the application installed (or to nothing, at the cost of a call); none at all with ``OTEL_SDK_DISABLED``."""
    if config.tracing.exporter == "disabled":
        from modules.infrastructure.domain.tracing.ports import NoTracing

        return NoTracing()
    from modules.infrastructure.infrastructure.tracing.otel_tracer import OtelTracer

    if not config.tracing.exports:
        return OtelTracer(redactor, captures_content=config.tracing.capture_content)
    from modules.infrastructure.domain.tracing.export_counts import ExportCounts
    from modules.infrastructure.infrastructure.tracing.provider import build_provider

    counts = ExportCounts()
    count: Callable[[str, int], None] = counts.add
    if config.metrics.multiprocess_dir is not None:  # the scrape sums every worker's counts from their files
        from modules.infrastructure.infrastructure.metrics.process_figures import trace_export_counter

        in_files = trace_export_counter()
        if in_files is not None:
            count = counts.also(in_files)
    return OtelTracer(redactor, build_provider(config.tracing, count), config.tracing.capture_content, counts)


def build_database(config: AppConfig, redactor: Redactor, metrics: InfrastructureMetrics, tracing: Tracing) -> Database:
    from modules.infrastructure.infrastructure.database.database import Database
    from modules.infrastructure.infrastructure.metrics.process_figures import copy_pools

    database = Database(config.database, redactor, metrics.session_observer, tracing)
    copy_pools(database.stats, metrics.label)  # multi-process mode: this worker's pools in its metric files
    return database


def build_cache(config: AppConfig, redactor: Redactor, tracing: Tracing) -> CacheBackend:
    """The cache backend; with PROMETHEUS_MULTIPROC_DIR its counts are copied into this worker's metric files."""
    cache = _cache_backend(config, redactor, tracing)
    if config.metrics.multiprocess_dir is not None:  # else no prometheus_client import: a process that only caches needs none
        from modules.infrastructure.infrastructure.metrics.process_figures import copy_cache

        copy_cache(cache.stats)
    return cache


def _cache_backend(config: AppConfig, redactor: Redactor, tracing: Tracing) -> CacheBackend:
    """Redis when ``REDIS_URL`` is set (its calls traced), else the in-process ``MemoryCache``."""
    settings = config.cache
    if settings.redis_url is None:
        from modules.infrastructure.infrastructure.cache.memory_cache import MemoryCache

        return MemoryCache(settings.max_items, settings.default_ttl)
    from modules.infrastructure.infrastructure.cache.redis_cache import RedisCache
    from modules.infrastructure.infrastructure.cache.traced_cache import TracedCache

    redis = RedisCache(
        settings.redis_url, socket_timeout=settings.socket_timeout, default_ttl=settings.default_ttl, redactor=redactor,
        tls=settings.tls, compress_min_bytes=settings.compress_min_bytes,
    )
    if not settings.near_max_items:
        return TracedCache(redis, tracing)
    from modules.infrastructure.infrastructure.cache.near_cache import NearCache
    from modules.infrastructure.infrastructure.cache.near_copies import NearCopies

    # Spans around what reaches Redis; a near-cache hit does not.
    return NearCache(TracedCache(redis, tracing), NearCopies(settings.near_max_items, settings.near_ttl))


def build_publisher(config: AppConfig, redactor: Redactor) -> MessagePublisher | None:
    """The RabbitMQ publisher, or ``None`` without ``RABBITMQ_URL`` (events wait in the outbox)."""
    if not config.messaging.rabbitmq_urls:
        return None
    from modules.infrastructure.infrastructure.messaging.rabbitmq_publisher import PikaMessagePublisher, broker_settings

    return PikaMessagePublisher(broker_settings(config.messaging), redactor)


def build_listeners(
    config: AppConfig, database: Database, publisher: MessagePublisher | None, redactor: Redactor, metrics: InfrastructureMetrics,
    tracing: Tracing,
) -> ModuleEvents:
    """Listeners and their publication records: run by a worker thread here, or by module queues on RabbitMQ."""
    from modules.infrastructure.infrastructure.messaging.module_events import ModuleEvents
    from modules.infrastructure.infrastructure.messaging.publication_runner import PublicationRunner

    queues = None
    if config.messaging.rabbitmq_urls and publisher is not None:
        from modules.infrastructure.infrastructure.messaging.rabbitmq_module_queues import RabbitMQModuleQueues

        queues = RabbitMQModuleQueues(config.messaging, redactor)
    runner = PublicationRunner(database.session, redactor, metrics.listener_outcome, tracing)
    return ModuleEvents(config.messaging, database.session, runner, queues)


def build_messaging(
    config: AppConfig, database: Database, publisher: MessagePublisher | None, metrics: InfrastructureMetrics, listeners: ModuleEvents,
    tracing: Tracing,
) -> OutboxMessaging:
    """``publish_event`` into the outbox and the relay to the broker (a background thread with OUTBOX_RELAY=thread)."""
    from modules.infrastructure.infrastructure.messaging.events import OutboxMessaging
    from modules.infrastructure.infrastructure.messaging.module_events import ModuleEvents
    from modules.infrastructure.infrastructure.messaging.relay_lock import relay_lock_for

    messaging = OutboxMessaging(
        config.messaging, database.session, publisher, stored=metrics.events_stored.inc, published=metrics.published,
        max_connections=config.database.pool_size + config.database.max_overflow,
        relay_lock=relay_lock_for(config.database.url),
        listeners=listeners,
        tracer=tracing,
    )
    messaging.start()
    return messaging


def build_consumers(config: AppConfig, redactor: Redactor, tracing: Tracing) -> Consumers:
    from modules.infrastructure.infrastructure.messaging.consumers import Consumers

    return Consumers(config.messaging, redactor, tracing)


def build_llm_providers(config: AppConfig, redactor: Redactor) -> LLMProviders:
    """The primary provider and its fallbacks, with the price table; rate limits shared through Redis when set."""
    from modules.infrastructure.infrastructure.llm_clients.factory import build_providers

    return build_providers(config, redactor)


def build_llm(
    config: AppConfig, llm_providers: LLMProviders, cache: CacheBackend, metrics: InfrastructureMetrics, database: Database, tracing: Tracing
) -> LLMGateway:
    """The call layer: responses cached under ``llm:``, usage to the metrics (and the database with LLM_USAGE_PERSIST)."""
    from modules.infrastructure.domain.cache.namespaced import NamespacedCache
    from modules.infrastructure.domain.llm.gateway import LLMGateway
    from modules.infrastructure.domain.llm.usage import UsageLedger, UsageSink
    from modules.infrastructure.infrastructure.metrics.llm_sink import LLMMetricsSink

    sinks: list[UsageSink] = [LLMMetricsSink(metrics)]
    if config.llm_config.usage_persist:
        from modules.infrastructure.infrastructure.llm_clients.usage_store import DatabaseUsageSink

        sinks.append(DatabaseUsageSink(database.session))
    gateway = LLMGateway(llm_providers, NamespacedCache(cache, "llm"), UsageLedger(sinks=sinks), tracing)
    if config.metrics.multiprocess_dir is not None:  # this worker's breakers in its metric files (the providers in use)
        from modules.infrastructure.infrastructure.metrics.collectors import llm_breakers
        from modules.infrastructure.infrastructure.metrics.process_figures import copy_breakers

        copy_breakers("llm", lambda: llm_breakers(gateway.providers), metrics.label)
    return gateway


def build_storage(config: AppConfig, redactor: Redactor) -> StorageBackend:
    """Files on the local disk (``STORAGE_URL``, default ``var/storage``) or in an S3-compatible bucket."""
    from modules.infrastructure.infrastructure.storage.factory import build_storage_backend

    return build_storage_backend(config.storage, redactor, config.is_production)


def build_http_transports() -> TransportSource:
    """Where the integrations' requests go: the network (the shipped fake gives scripted answers instead)."""
    from modules.infrastructure.infrastructure.integrations.clients import NetworkTransports

    return NetworkTransports()


def build_http_clients(
    config: AppConfig, redactor: Redactor, metrics: InfrastructureMetrics, http_transports: TransportSource, tracing: Tracing
) -> HttpClients:
    """One resilient client per ``INTEGRATION_<NAME>_*`` integration, built on first use."""
    from modules.infrastructure.infrastructure.integrations.clients import HttpClients

    clients = HttpClients(config, redactor, metrics.integration_call, http_transports, tracing)
    if config.metrics.multiprocess_dir is not None:  # this worker's breakers in its metric files
        from modules.infrastructure.infrastructure.metrics.collectors import integration_breakers
        from modules.infrastructure.infrastructure.metrics.process_figures import copy_breakers

        copy_breakers("integration", lambda: integration_breakers(clients), metrics.label)
    return clients


def build_health_checks(components: Infrastructure) -> Sequence[HealthCheck]:
    """One check per component; each looks its component up when it runs, so one that fails to build is one error line."""
    from modules.infrastructure.infrastructure.cache.health import CacheHealthCheck
    from modules.infrastructure.infrastructure.database.health import DatabaseHealthCheck
    from modules.infrastructure.infrastructure.integrations.health import IntegrationHealthCheck
    from modules.infrastructure.infrastructure.llm_clients.health import LLMHealthCheck
    from modules.infrastructure.infrastructure.messaging.health import MessagingHealthCheck
    from modules.infrastructure.infrastructure.storage.health import StorageHealthCheck

    return [
        DatabaseHealthCheck(lambda: components.database),
        CacheHealthCheck(lambda: components.cache),
        MessagingHealthCheck(lambda: components.messaging, lambda: components.publisher, lambda: components.listeners),
        LLMHealthCheck(lambda: components.llm),
        StorageHealthCheck(lambda: components.storage),
        *(IntegrationHealthCheck(name, lambda: components.http_clients) for name in _integration_names(components)),
    ]


def readiness_checks(components: Infrastructure, timeout: float) -> list[HealthCheck]:
    """The start-up checks as the readiness probe runs them: the database's on a connection of its own within
    ``timeout`` (a pool with every connection in use is busy, not unready); checks a set was given stay as they are."""
    from modules.infrastructure.infrastructure.database.health import DatabaseHealthCheck, DatabaseReadinessCheck

    return [
        DatabaseReadinessCheck(lambda: components.database, timeout) if isinstance(check, DatabaseHealthCheck) else check
        for check in components.health_checks
    ]


def _integration_names(components: Infrastructure) -> list[str]:
    """The configured integrations; none when the configuration cannot be read (its own check reports why)."""
    from modules.infrastructure.domain.errors import InfrastructureError

    try:
        return sorted(components.config.integrations)
    except InfrastructureError:
        return []


def build_exposition(
    config: AppConfig, metrics: InfrastructureMetrics, database: Database, cache: CacheBackend, listeners: ModuleEvents, tracing: Tracing,
    components: Infrastructure,
) -> MetricsExposition:
    """The scrape: this process's registry, or with ``PROMETHEUS_MULTIPROC_DIR`` every worker's files merged. The breakers
    are those of the LLM providers the call layer uses and the integration clients, as they are at each scrape (after a
    reload, the new ones), and none of a component nothing has built yet."""
    from modules.infrastructure.infrastructure.metrics.exposition import MetricsExposition
    from modules.infrastructure.infrastructure.metrics.multiprocess import same_as_configured

    def llm_providers() -> LLMProviders | None:
        gateway = components.peek(Infrastructure.llm)
        return None if gateway is None else gateway.providers

    return MetricsExposition(
        metrics, database, cache, listeners, tracing.export_counts, same_as_configured(config.metrics.multiprocess_dir),
        llm_providers=llm_providers, http_clients=lambda: components.peek(Infrastructure.http_clients),
    )


class Infrastructure(Components):
    """Every component of the module, built on first use from the builder beside it, once per set.

    ``derive(**components)`` gives a set with those components in place, in which what depends on
    them is built anew and everything else is shared with this one (``override()`` uses it).
    """

    environment = value(build_environment)
    redactor = value(build_redactor)
    config = value(build_config)
    metrics = value(build_metrics)
    tracing = resource(build_tracing)
    database = resource(build_database)
    cache = resource(build_cache)
    publisher = resource(build_publisher)
    listeners = resource(build_listeners)
    messaging = resource(build_messaging)
    consumers = resource(build_consumers)
    llm_providers = resource(build_llm_providers)
    llm = value(build_llm)
    storage = resource(build_storage)
    http_transports = value(build_http_transports)
    http_clients = resource(build_http_clients)
    health_checks = value(build_health_checks)
    exposition = value(build_exposition)


class NotGiven:
    """The default of ``bootstrap()``'s parameters: build this component (``None`` is a value: no publisher)."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()


def bootstrap(
    *,
    environment: EnvironmentLoader | NotGiven = NOT_GIVEN,
    redactor: Redactor | NotGiven = NOT_GIVEN,
    config: AppConfig | NotGiven = NOT_GIVEN,
    metrics: InfrastructureMetrics | NotGiven = NOT_GIVEN,
    tracing: Tracing | NotGiven = NOT_GIVEN,
    database: Database | NotGiven = NOT_GIVEN,
    cache: CacheBackend | NotGiven = NOT_GIVEN,
    publisher: MessagePublisher | None | NotGiven = NOT_GIVEN,
    listeners: ModuleEvents | NotGiven = NOT_GIVEN,
    messaging: OutboxMessaging | NotGiven = NOT_GIVEN,
    consumers: Consumers | NotGiven = NOT_GIVEN,
    llm_providers: LLMProviders | NotGiven = NOT_GIVEN,
    llm: LLMGateway | NotGiven = NOT_GIVEN,
    storage: StorageBackend | NotGiven = NOT_GIVEN,
    http_transports: TransportSource | NotGiven = NOT_GIVEN,
    http_clients: HttpClients | NotGiven = NOT_GIVEN,
    health_checks: Sequence[HealthCheck] | NotGiven = NOT_GIVEN,
    exposition: MetricsExposition | NotGiven = NOT_GIVEN,
) -> Infrastructure:
    """The module's components: each one given here is used as it is, every other is built on first use.

    ``bootstrap()`` reads the process environment; ``bootstrap(config=..., cache=MemoryCache())`` runs on
    a configuration and a cache of your own; ``publisher=None`` runs without a broker whatever the
    configuration says. ``override()`` takes the same names. Close what it built with ``close()``.
    """
    given = {name: component for name, component in locals().items() if component is not NOT_GIVEN}
    return Infrastructure(given)
