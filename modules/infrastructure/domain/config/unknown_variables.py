"""Spotting mistyped settings: unknown variables with the module's prefixes, and near misses of known names.

Only names are looked at and shown, never values. Prefixes come from the settings table, less the
namespaces other libraries read too (``AWS_`` is boto3's); a sibling module's own ``<MODULE>_*``
variables are that module's business.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from modules.infrastructure.domain.config.settings import FEATURE_FLAG_PREFIX, FILE_SUFFIX, SETTINGS, secret_setting_names

# A first word shared with other libraries' variables: None leaves it out, else the longer prefix that is ours.
_SHARED_WORDS: dict[str, str | None] = {"AWS_": None, "API_": None, "ENV_": None, "AZURE_": "AZURE_OPENAI_", "LOCAL_": "LOCAL_LLM_"}
# Variables the client libraries read under our prefixes.
_READ_BY_LIBRARIES = frozenset(
    {"OPENAI_ORG_ID", "OPENAI_ORGANIZATION", "OPENAI_PROJECT_ID", "OPENAI_LOG", "OPENAI_WEBHOOK_SECRET", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_LOG"}
)
NEAR_MISS_CUTOFF = 0.85
UNKNOWN_VARIABLE = "is not a setting of the infrastructure module and is ignored"
# What Kubernetes sets for each Service (service links): REDIS_SERVICE_HOST, REDIS_PORT_6379_TCP_ADDR, ...
_SERVICE_LINK = re.compile(r".+_(SERVICE_HOST|SERVICE_PORT(_.+)?|PORT_[0-9]+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)")


def known_names() -> frozenset[str]:
    """Every variable the module reads by name: the settings and each secret's ``<NAME>_FILE``."""
    return frozenset(s.name for s in SETTINGS) | {name + FILE_SUFFIX for name in secret_setting_names()}


def own_prefixes() -> frozenset[str]:
    """The first words of the settings' names (``DB_``, ``REDIS_``, ...), as the module's own namespaces."""
    prefixes: set[str] = set()
    for setting in SETTINGS:
        word, underscore, _ = setting.name.partition("_")
        if underscore:
            prefix = _SHARED_WORDS.get(word + "_", word + "_")
            if prefix is not None:
                prefixes.add(prefix)
    return frozenset(prefixes)


def unknown_variable_warnings(names: Iterable[str], sibling_modules: Iterable[str] = ()) -> list[str]:
    """One warning per unknown name that looks meant for this module, with the known name it is closest to."""
    known = known_names()
    prefixes = tuple(sorted(own_prefixes()))
    siblings = tuple(f"{module.upper()}_" for module in sibling_modules)
    candidates = sorted(known)
    warnings = []
    for name in sorted(set(names)):
        if name in known or name in _READ_BY_LIBRARIES or name.startswith((FEATURE_FLAG_PREFIX, *siblings)) or _SERVICE_LINK.fullmatch(name):
            continue
        close = difflib.get_close_matches(name.upper(), candidates, n=1, cutoff=NEAR_MISS_CUTOFF)
        if close:
            warnings.append(f"{name} {UNKNOWN_VARIABLE}: did you mean {close[0]}?")
        elif name.startswith(prefixes):
            warnings.append(f"{name} {UNKNOWN_VARIABLE}; check its spelling (.env.example lists every setting)")
    return warnings
