"""``INTEGRATION_<NAME>_*``: the settings of each outside service a sibling calls through ``get_http_client(name)``.

An integration exists when one of its variables is set; its variables are read with the same parsers,
secret files and messages as a module's own table (``ModuleSettings``), then checked together
(a base URL, one credential that matches ``AUTH``) into an ``IntegrationConfig``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from modules.infrastructure.domain.config import parsers as p
from modules.infrastructure.domain.config.integration_parsers import api_key_header, base_url, credential, request_path, user_name
from modules.infrastructure.domain.config.module_settings import ModuleSettings, SettingValues, Shown, setting
from modules.infrastructure.domain.config.settings import FILE_SUFFIX, MAX_RATE_PER_MINUTE, MAX_WAIT_SECONDS
from modules.infrastructure.domain.config.tls_checks import is_loopback
from modules.infrastructure.domain.config.values import IntegrationConfig
from modules.infrastructure.domain.errors import InvalidArgumentError
from modules.infrastructure.domain.secrets import Secret

INTEGRATION_PREFIX = "INTEGRATION_"
AUTH_TYPES = ("none", "bearer", "api_key", "basic")
MAX_NAME_LENGTH = 40
MAX_RESPONSE_BYTES = 2**31 - 1  # a body is read into one bytes object
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_SECONDS = p.number(None, MAX_WAIT_SECONDS, above=0, note="24.8 days")


# (suffix, default, description, parser): one row per variable of an integration.
FIELDS: tuple[tuple[str, str | None, str, p.Parser], ...] = (
    ("BASE_URL", None, "Base URL of the service, e.g. https://crm.example/api (no credentials, no query); required", base_url),
    ("AUTH", None, "none, bearer, api_key or basic (unset: the one credential given decides)", p.choice(AUTH_TYPES)),
    ("TOKEN", None, "Bearer token, sent as Authorization: Bearer (AUTH=bearer)", credential),
    ("API_KEY", None, "API key, sent in the API_KEY_HEADER header (AUTH=api_key)", credential),
    ("API_KEY_HEADER", "X-API-Key", "Header that carries the API key", api_key_header),
    ("USERNAME", None, "User name for HTTP basic auth (AUTH=basic)", user_name),
    ("PASSWORD", None, "Password for HTTP basic auth (AUTH=basic)", p.text),
    ("TIMEOUT", "10", "Seconds one attempt may wait to connect, and for each read and write", _SECONDS),
    ("DEADLINE", "30", "Seconds one call may take in all: attempts, waits for the rate limit and backoff", _SECONDS),
    ("RETRIES", "2", "Further attempts after a connection error, 429 or 5xx (POST/PATCH only with an idempotency key)", p.integer(0, 10)),
    ("RPM_LIMIT", None, "Requests per minute (unset: no limit); shared by every process through Redis when REDIS_URL is set", p.integer(1, MAX_RATE_PER_MINUTE)),
    ("BREAKER_THRESHOLD", "5", "Consecutive failed attempts after which calls fail fast for the cool-down", p.integer(1, 1000)),
    ("BREAKER_COOLDOWN", "30", "Seconds calls fail fast once the breaker opened; then one trial call decides", _SECONDS),
    ("HEALTH_PATH", None, "Path the start-up check GETs, e.g. /health (unset: the check is skipped)", request_path),
    ("MAX_RESPONSE_BYTES", "10485760", "Largest response body read; a larger one is an error", p.integer(1, MAX_RESPONSE_BYTES)),
)
_SUFFIXES = tuple(sorted((suffix for suffix, *_ in FIELDS), key=len, reverse=True))  # the longest first: API_KEY_HEADER before API_KEY


def integration_name(name: object) -> str:
    """``name`` as the integration's key (``crm``); ``InvalidArgumentError`` for anything a variable cannot be named after."""
    if isinstance(name, str) and _NAME.fullmatch(name.lower()) and len(name) <= MAX_NAME_LENGTH:
        return name.lower()
    raise InvalidArgumentError(
        f"An integration's name is a word of letters, digits and _ (a letter first, at most {MAX_NAME_LENGTH}), "
        f"as in INTEGRATION_<NAME>_BASE_URL, e.g. 'crm', not {name!r:.60}"
    )


def integration_names(names: Iterable[str]) -> tuple[str, ...]:
    """The integrations that environment variable ``names`` configure, in order: ``INTEGRATION_CRM_TOKEN`` gives ``crm``."""
    keys = (_name_part(name) for name in names)
    return tuple(sorted({key for key in keys if key is not None and _NAME.fullmatch(key) and len(key) <= MAX_NAME_LENGTH}))


def misnamed(names: Iterable[str]) -> list[str]:
    """One problem per variable with an integration's field that no integration can be named by (``INTEGRATION__X_TOKEN``)."""
    problems = []
    for name in sorted(names):
        key = _name_part(name)
        if key is not None and not (_NAME.fullmatch(key) and len(key) <= MAX_NAME_LENGTH):
            problems.append(
                f"{name}: {key.upper()!r} is not an integration's name; name it with letters, digits and _ (a letter first, "
                f"at most {MAX_NAME_LENGTH}), as in INTEGRATION_CRM_BASE_URL"
            )
    return problems


