"""Runs health checks side by side, each bounded by a timeout, so a dead service cannot hang start-up."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from modules.infrastructure.domain.health.ports import HealthCheck
from modules.infrastructure.domain.health.values import CheckStatus, ComponentCheck


def run_checks(
    checks: Sequence[HealthCheck], timeout: float, redact: Callable[[str], str] = str
) -> dict[str, ComponentCheck]:
    """Every check's result by name, in the order given; a check past ``timeout`` is an error."""
    results: dict[str, ComponentCheck] = {}
    started = time.perf_counter()
    threads = []
    for check in checks:
        # Daemon threads: a check stuck in a driver call must not keep the process alive.
        thread = threading.Thread(target=_run_one, args=(check, results, redact), name=f"check-{check.name}", daemon=True)
        thread.start()
        threads.append((check.name, thread))
    deadline = started + timeout
    for _, thread in threads:
        thread.join(max(0.0, deadline - time.perf_counter()))
    ordered = {}
    for name, thread in threads:
        late = ComponentCheck(name, CheckStatus.ERROR, f"no answer within {timeout:g} s", timeout * 1000)
        ordered[name] = results.get(name, late) if not thread.is_alive() else late
    return ordered


def _run_one(check: HealthCheck, results: dict[str, ComponentCheck], redact: Callable[[str], str]) -> None:
    started = time.perf_counter()
    try:
        result = check.check()
    except Exception as exc:  # a check must not break the report; say what broke instead
        detail = redact(f"check failed: {type(exc).__name__}: {exc}")
        result = ComponentCheck(check.name, CheckStatus.ERROR, detail)
    elapsed = (time.perf_counter() - started) * 1000
    results[check.name] = ComponentCheck(check.name, result.status, redact(result.detail), elapsed)
