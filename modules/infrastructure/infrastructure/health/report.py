"""Builds the start-up report: the configuration first, then every component's check."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from modules.infrastructure.domain.config.values import AppConfig
from modules.infrastructure.domain.errors import ConfigurationError, InvalidArgumentError
from modules.infrastructure.domain.health.ports import HealthCheck
from modules.infrastructure.domain.health.values import CheckStatus, ComponentCheck, EnvironmentStatus
from modules.infrastructure.infrastructure.health.runner import run_checks

MAX_TIMEOUT = 300  # seconds per check, as validate_environment.py --timeout takes
COMPONENTS = ("config", "database", "cache", "messaging", "llm", "storage")


def build_report(
    load_config: Callable[[], AppConfig],
    load_checks: Callable[[], Sequence[HealthCheck]],
    timeout: float,
    redact: Callable[[str], str] = str,
) -> EnvironmentStatus:
    """Validate the configuration; when it holds, run the component checks within ``timeout``.

    Raises ``InvalidArgumentError`` for a ``timeout`` that is not a number of seconds above 0 and at most 300.
    """
    checked_timeout(timeout)
    started = time.perf_counter()
    try:
        config = load_config()
    except ConfigurationError as exc:
        problems = tuple(redact(p) for p in exc.problems) or (redact(str(exc)),)
        elapsed = (time.perf_counter() - started) * 1000
        checks = {"config": ComponentCheck("config", CheckStatus.ERROR, f"{len(problems)} problem(s)", elapsed)}
        for name in COMPONENTS[1:]:
            checks[name] = ComponentCheck(name, CheckStatus.SKIPPED, "not checked: the configuration is invalid")
        return EnvironmentStatus(is_valid=False, errors=problems, checks=checks)
    config_check = ComponentCheck("config", CheckStatus.OK, _config_detail(config), (time.perf_counter() - started) * 1000)
    checks = {"config": config_check, **run_checks(load_checks(), timeout, redact)}
    errors = tuple(f"{c.name}: {c.detail}" for c in checks.values() if c.status is CheckStatus.ERROR)
    degraded = tuple(f"{c.name}: {c.detail}" for c in checks.values() if c.status is CheckStatus.DEGRADED)
    return EnvironmentStatus(is_valid=not errors, errors=errors, warnings=config.warnings + degraded, checks=checks)


def checked_timeout(timeout: object, caller: str = "validate_environment") -> float:
    """``timeout`` when it is seconds above 0 and at most 300; else ``InvalidArgumentError`` naming ``caller``."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= MAX_TIMEOUT:  # NaN fails too
        raise InvalidArgumentError(f"{caller}(timeout=...) takes seconds above 0 and at most {MAX_TIMEOUT}, not {timeout!r}"[:200])
    return float(timeout)


def _config_detail(config: AppConfig) -> str:
    flags = sum(config.feature_flags.values())
    detail = f"APP_ENV={config.environment}, {flags}/{len(config.feature_flags)} feature flags on"
    if config.warnings:
        detail += f", {len(config.warnings)} warning(s)"
    return detail
