"""Spotting mistyped settings: unknown variables with the module's prefixes, and near misses of known names.

Only names are looked at and shown, never values. Prefixes come from the settings table, less the
namespaces other libraries read too (``AWS_`` is boto3's); a sibling module's own ``<MODULE>_*``
variables are checked against its settings table when it has one, else left to it.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable

from modules.infrastructure.domain.config.integration_settings import INTEGRATION_PREFIX
from modules.infrastructure.domain.config.module_settings import ModuleSettings
from modules.infrastructure.domain.config.settings import FEATURE_FLAG_PREFIX, FILE_SUFFIX, SETTINGS, secret_setting_names

# A first word shared with other libraries' variables: None leaves it out, else the longer prefix that is ours.
# APP_ is what containers name themselves with (APP_HOME, APP_NAME, APP_VERSION): only near misses of APP_ENV are ours.
_SHARED_WORDS: dict[str, str | None] = {
    "AWS_": None, "API_": None, "ENV_": None, "APP_": None, "AZURE_": "AZURE_OPENAI_", "LOCAL_": "LOCAL_LLM_",
}
# Variables the client libraries read under our prefixes.
_READ_BY_LIBRARIES = frozenset(
    {"OPENAI_ORG_ID", "OPENAI_ORGANIZATION", "OPENAI_PROJECT_ID", "OPENAI_LOG", "OPENAI_WEBHOOK_SECRET", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_LOG",
     "OPENAI_API_BASE", "OPENAI_API_TYPE", "OPENAI_API_VERSION"}
)
NEAR_MISS_CUTOFF = 0.85
INFRASTRUCTURE = "the infrastructure module"
UNKNOWN_VARIABLE = "and is ignored"  # in every warning about an unknown variable, whichever table's it looks
# OpenTelemetry's standard variables the module does not read: the SDK reads some itself, an application's own SDK or
# opentelemetry-instrument the rest, so none is "ignored". A near miss of one the module reads is still caught.
_OPENTELEMETRY = re.compile(
    r"OTEL_(EXPORTER_OTLP_((TRACES|METRICS|LOGS)_)?(ENDPOINT|HEADERS|TIMEOUT|PROTOCOL|COMPRESSION|CERTIFICATE|CLIENT_KEY|CLIENT_CERTIFICATE|INSECURE)"
    r"|(METRICS|LOGS)_EXPORTER|PROPAGATORS|LOG_LEVEL|CONFIG_FILE|SEMCONV_STABILITY_OPT_IN|BSP_(EXPORT_TIMEOUT|MAX_EXPORT_BATCH_SIZE)"
    r"|BLRP_[A-Z_]+|METRIC_EXPORT_[A-Z_]+|METRICS_EXEMPLAR_FILTER|EXPORTER_OTLP_METRICS_[A-Z_]+|[A-Z_]+_LIMIT|PYTHON_[A-Z0-9_]+"
    r"|EXPORTER_(ZIPKIN|PROMETHEUS)_[A-Z_]+|EXPERIMENTAL_[A-Z_]+)"
)
# What Kubernetes sets for each Service (service links): REDIS_SERVICE_HOST, REDIS_PORT_6379_TCP_ADDR, ...
_SERVICE_LINK = re.compile(r".+_(SERVICE_HOST|SERVICE_PORT(_.+)?|PORT_[0-9]+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)")


def known_names() -> frozenset[str]:
    """Every variable the module reads by name: the settings and each secret's ``<NAME>_FILE``."""
    return frozenset(s.name for s in SETTINGS) | {name + FILE_SUFFIX for name in secret_setting_names()}


def own_prefixes() -> frozenset[str]:
    """The first words two or more settings' names share (``DB_``, ``REDIS_``, ...), as the module's own
    namespaces. A word of one setting alone (``REQUIRE_TLS``) is no namespace: ``REQUIRE_SERVICES`` of a
    test runner is not ours; a near miss of that one name is still caught."""
    words = Counter(setting.name.partition("_")[0] + "_" for setting in SETTINGS if "_" in setting.name)
    shared = (_SHARED_WORDS.get(word, word) for word, count in words.items() if count >= 2)
    return frozenset(prefix for prefix in shared if prefix is not None)


def unknown_variable_warnings(names: Iterable[str], sibling_modules: Iterable[str] = (), modules: Iterable[ModuleSettings] = ()) -> list[str]:
    """One warning per unknown name that looks meant for this module or a sibling's table, with the known name it is closest to.

    ``sibling_modules``: modules whose ``<MODULE>_*`` variables are theirs; ``modules``: the tables found, whose
    variables are checked as the infrastructure's are.
    """
    found = tuple(modules)
    owners = dict.fromkeys(known_names(), INFRASTRUCTURE)
    for table in found:
        owners.update({s.name: table.label for s in table} | {s.name + FILE_SUFFIX: table.label for s in table if s.secret})
    tables = {table.prefix: table.label for table in found}
    prefixes = (*sorted(own_prefixes()), INTEGRATION_PREFIX)
    siblings = tuple(f"{module.upper()}_" for module in sibling_modules if f"{module.upper()}_" not in tables)
    candidates = sorted(owners)
    warnings = []
    for name in sorted(set(names)):
        if name in owners or name in _READ_BY_LIBRARIES or name.startswith((FEATURE_FLAG_PREFIX, *siblings)) or _SERVICE_LINK.fullmatch(name) or _OPENTELEMETRY.fullmatch(name):
            continue
        close = difflib.get_close_matches(name.upper(), candidates, n=1, cutoff=NEAR_MISS_CUTOFF)
        owner = next((module for prefix, module in tables.items() if name.startswith(prefix)), None)
        if close:
            warnings.append(f"{name} {_unknown(owners[close[0]])}: did you mean {close[0]}?")
        elif owner is not None or name.startswith(prefixes):
            warnings.append(f"{name} {_unknown(owner or INFRASTRUCTURE)}; check its spelling (.env.example lists every setting)")
    return warnings


def _unknown(owner: str) -> str:
    return f"is not a setting of {owner} {UNKNOWN_VARIABLE}"
