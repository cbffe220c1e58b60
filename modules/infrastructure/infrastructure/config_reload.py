"""Rereading the configuration in a running process: the environment, the dotenv file and secret files
are read again, and what can change in place does (see ``domain/config/reload.py`` for which)."""

from __future__ import annotations

import logging
import threading
import weakref
from typing import TYPE_CHECKING, cast

from modules.infrastructure.domain.config.reload import ConfigReload, plan_reload, running_after
from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.domain.lifecycle import Closeable, Resource
from modules.infrastructure.domain.secrets import secrets_in_environment

if TYPE_CHECKING:
    from modules.infrastructure.infrastructure.bootstrap import Infrastructure

logger = logging.getLogger(__name__)
CLOSE_GRACE_SECONDS = 5.0  # beyond the calls' deadline, before a replaced LLM or HTTP client is closed
_reloading = threading.Lock()
_running: weakref.WeakKeyDictionary[Infrastructure, dict[str, str]] = weakref.WeakKeyDictionary()  # what each set runs on


def reload_configuration(root: Infrastructure) -> ConfigReload:
    """Apply a fresh reading of the configuration to ``root``; ``ConfigurationError`` (and nothing changed)
    when it is not valid. One reload at a time, and no component of ``root`` is built meanwhile."""
    from modules.infrastructure.infrastructure.bootstrap import build_environment, build_llm_providers
    from modules.infrastructure.infrastructure.logging.setup import configure_logging

    if root.is_given("config") or root.is_given("environment"):
        raise ConfigurationError(
            "The configuration was given to bootstrap() (or fake_infrastructure()), not read from the environment: "
            "there is nothing to reread; change it by building the set again"
        )
    with _reloading, root.exclusive():
        fresh = build_environment()
        new_config = fresh.load_config()
        running = _running.get(root) or root.environment.environment()
        plan = plan_reload(running, fresh.environment(), root.config, new_config)
        if not plan.report.changed:
            return plan.report
        built = set(root.built())
        providers = build_llm_providers(plan.config, root.redactor) if plan.rebuild_llm and "llm_providers" in built else None
        # From here on nothing can fail half-way: what could (reading the configuration, building clients) is done.
        _running[root] = running_after(plan, running, fresh.environment())
        root.redactor.add(secrets_in_environment(fresh.environment()))  # masked before anything can log them
        if plan.rotate_database and "database" in built:
            root.database.rotate_passwords(plan.config.database)
        instances: dict[str, object] = {"environment": fresh, "config": plan.config}
        if providers is not None:
            instances["llm_providers"] = providers
            if "llm" in built:
                root.llm.use_providers(providers)  # the same gateway: its cache and usage ledger stay
        old_deadline = max((c.deadline for c in root.config.integrations.values()), default=0.0)
        replaced = root.replace(**instances)
        if "llm_providers" in replaced:
            _close_later(cast(Resource, replaced["llm_providers"]), plan.config.llm_config.deadline + CLOSE_GRACE_SECONDS)
        if plan.rebuild_integrations and "http_clients" in built:  # the same clients, new settings: a held client rotates too
            for transport in root.http_clients.reconfigure(plan.config):
                _close_later(transport, old_deadline + CLOSE_GRACE_SECONDS)
        if plan.reconfigure_logging:
            configure_logging(plan.config.logging, root.redactor)
        logger.info(plan.report.describe())
        return plan.report


def _close_later(resource: Closeable, seconds: float) -> None:
    """Close ``resource`` once the calls that hold it have had their deadline to finish."""
    timer = threading.Timer(seconds, resource.close)
    timer.daemon = True
    timer.name = "close-replaced-client"
    timer.start()
