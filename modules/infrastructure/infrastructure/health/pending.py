"""Report lines for components whose adapters this version does not build yet."""

from __future__ import annotations

from dataclasses import dataclass

from modules.infrastructure.domain.secrets import mask_url
from modules.infrastructure.module_api.types import AppConfig, CheckStatus, ComponentCheck


@dataclass(frozen=True)
class PendingCapabilityCheck:
    """A ``skipped`` line that says which capability is missing and what is configured for it."""

    name: str
    reason: str

    def check(self) -> ComponentCheck:
        return ComponentCheck(self.name, CheckStatus.SKIPPED, self.reason)


def pending_checks(config: AppConfig, built: frozenset[str] = frozenset()) -> list[PendingCapabilityCheck]:
    """One skipped line per component not in ``built``, naming the configured target (masked)."""
    redis = config.cache.redis_url
    brokers = config.messaging.rabbitmq_urls
    checks = [
        PendingCapabilityCheck(
            "cache", f"cache not built yet (configured: {'redis ' + mask_url(redis) if redis else 'in-memory'})"
        ),
        PendingCapabilityCheck(
            "messaging",
            "messaging not built yet (RABBITMQ_URL not set)"
            if not brokers
            else f"messaging not built yet (configured: {', '.join(mask_url(u) for u in brokers)})",
        ),
    ]
    return [check for check in checks if check.name not in built]
