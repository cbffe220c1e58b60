"""The readiness probe: the configuration and the start-up checks ``HEALTH_READY_COMPONENTS`` names, none in error.

Only the named checks run, so a probe every few seconds does not call the LLM or the integrations unless asked to.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence

from modules.infrastructure.domain.config.values import AppConfig
from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.domain.health.ports import HealthCheck
from modules.infrastructure.domain.health.values import CheckStatus, ComponentCheck, Readiness
from modules.infrastructure.infrastructure.health.runner import run_checks

INTEGRATIONS = "integrations"  # every "integration <name>" line
EVERY = "all"


def check_readiness(
    load_config: Callable[[], AppConfig], load_checks: Callable[[], Sequence[HealthCheck]], timeout: float, redact: Callable[[str], str] = str
) -> Readiness:
    """Ready when the configuration holds and no required check is an error within ``timeout`` seconds."""
    started = time.perf_counter()
    try:
        config = load_config()
    except ConfigurationError as exc:
        detail = redact(f"{len(exc.problems) or 1} problem(s): {'; '.join(exc.problems) or exc}")[:500]
        return Readiness(False, ("config",), {"config": ComponentCheck("config", CheckStatus.ERROR, detail)})
    required = set(config.health.ready_components)
    config_line = ComponentCheck("config", CheckStatus.OK, "valid", (time.perf_counter() - started) * 1000)
    checks = {"config": config_line, **run_checks([c for c in load_checks() if is_required(c.name, required)], timeout, redact)}
    waiting = tuple(name for name, check in checks.items() if check.status is CheckStatus.ERROR)
    return Readiness(not waiting, waiting, checks)


def is_required(name: str, required: Collection[str]) -> bool:
    """Whether the report line ``name`` is one the probe waits for."""
    return EVERY in required or name in required or (name.startswith("integration ") and INTEGRATIONS in required)
