"""The ``Configuration`` entity: environment variables in, a validated ``AppConfig`` out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from modules.infrastructure.domain.config.integration_settings import integration_tables, plain_integrations, read_integrations
from modules.infrastructure.domain.config.llm_selection import LLMSelection, select_llm
from modules.infrastructure.domain.config.metrics_folder import MULTIPROC_DIR
from modules.infrastructure.domain.config.module_settings import ModuleSettings, multi_line_secret, read_modules
from modules.infrastructure.domain.config.parsers import InvalidValue, boolean
from modules.infrastructure.domain.config.settings import (
    DEFAULT_DATABASE_URL,
    FEATURE_FLAG_PREFIX,
    SETTINGS,
    SETTINGS_BY_NAME,
    Setting,
    secret_setting_names,
)
from modules.infrastructure.domain.config.tracing_config import tracing_config
from modules.infrastructure.domain.config.tls_checks import check_tls, database_ssl_mode, redis_url_over_tls
from modules.infrastructure.domain.config.unknown_variables import unknown_variable_warnings
from modules.infrastructure.domain.config.url_parts import (
    DATABASE_PARTS,
    REDIS_PARTS,
    UrlParts,
    differences,
    drop_service_links,
    url_from_parts,
)
from modules.infrastructure.domain.config.values import (
    APIConfig,
    AppConfig,
    CacheConfig,
    DatabaseConfig,
    HealthConfig,
    LoggingConfig,
    MessagingConfig,
    MetricsConfig,
    StorageConfig,
    TLSFiles,
)
from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.domain.secrets import Redactor, is_secret_name, mask_url, optional_secret, secrets_in_environment

_MAX_SHOWN = 60
_SECRET_NAMES = frozenset(secret_setting_names())
MIN_URL_SECRET = 32  # characters of STORAGE_URL_SECRET: 192 bits and more in URL-safe base64


class Configuration:
    """Parses and validates the module's settings from a mapping of environment variables.

    The mapping is given (the infrastructure reads the process environment and ``.env``; the
    domain reads none). Every problem is collected and reported together in one ``ConfigurationError``.
    A value shown in a problem never carries a secret, not even one pasted into the wrong variable:
    the values of ``*_API_KEY``-like variables and URL passwords are masked wherever they appear.
    ``modules`` are sibling modules' settings tables: their problems are reported with the infrastructure's.
    """

    def __init__(self, environ: Mapping[str, str], modules: Iterable[ModuleSettings] = (), sibling_modules: Iterable[str] = ()) -> None:
        """``modules``: sibling modules' settings tables; ``sibling_modules``: every other module's name, whose
        ``<MODULE>_*`` variables are not ours to warn about."""
        self._environ: dict[str, str] = dict(environ)
        self._modules = tuple(modules)
        self._environment_warnings = unknown_variable_warnings(self._environ, sibling_modules, (*self._modules, *integration_tables(self._environ)))
        self._environment_warnings += [w for parts in (DATABASE_PARTS, REDIS_PARTS) for w in drop_service_links(parts, self._environ)]
        self._redactor = Redactor(secrets_in_environment(self._environ))
        self._values: dict[str, Any] = {}
        self._problems: list[str] = []
        self._malformed: set[str] = set()
        self._parse()

    def load_from_environment(self) -> AppConfig:
        """The validated configuration; raises ``ConfigurationError`` listing every problem."""
        problems = self.validate_required_config()
        if problems or self._llm.primary is None:
            raise ConfigurationError(f"The configuration has {len(problems)} problem(s); fix them and restart:", problems)
        return self._build(self._llm)

    def validate_required_config(self) -> list[str]:
        """Every malformed value, plus what production requires and lacks; empty when all is well."""
        problems = list(self._problems)
        if self._production and not self._values.get("DATABASE_URL") and not self._malformed & {"DATABASE_URL", *DATABASE_PARTS.names}:
            problems.append("DATABASE_URL is required when APP_ENV=production; set it to the production database URL (or set DB_HOST and its parts)")
        problems += self._storage_secret_problems()
        if "LLM_PROVIDER" not in self._malformed:  # else its problem is already listed
            problems += self._llm.problems
        return problems + list(self._tls.problems)

    def _storage_secret_problems(self) -> list[str]:
        """STORAGE_URL_SECRET signs local download URLs: long enough when set, and set in production for local disk."""
        secret, url = self._values.get("STORAGE_URL_SECRET"), self._values.get("STORAGE_URL") or ""
        if secret is not None and len(secret) < MIN_URL_SECRET:
            return [f"STORAGE_URL_SECRET must be at least {MIN_URL_SECRET} characters (it has {len(secret)}); generate one with secrets.token_urlsafe(48)"]
        if secret is None and self._production and not url.startswith("s3://") and "STORAGE_URL" not in self._malformed:
            return ["STORAGE_URL_SECRET is required when APP_ENV=production and STORAGE_URL is a folder; set it to 32 or more random characters"]
        return []

    @property
    def _production(self) -> bool:
        return self._values.get("APP_ENV") == "production"

    def _parse(self) -> None:
        for setting in SETTINGS:
            self._values[setting.name] = self._parse_one(setting)
        for parts in (DATABASE_PARTS, REDIS_PARTS):
            self._join_parts(parts)
        self._values["feature_flags"] = self._parse_flags()
        self._llm = select_llm(self._values, self._production, frozenset(self._malformed))
        self._values["REDIS_URL"] = redis_url_over_tls(self._values, self._environ)
        self._tls = check_tls(self._values, self._production, frozenset(self._malformed))
        self._module_values, module_problems = read_modules(self._modules, self._environ, self._shown)
        self._problems += module_problems
        self._integrations, integration_problems = read_integrations(self._environ, self._shown)
        self._problems += integration_problems
        plain = plain_integrations(self._integrations)
        if self._values.get("REQUIRE_TLS"):
            self._problems += [f"{line}; REQUIRE_TLS=true refuses it" for line in plain]
        elif self._production:
            self._environment_warnings += plain

    def _parse_one(self, setting: Setting) -> Any:
        raw = self._environ.get(setting.name, "").strip()
        problem = multi_line_secret(setting.name, raw) if setting.name in _SECRET_NAMES else None
        if problem:
            self._malformed.add(setting.name)
            self._problems.append(problem)
            return None
        if raw:
            try:
                return setting.parse(raw)
            except InvalidValue as exc:
                self._malformed.add(setting.name)
                self._problems.append(f"{setting.name}={self._shown(setting.name, raw)} {exc.problem}; expected {exc.expected}")
        return None if setting.default is None else setting.parse(setting.default)

    def _join_parts(self, parts: UrlParts) -> None:
        """The URL made from its parts when it is unset; when both are given they must agree."""
        built, problems = url_from_parts(parts, self._values, frozenset(self._malformed))
        self._problems += problems
        if built is None or parts.url in self._malformed:
            return
        given = self._values[parts.url]
        set_parts = [name for name in parts.names if self._values.get(name) is not None]
        try:
            if given is None:
                self._values[parts.url] = SETTINGS_BY_NAME[parts.url].parse(built)
                return
            differing = differences(parts, given, built, frozenset(set_parts))
        except ValueError as exc:  # InvalidValue included
            problem = exc.problem if isinstance(exc, InvalidValue) else "is not a valid URL"
            self._problems.append(f"The {parts.url} made from {', '.join(set_parts)} {problem}; check those parts")
            return
        if differing:
            self._problems.append(
                f"{parts.url} and {', '.join(set_parts)} are both set and differ in {', '.join(differing)}; "
                f"give {parts.url} or its parts, or make them agree"
            )

    def _parse_flags(self) -> Mapping[str, bool]:
        flags: dict[str, bool] = {}
        for name, raw in sorted(self._environ.items()):
            if not name.startswith(FEATURE_FLAG_PREFIX) or len(name) == len(FEATURE_FLAG_PREFIX) or not raw.strip():
                continue
            try:
                flags[name[len(FEATURE_FLAG_PREFIX) :].lower()] = boolean(raw)
            except InvalidValue as exc:
                self._problems.append(f"{name}={self._shown(name, raw.strip())} {exc.problem}; expected {exc.expected}")
        return MappingProxyType(flags)

    def _shown(self, name: str, raw: str) -> str:
        """How a bad value appears in a message: never a secret, URLs without their password (masked before cut short)."""
        if is_secret_name(name):
            return "<hidden>"
        shown = self._redactor.redact(mask_url(raw))
        if len(shown) > _MAX_SHOWN:
            shown = shown[:_MAX_SHOWN] + "..."
        return repr(shown)

    def _build(self, llm: LLMSelection) -> AppConfig:
        v = self._values
        warnings = list(llm.warnings) + self._environment_warnings + list(self._tls.warnings)
        url = v["DATABASE_URL"]
        if url is None:
            url = DEFAULT_DATABASE_URL
            warnings.insert(0, f"DATABASE_URL not set: using the embedded SQLite database {DEFAULT_DATABASE_URL}")
        assert llm.primary is not None
        return AppConfig(
            environment=v["APP_ENV"],
            debug=v["DEBUG"],
            database=DatabaseConfig(
                url=url,
                replica_urls=v["DATABASE_REPLICA_URLS"],
                pool_size=v["DB_POOL_SIZE"],
                max_overflow=v["DB_MAX_OVERFLOW"],
                pool_timeout=v["DB_POOL_TIMEOUT"],
                pool_recycle=v["DB_POOL_RECYCLE"],
                echo=v["DB_ECHO"],
                pool_pre_ping=v["DB_POOL_PRE_PING"],
                pool_pre_ping_idle_seconds=v["DB_POOL_PRE_PING_IDLE_SECONDS"],
                connect_timeout=v["DB_CONNECT_TIMEOUT"],
                statement_timeout_ms=v["DB_STATEMENT_TIMEOUT_MS"],
                application_name=v["DB_APPLICATION_NAME"],
                replica_cooldown=v["DB_REPLICA_COOLDOWN"],
                read_your_writes_seconds=v["DB_READ_YOUR_WRITES_SECONDS"],
                ssl_mode=database_ssl_mode(v),
                tls=_tls_files(v, "DB_SSLROOTCERT", "DB_SSLCERT", "DB_SSLKEY"),
            ),
            llm_config=llm.primary,
            llm_fallbacks=tuple(llm.fallbacks),
            api_config=APIConfig(host=v["API_HOST"], port=v["API_PORT"]),
            cache=CacheConfig(
                redis_url=v["REDIS_URL"],
                max_items=v["CACHE_MAX_ITEMS"],
                default_ttl=v["CACHE_DEFAULT_TTL"],
                socket_timeout=v["CACHE_SOCKET_TIMEOUT"],
                tls=_tls_files(v, "REDIS_TLS_CA_FILE", "REDIS_TLS_CERT_FILE", "REDIS_TLS_KEY_FILE"),
                compress_min_bytes=v["CACHE_COMPRESS_MIN_BYTES"],
                near_max_items=v["CACHE_NEAR_MAX_ITEMS"],
                near_ttl=v["CACHE_NEAR_TTL"],
            ),
            storage=StorageConfig(
                url=v["STORAGE_URL"],
                endpoint_url=v["STORAGE_ENDPOINT_URL"],
                max_file_size=v["STORAGE_MAX_FILE_SIZE"],
                allowed_types=v["STORAGE_ALLOWED_TYPES"] or ("*",),
                url_secret=optional_secret(v["STORAGE_URL_SECRET"]),
                url_base=v["STORAGE_URL_BASE"],
                temp_max_age=v["STORAGE_TEMP_MAX_AGE"],
                access_key_id=v["AWS_ACCESS_KEY_ID"],
                secret_access_key=optional_secret(v["AWS_SECRET_ACCESS_KEY"]),
                session_token=optional_secret(v["AWS_SESSION_TOKEN"]),
                region=v["AWS_REGION"],
            ),
            messaging=MessagingConfig(
                rabbitmq_urls=v["RABBITMQ_URL"] or (),
                queue_type=v["RABBITMQ_QUEUE_TYPE"],
                heartbeat=v["RABBITMQ_HEARTBEAT"],
                blocked_timeout=v["RABBITMQ_BLOCKED_TIMEOUT"],
                connect_timeout=v["RABBITMQ_CONNECT_TIMEOUT"],
                max_payload_bytes=v["MESSAGING_MAX_PAYLOAD_BYTES"],
                relay_mode=v["OUTBOX_RELAY"],
                relay_poll_interval=v["OUTBOX_POLL_INTERVAL"],
                batch_size=v["OUTBOX_BATCH_SIZE"],
                max_attempts=v["OUTBOX_MAX_ATTEMPTS"],
                retention_hours=v["OUTBOX_RETENTION_HOURS"],
                listener_worker=v["LISTENER_WORKER"],
                listener_poll_interval=v["LISTENER_POLL_INTERVAL"],
                listener_resume=v["LISTENER_RESUME_AT_STARTUP"],
                listener_retention_hours=v["LISTENER_RETENTION_HOURS"],
                listener_prefetch=v["LISTENER_PREFETCH"],
                tls=_tls_files(v, "RABBITMQ_TLS_CA_FILE", "RABBITMQ_TLS_CERT_FILE", "RABBITMQ_TLS_KEY_FILE"),
            ),
            logging=LoggingConfig(level=v["LOG_LEVEL"], format=v["LOG_FORMAT"]),
            feature_flags=v["feature_flags"],
            module_settings=self._module_values,
            integrations=MappingProxyType(self._integrations),
            health=HealthConfig(ready_components=tuple(dict.fromkeys(v["HEALTH_READY_COMPONENTS"]))),
            tracing=tracing_config(v),
            metrics=MetricsConfig(multiprocess_dir=v[MULTIPROC_DIR]),
            warnings=tuple(warnings),
        )


def _tls_files(values: Mapping[str, Any], ca: str, cert: str, key: str) -> TLSFiles:
    return TLSFiles(ca_file=values[ca], cert_file=values[cert], key_file=values[key])