def _name_part(variable: str) -> str | None:
    """The integration part of ``INTEGRATION_<NAME>_<FIELD>[_FILE]`` in lower case, ``None`` when no field ends it."""
    if not variable.startswith(INTEGRATION_PREFIX):
        return None
    rest = variable[len(INTEGRATION_PREFIX) :].removesuffix(FILE_SUFFIX)
    suffix = next((s for s in _SUFFIXES if rest.endswith("_" + s)), None)
    return rest[: -len(suffix) - 1].lower() if suffix else None


def integration_table(name: str) -> ModuleSettings:
    """The variables of integration ``name``, declared as a module's are (so secret files and typo warnings apply)."""
    prefix = f"{INTEGRATION_PREFIX}{name.upper()}_"
    rows = (setting(prefix + suffix, parse, default=default, description=doc) for suffix, default, doc, parse in FIELDS)
    return ModuleSettings(f"integration_{name}", *rows, label=f"the {name} integration")


def integration_tables(environ: Mapping[str, str]) -> tuple[ModuleSettings, ...]:
    return tuple(integration_table(name) for name in integration_names(environ))


def read_integrations(environ: Mapping[str, str], shown: Shown) -> tuple[dict[str, IntegrationConfig], list[str]]:
    """Each configured integration's settings, and every problem: a malformed value, no base URL, credentials that do not fit."""
    configs: dict[str, IntegrationConfig] = {}
    problems = misnamed(environ)
    for table in integration_tables(environ):
        values, found = table.read(environ, _without_url_secrets(shown))
        name = table.module.removeprefix("integration_")
        found += _checked(values, environ)
        problems += found
        if not found:
            configs[name] = _config(name, values)
    return configs, problems


def _without_url_secrets(shown: Shown) -> Shown:
    """``shown``, but a base URL's user information and query are masked first: a token pasted there is not shown."""

    def show(name: str, raw: str) -> str:
        if name.endswith("_BASE_URL"):
            raw = _QUERY.sub(lambda m: m[0][0] + "****", _USER_INFO.sub("//****@", raw))
        return shown(name, raw)

    return show


_USER_INFO = re.compile(r"//[^/?#]*@")
_QUERY = re.compile(r"[?#].*")


def _checked(values: SettingValues, environ: Mapping[str, str]) -> list[str]:
    """The problems of the variables together; a variable set but malformed counts as set (its own problem is listed)."""
    prefix = values.variables[0].removesuffix("BASE_URL")
    is_set = {field: bool(environ.get(prefix + field, "").strip()) for field in ("BASE_URL", "AUTH", *_CREDENTIAL_FIELDS)}
    if not is_set["BASE_URL"]:
        return [f"{prefix}BASE_URL is not set, but other {prefix}* variables are; set it to the service's URL, e.g. https://crm.example/api"]
    if is_set["AUTH"] and values.auth is None:
        return []  # AUTH is malformed: which credential it wants is unknown
    given = {kind: [prefix + field for field in fields if is_set[field]] for kind, fields in _CREDENTIALS.items()}
    present = [kind for kind, names in given.items() if names]
    auth = values.auth or (present[0] if len(present) == 1 else "none")
    if values.auth is None and len(present) > 1:
        return [f"{' and '.join(n for k in present for n in given[k])} are all set; set {prefix}AUTH to the one to use, or unset the others"]
    missing = [prefix + field for field in _CREDENTIALS.get(auth, ()) if not is_set[field]]
    if missing:
        return [f"{prefix}AUTH={auth} needs {' and '.join(missing)}; set it (or its _FILE)"]
    unused = [n for kind in present if kind != auth for n in given[kind]]
    if unused:
        return [f"{', '.join(unused)} set but {prefix}AUTH={auth} does not send it; unset it or change {prefix}AUTH"]
    return []


_CREDENTIALS = {"bearer": ("TOKEN",), "api_key": ("API_KEY",), "basic": ("USERNAME", "PASSWORD")}
_CREDENTIAL_FIELDS = tuple(field for fields in _CREDENTIALS.values() for field in fields)


def _config(name: str, v: SettingValues) -> IntegrationConfig:
    prefix = f"{INTEGRATION_PREFIX}{name.upper()}_"
    present = [kind for kind, fields in _CREDENTIALS.items() if any(v[prefix + f] is not None for f in fields)]
    auth = v.auth or (present[0] if present else "none")
    secret: Secret | None = {"bearer": v.token, "api_key": v.api_key, "basic": v.password}.get(auth)
    return IntegrationConfig(
        name=name,
        base_url=v.base_url,
        auth=auth,
        credential=secret,
        username=v.username if auth == "basic" else None,
        api_key_header=v.api_key_header,
        timeout=v.timeout,
        deadline=v.deadline,
        retries=v.retries,
        rpm_limit=v.rpm_limit,
        breaker_threshold=v.breaker_threshold,
        breaker_cooldown=v.breaker_cooldown,
        health_path=v.health_path,
        max_response_bytes=v.max_response_bytes,
    )


def plain_integrations(configs: Mapping[str, IntegrationConfig]) -> list[str]:
    """One line per integration reached over plain http:// on a host other than this machine."""
    return [
        f"INTEGRATION_{config.name.upper()}_BASE_URL reaches {urlsplit(config.base_url).hostname} without TLS (http://); use https://"
        for config in configs.values()
        if config.base_url.startswith("http://") and not is_loopback(urlsplit(config.base_url).hostname)
    ]
