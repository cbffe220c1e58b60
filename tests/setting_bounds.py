"""The numeric settings and where each lands in ``AppConfig``, for the tests of their bounds.

``NUMERIC`` is read from the settings table, so a new numeric setting shows up in those tests by
itself; ``FIELD`` must then say where its value goes (a test checks that it does).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from urllib.parse import urlsplit

from modules.infrastructure.domain.config.parsers import Bounded, WholeNumber, show_number
from modules.infrastructure.domain.config.settings import SETTINGS, Setting
from modules.infrastructure.domain.config.values import AppConfig

NUMERIC: tuple[Setting, ...] = tuple(s for s in SETTINGS if isinstance(s.parse, Bounded))

FIELD: dict[str, Callable[[AppConfig], float | None]] = {
    "API_PORT": lambda c: c.api_config.port,
    "ANTHROPIC_MAX_TOKENS": lambda c: c.llm_config.max_output_tokens,
    "DB_POOL_SIZE": lambda c: c.database.pool_size,
    "DB_MAX_OVERFLOW": lambda c: c.database.max_overflow,
    "DB_POOL_TIMEOUT": lambda c: c.database.pool_timeout,
    "DB_POOL_RECYCLE": lambda c: c.database.pool_recycle,
    "DB_CONNECT_TIMEOUT": lambda c: c.database.connect_timeout,
    "DB_STATEMENT_TIMEOUT_MS": lambda c: c.database.statement_timeout_ms,
    "DB_REPLICA_COOLDOWN": lambda c: c.database.replica_cooldown,
    "DB_READ_YOUR_WRITES_SECONDS": lambda c: c.database.read_your_writes_seconds,
    "DB_POOL_PRE_PING_IDLE_SECONDS": lambda c: c.database.pool_pre_ping_idle_seconds,
    "LLM_TIMEOUT": lambda c: c.llm_config.timeout,
    "LLM_MAX_RETRIES": lambda c: c.llm_config.max_retries,
    "LLM_CACHE_TTL": lambda c: c.llm_config.cache_ttl,
    "LLM_RPM_LIMIT": lambda c: c.llm_config.rpm_limit,
    "LLM_TPM_LIMIT": lambda c: c.llm_config.tpm_limit,
    "LLM_DEADLINE": lambda c: c.llm_config.deadline,
    "LLM_BREAKER_THRESHOLD": lambda c: c.llm_config.breaker_threshold,
    "LLM_BREAKER_COOLDOWN": lambda c: c.llm_config.breaker_cooldown,
    "CACHE_MAX_ITEMS": lambda c: c.cache.max_items,
    "CACHE_DEFAULT_TTL": lambda c: c.cache.default_ttl,
    "CACHE_SOCKET_TIMEOUT": lambda c: c.cache.socket_timeout,
    "CACHE_COMPRESS_MIN_BYTES": lambda c: c.cache.compress_min_bytes,
    "CACHE_NEAR_MAX_ITEMS": lambda c: c.cache.near_max_items,
    "CACHE_NEAR_TTL": lambda c: c.cache.near_ttl,
    "RABBITMQ_HEARTBEAT": lambda c: c.messaging.heartbeat,
    "RABBITMQ_BLOCKED_TIMEOUT": lambda c: c.messaging.blocked_timeout,
    "RABBITMQ_CONNECT_TIMEOUT": lambda c: c.messaging.connect_timeout,
    "MESSAGING_MAX_PAYLOAD_BYTES": lambda c: c.messaging.max_payload_bytes,
    "OUTBOX_POLL_INTERVAL": lambda c: c.messaging.relay_poll_interval,
    "OUTBOX_BATCH_SIZE": lambda c: c.messaging.batch_size,
    "OUTBOX_MAX_ATTEMPTS": lambda c: c.messaging.max_attempts,
    "OUTBOX_RETENTION_HOURS": lambda c: c.messaging.retention_hours,
    "LISTENER_POLL_INTERVAL": lambda c: c.messaging.listener_poll_interval,
    "LISTENER_RETENTION_HOURS": lambda c: c.messaging.listener_retention_hours,
    "LISTENER_PREFETCH": lambda c: c.messaging.listener_prefetch,
    "STORAGE_MAX_FILE_SIZE": lambda c: c.storage.max_file_size,
    "OTEL_EXPORTER_OTLP_TIMEOUT": lambda c: c.tracing.timeout * 1000,
    "OTEL_TRACES_SAMPLER_ARG": lambda c: c.tracing.sampler_ratio,
    "OTEL_BSP_MAX_QUEUE_SIZE": lambda c: c.tracing.max_queue_size,
    "OTEL_BSP_SCHEDULE_DELAY": lambda c: c.tracing.schedule_delay * 1000,
    "STORAGE_TEMP_MAX_AGE": lambda c: c.storage.temp_max_age,
    "DB_PORT": lambda c: urlsplit(c.database.url).port,
    "REDIS_PORT": lambda c: urlsplit(c.cache.redis_url or "").port,
    "REDIS_DB": lambda c: int(urlsplit(c.cache.redis_url or "").path.strip("/")),
}

# What a setting needs beside it to mean anything: a URL part needs its host.
COMPANIONS: dict[str, dict[str, str]] = {
    "DB_PORT": {"DB_HOST": "127.0.0.1"},
    "REDIS_PORT": {"REDIS_HOST": "127.0.0.1"},
    "REDIS_DB": {"REDIS_HOST": "127.0.0.1"},
}


def alone(setting: Setting, raw: str) -> dict[str, str]:
    """The environment of ``setting`` set to ``raw``, with the companions it needs."""
    return {**COMPANIONS.get(setting.name, {}), setting.name: raw}


def bound(setting: Setting) -> float:
    """The setting's largest accepted value."""
    assert isinstance(setting.parse, Bounded) and setting.parse.maximum is not None, f"{setting.name} has no upper bound"
    return setting.parse.maximum


def at_bound(setting: Setting) -> str:
    """The largest accepted value, written as in ``.env``."""
    return show_number(bound(setting))


def past_bound(setting: Setting) -> str:
    """The smallest value just past the bound: the next whole number, or the next float."""
    top = bound(setting)
    if isinstance(setting.parse, WholeNumber):
        return str(int(top) + 1)
    return repr(math.nextafter(float(top), math.inf))
