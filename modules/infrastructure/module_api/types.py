"""Public data types of the infrastructure module.

Configuration types are frozen and mask their secrets: ``repr`` and ``str`` never show an
API key or a URL password. A credential is held in a :class:`Secret`; read it with
``reveal()`` only where it is handed to a client.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from time import perf_counter
from types import MappingProxyType
from typing import Any, Protocol

from modules.infrastructure.domain.secrets import MASK, mask_url

__all__ = [
    "APIConfig",
    "AppConfig",
    "CacheConfig",
    "CacheStats",
    "CheckStatus",
    "ComponentCheck",
    "Consumer",
    "DatabaseConfig",
    "DatabaseSession",
    "Envelope",
    "EnvironmentStatus",
    "LLMClient",
    "LLMConfig",
    "LLMResponse",
    "LLMUsageSummary",
    "LoggingConfig",
    "MessagingConfig",
    "MigrationStatus",
    "PoolStats",
    "Prompt",
    "PromptContext",
    "RelayResult",
    "Secret",
    "UsageStats",
]

_URL = {"mask": "url"}
_URLS = {"mask": "urls"}


class Secret:
    """A credential that does not show itself: ``repr``/``str`` print ``****``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The real value, for handing to a client library; never log it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


class _MaskedRepr:
    """Mixin for dataclasses: URL fields are shown with their password masked."""

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if not f.repr:
                continue
            value = getattr(self, f.name)
            kind = f.metadata.get("mask")
            if kind == "url" and value is not None:
                value = mask_url(value)
            elif kind == "urls":
                value = tuple(mask_url(v) for v in value)
            elif isinstance(value, MappingProxyType):
                value = dict(value)
            parts.append(f"{f.name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    __str__ = __repr__


@dataclass(frozen=True, repr=False)
class DatabaseConfig(_MaskedRepr):
    """Where the database is and how its connection pool behaves."""

    url: str = field(metadata=_URL)
    replica_urls: tuple[str, ...] = field(default=(), metadata=_URLS)
    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout: float = 30.0
    pool_recycle: int = 1800
    echo: bool = False
    pool_pre_ping: bool = True
    connect_timeout: float = 5.0
    statement_timeout_ms: int | None = None
    application_name: str = "modules-infrastructure"
    replica_cooldown: float = 30.0


@dataclass(frozen=True, repr=False)
class LLMConfig(_MaskedRepr):
    """One LLM provider's settings, with the call policy shared by every provider."""

    provider: str
    model: str
    api_key: Secret | None = None
    base_url: str | None = field(default=None, metadata=_URL)
    endpoint: str | None = field(default=None, metadata=_URL)
    api_version: str | None = None
    deployment: str | None = None
    local_model_path: str | None = None
    timeout: float = 30.0
    max_retries: int = 3
    cache_ttl: int = 86400
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    deadline: float = 90.0
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0
    prices_file: str | None = None
    usage_persist: bool = False
    context_size: int | None = None


@dataclass(frozen=True, repr=False)
class APIConfig(_MaskedRepr):
    """Where an HTTP front end of the application should listen."""

    host: str = "127.0.0.1"
    port: int = 8000


@dataclass(frozen=True, repr=False)
class CacheConfig(_MaskedRepr):
    """The shared cache; no ``redis_url`` means the in-memory cache."""

    redis_url: str | None = field(default=None, metadata=_URL)
    max_items: int = 10000
    default_ttl: float | None = None
    socket_timeout: float = 0.5


@dataclass(frozen=True, repr=False)
class MessagingConfig(_MaskedRepr):
    """The message broker; several URLs mean failover across cluster nodes."""

    rabbitmq_urls: tuple[str, ...] = field(default=(), metadata=_URLS)
    queue_type: str = "classic"
    heartbeat: int = 60
    blocked_timeout: float = 30.0
    connect_timeout: float = 5.0
    max_payload_bytes: int = 1_048_576
    relay_mode: str = "immediate"
    relay_poll_interval: float = 2.0
    batch_size: int = 1000
    max_attempts: int = 5
    retention_hours: float = 168.0


@dataclass(frozen=True, repr=False)
class LoggingConfig(_MaskedRepr):
    """Log level and line format (``text`` or ``json``)."""

    level: str = "INFO"
    format: str = "text"


@dataclass(frozen=True, repr=False)
class AppConfig(_MaskedRepr):
    """The whole validated configuration, read once per process."""

    environment: str
    debug: bool
    database: DatabaseConfig
    llm_config: LLMConfig
    api_config: APIConfig
    cache: CacheConfig
    messaging: MessagingConfig
    logging: LoggingConfig
    feature_flags: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    llm_fallbacks: tuple[LLMConfig, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def database_url(self) -> str:
        """The primary database URL (``database.url``)."""
        return self.database.url

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


def _unchanged(exc: Exception) -> Exception:
    return exc


@dataclass
class DatabaseSession:
    """A pooled database session. Recommended: use it as a context manager.

    ``with InfrastructureService.get_database_session() as db:`` commits when the block ends,
    rolls back on an exception, and always closes (the connection goes back to the pool);
    a driver error leaving the block is raised as a ``DatabaseError`` subclass. Attribute
    access goes to the SQLAlchemy ``Session``: ``db.execute(text("SELECT 1")).scalar()``,
    ``db.query(Model)``. Without ``with``, call ``commit()`` and ``close()`` yourself; then
    ``execute``, ``scalar(s)``, ``get``, ``flush`` and ``commit`` map driver errors, while a
    ``Query`` object's own methods raise SQLAlchemy's (inside ``with`` everything is mapped).
    """

    session: Any
    connection_id: str
    map_error: Callable[[Exception], Exception] = field(default=_unchanged, repr=False, compare=False)
    # Called once, with the seconds since ``opened_at`` (``perf_counter``), when the session closes: the metrics.
    on_close: Callable[[float], None] | None = field(default=None, repr=False, compare=False)
    opened_at: float = field(default=0.0, repr=False, compare=False)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["session"], name)

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        """``Session.execute``, with driver errors raised as ``DatabaseError`` subclasses."""
        return self._call(self.session.execute, args, kwargs)

    def scalar(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(self.session.scalar, args, kwargs)

    def scalars(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(self.session.scalars, args, kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(self.session.get, args, kwargs)

    def flush(self, *args: Any, **kwargs: Any) -> None:
        self._call(self.session.flush, args, kwargs)

    def commit(self) -> None:
        """Commit the transaction; raises a ``DatabaseError`` subclass on failure."""
        self._call(self.session.commit, (), {})

    def close(self) -> None:
        """Roll back anything uncommitted and return the connection to the pool."""
        self.session.close()
        self._closed()

    def __enter__(self) -> DatabaseSession:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        try:
            if exc is None:
                self.commit()
                return
            self.session.rollback()
            if isinstance(exc, Exception):
                mapped = self._mapped(exc)
                if mapped is not exc:
                    raise mapped from exc
        finally:
            self.session.close()
            self._closed()

    def _closed(self) -> None:
        observe, self.on_close = self.on_close, None
        if observe is not None:
            observe(perf_counter() - self.opened_at)

    def _call(self, method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            mapped = self._mapped(exc)
            if mapped is exc:
                raise
            raise mapped from exc

    def _mapped(self, exc: Exception) -> Exception:
        try:
            return self.map_error(exc)
        except Exception:  # a broken mapper must not hide the original error
            return exc


@dataclass(frozen=True, repr=False)
class PoolStats(_MaskedRepr):
    """One engine's connection pool: how many connections are open, idle and in use."""

    label: str
    url: str = field(metadata=_URL)
    size: int
    checked_in: int
    checked_out: int
    overflow: int
    max_overflow: int


@dataclass(frozen=True)
class CacheStats:
    """Cache calls since start: reads that found a value, reads that did not, and backend failures.

    A read that failed counts as a miss and an error; ``hit_rate`` is hits over reads (0.0 before any).
    """

    backend: str
    hits: int = 0
    misses: int = 0
    errors: int = 0
    hit_rate: float = 0.0


@dataclass(frozen=True)
class MigrationStatus:
    """Where the database schema stands against the migration scripts."""

    current: tuple[str, ...]
    heads: tuple[str, ...]
    pending: int

    @property
    def at_head(self) -> bool:
        return self.pending == 0


@dataclass(frozen=True)
class Envelope:
    """One event as it travels: the outbox row, the AMQP body and what a consumer's handler gets.

    ``id`` is the deduplication key: delivery is at least once, so handlers must be idempotent.
    """

    id: str
    type: str
    source: str
    destination: str
    payload: Any
    timestamp: str
    priority: int = 0
    correlation_id: str | None = None
    headers: Mapping[str, Any] = field(default_factory=dict)


class Consumer(Protocol):
    """A running or runnable subscription to one queue (see ``InfrastructureService.consume``)."""

    queue: str
    dead_letter_queue: str

    def run(self, *, max_messages: int | None = None, idle_timeout: float | None = None) -> int: ...

    def start(self, **run_options: Any) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...


@dataclass(frozen=True)
class RelayResult:
    """What one relay run did: rows published and confirmed, rows given up on, rows still waiting."""

    sent: int = 0
    failed: int = 0
    pending: int = 0


@dataclass
class LLMClient:
    """A ready client for one provider and model."""

    provider: str
    model: str
    client: Any

    def generate_completion(self, prompt: str, **kwargs: Any) -> str:
        """Send ``prompt`` as one user message and return the answer's text."""
        return self.client.generate_completion(prompt, **kwargs)


@dataclass(frozen=True)
class UsageStats:
    """Tokens used by one call and what they cost (``None`` when the price is unknown)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = None


@dataclass(frozen=True)
class LLMResponse:
    """The answer to a prompt, with provider, model, latency and cache facts in ``metadata``."""

    content: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    usage_stats: UsageStats = field(default_factory=UsageStats)


@dataclass(frozen=True)
class LLMUsageSummary:
    """LLM calls recorded in this process, added up (``InfrastructureService.get_llm_usage``).

    ``cost_usd`` sums the priced calls; ``unpriced_calls`` counts calls whose model has no price.
    """

    calls: int = 0
    failed_calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0
    by_model: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Prompt:
    """A prompt template with ``{variable}`` placeholders and generation parameters."""

    template: str
    system: str | None = None
    name: str | None = None
    version: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PromptContext:
    """Per-call values: template variables, the calling module and call options."""

    variables: Mapping[str, Any] = field(default_factory=dict)
    module: str | None = None
    request_id: str | None = None
    use_cache: bool | None = None
    provider: str | None = None
    timeout: float | None = None


class CheckStatus(enum.StrEnum):
    """How one component fared in the start-up check."""

    OK = "ok"
    DEGRADED = "degraded"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class ComponentCheck:
    """One line of the start-up report."""

    name: str
    status: CheckStatus
    detail: str
    elapsed_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"status": str(self.status), "detail": self.detail, "elapsed_ms": round(self.elapsed_ms, 1)}


@dataclass(frozen=True)
class EnvironmentStatus:
    """The start-up report: valid when no component is in ``error``."""

    is_valid: bool
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    checks: Mapping[str, ComponentCheck] = field(default_factory=dict)

    def __iter__(self) -> Iterator[ComponentCheck]:
        return iter(self.checks.values())

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data (the ``--json`` output)."""
        return {
            "is_valid": self.is_valid,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "checks": {name: check.to_dict() for name, check in self.checks.items()},
        }
