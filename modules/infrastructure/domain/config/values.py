"""The configuration's value types: frozen, validated, and masking their secrets in ``repr``.

A credential is held in a :class:`Secret`; URL passwords are masked whenever a config is shown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from modules.infrastructure.domain.config.module_settings import SettingValues
from modules.infrastructure.domain.errors import InvalidArgumentError
from modules.infrastructure.domain.integrations.requests import origin
from modules.infrastructure.domain.secrets import Secret, mask_url

_URL = {"mask": "url"}
_ORIGIN = {"mask": "origin"}  # scheme, host and port only: a webhook's path may be its secret
_URLS = {"mask": "urls"}


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
            elif kind == "origin":
                value = f"{origin(value)}/..."
            elif kind == "urls":
                value = tuple(mask_url(v) for v in value)
            elif isinstance(value, MappingProxyType):
                value = dict(value)
            parts.append(f"{f.name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    __str__ = __repr__

@dataclass(frozen=True)
class TLSFiles:
    """PEM files of one TLS connection: the CA that signed the server's certificate, and the client's certificate
    and key for a server that asks for one. Paths only: the files are read by the driver when it connects."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    @property
    def given(self) -> bool:
        return any((self.ca_file, self.cert_file, self.key_file))


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
    pool_pre_ping_idle_seconds: float = 10.0
    connect_timeout: float = 5.0
    statement_timeout_ms: int | None = None
    application_name: str = "modules-infrastructure"
    replica_cooldown: float = 30.0
    read_your_writes_seconds: float = 5.0
    ssl_mode: str | None = None  # libpq sslmode for PostgreSQL (None: the URL's, else libpq's default, prefer)
    tls: TLSFiles = TLSFiles()

    @property
    def reads_your_writes(self) -> bool:
        """Whether a writer's reads go to the primary for a while: only with replicas, and a window above 0."""
        return bool(self.replica_urls) and self.read_your_writes_seconds > 0

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
    max_output_tokens: int = 1024  # the max_tokens sent to Anthropic when a prompt sets none (ANTHROPIC_MAX_TOKENS)
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
    embedding_model: str | None = None  # None: this provider is configured without embeddings
    moderation_model: str | None = None  # None: this provider has no moderation endpoint
    context_size: int | None = None

@dataclass(frozen=True, repr=False)
class IntegrationConfig(_MaskedRepr):
    """One outside service called through ``get_http_client(name)`` (``INTEGRATION_<NAME>_*``)."""

    name: str
    base_url: str = field(metadata=_ORIGIN)
    auth: str = "none"  # none, bearer, api_key or basic
    credential: Secret | None = None  # the token, the API key or the basic-auth password
    username: str | None = None
    api_key_header: str = "X-API-Key"
    timeout: float = 10.0
    deadline: float = 30.0
    retries: int = 2
    rpm_limit: int | None = None
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0
    health_path: str | None = None
    max_response_bytes: int = 10 * 1024 * 1024


@dataclass(frozen=True, repr=False)
class HealthConfig(_MaskedRepr):
    """What the readiness probe waits for: the start-up check lines that must not be an error."""

    ready_components: tuple[str, ...] = ("config", "database")


@dataclass(frozen=True, repr=False)
class TracingConfig(_MaskedRepr):
    """Spans: ``exporter`` is ``otlp``, ``console``, ``none`` (spans reach only an SDK the application installed) or
    ``disabled`` (no span at all); ``endpoint`` is the full OTLP/HTTP URL spans are posted to."""

    exporter: str = "none"
    endpoint: str = field(default="http://localhost:4318/v1/traces", metadata=_URL)
    headers: tuple[tuple[str, Secret], ...] = ()
    timeout: float = 10.0
    service_name: str = "unknown_service"
    resource_attributes: tuple[tuple[str, str], ...] = ()
    sampler: str = "parentbased_always_on"
    sampler_ratio: float = 1.0
    max_queue_size: int = 2048
    schedule_delay: float = 5.0
    capture_content: bool = False

    @property
    def exports(self) -> bool:
        return self.exporter in ("otlp", "console")


@dataclass(frozen=True, repr=False)
class MetricsConfig(_MaskedRepr):
    """Where a multi-process server's workers write their metric files (``None``: one process's metrics)."""

    multiprocess_dir: str | None = None


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
    tls: TLSFiles = TLSFiles()  # with a rediss:// URL
    compress_min_bytes: int = 1024  # 0: never
    near_max_items: int = 0  # 0: no near cache
    near_ttl: float = 5.0

@dataclass(frozen=True, repr=False)
class StorageConfig(_MaskedRepr):
    """File storage: ``url`` a folder or ``s3://bucket/prefix``; credentials for S3 only when given (else
    boto3's own chain); ``url_secret`` signs local download URLs."""

    url: str = "var/storage"
    endpoint_url: str | None = field(default=None, metadata=_URL)
    max_file_size: int = 104_857_600
    allowed_types: tuple[str, ...] = ("*",)
    url_secret: Secret | None = None
    url_base: str = "/files/"
    temp_max_age: float = 3600.0
    access_key_id: str | None = None
    secret_access_key: Secret | None = None
    session_token: Secret | None = None
    region: str | None = None

    @property
    def is_s3(self) -> bool:
        return self.url.startswith("s3://")


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
    listener_worker: str = "thread"
    listener_poll_interval: float = 1.0
    listener_resume: bool = True
    listener_retention_hours: float = 168.0
    listener_prefetch: int = 10
    tls: TLSFiles = TLSFiles()  # with amqps:// URLs

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
    storage: StorageConfig = field(default_factory=StorageConfig)
    module_settings: Mapping[str, SettingValues] = field(default_factory=lambda: MappingProxyType({}))  # sibling modules' own
    integrations: Mapping[str, IntegrationConfig] = field(default_factory=lambda: MappingProxyType({}))  # by name: crm, mailer
    health: HealthConfig = field(default_factory=HealthConfig)
    tracing: TracingConfig = field(default_factory=TracingConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)

    @property
    def database_url(self) -> str:
        """The primary database URL (``database.url``)."""
        return self.database.url

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def is_feature_enabled(self, name: str, default: bool = False) -> bool:
        """Whether ``FEATURE_FLAG_<NAME>`` is on, ``default`` when it is not set; ``InvalidArgumentError`` for a
        ``name`` that is not text or a ``default`` that is not a bool."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgumentError(f"is_feature_enabled(name) takes the flag's name, e.g. 'new_ui', not {name!r}"[:200])
        if not isinstance(default, bool):
            raise InvalidArgumentError(f"is_feature_enabled(default=...) takes True or False, not {default!r}"[:200])
        return self.feature_flags.get(name.lower(), default)
