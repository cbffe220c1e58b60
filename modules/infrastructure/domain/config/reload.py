"""What rereading the configuration changes: which variables take effect at once, which need a restart.

In place: the LLM settings (a new client is built, calls in flight finish on the old one), the database
passwords (new connections use them, open ones go on), logging, feature flags and the modules' own settings
(``get_module_settings()`` gives the new values from then on). Everything else is
held by connections, threads or servers made at start-up: its new value is reported as needing a restart
and is not used meanwhile, so the process never runs on a mix of old and new for one component.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

from modules.infrastructure.domain.config.settings import FEATURE_FLAG_PREFIX, SETTINGS
from modules.infrastructure.domain.config.values import AppConfig, DatabaseConfig
from modules.infrastructure.domain.secrets import mask_url

IN_PLACE_GROUPS = frozenset({"llm"})
IN_PLACE_NAMES = frozenset({"LOG_LEVEL", "LOG_FORMAT"})
DATABASE_PASSWORD_NAMES = frozenset({"DATABASE_URL", "DATABASE_REPLICA_URLS", "DB_PASSWORD"})
_GROUP_OF = {setting.name: setting.group for setting in SETTINGS}


@dataclass(frozen=True)
class ConfigReload:
    """The outcome of ``InfrastructureService.reload_config()``: variable names only, never values."""

    applied: tuple[str, ...] = ()  # changed, and in use from now on
    needs_restart: tuple[str, ...] = ()  # changed, in use after the next restart; the old value stays meanwhile

    @property
    def changed(self) -> tuple[str, ...]:
        return tuple(sorted(self.applied + self.needs_restart))

    def describe(self) -> str:
        """One line for the log and the scripts."""
        if not self.changed:
            return "The configuration was reread: nothing changed"
        parts = [f"applied: {', '.join(self.applied)}"] if self.applied else []
        if self.needs_restart:
            parts.append(f"need a restart (the old values stay until then): {', '.join(self.needs_restart)}")
        return "The configuration was reread; " + "; ".join(parts)


@dataclass(frozen=True)
class ReloadPlan:
    """The configuration to run on from now on, and what to rebuild or tell to get there."""

    config: AppConfig
    report: ConfigReload
    rebuild_llm: bool
    rotate_database: bool
    reconfigure_logging: bool


def plan_reload(old_environment: Mapping[str, str], new_environment: Mapping[str, str], old: AppConfig, new: AppConfig) -> ReloadPlan:
    """Compare two readings; the planned config takes the new values that apply in place and keeps the old rest."""
    modules = {name for values in new.module_settings.values() for name in values.variables}
    changed = changed_variables(old_environment, new_environment, modules)
    passwords_only = old.database != new.database and same_but_passwords(old.database, new.database)
    applied: list[str] = []
    restart: list[str] = []
    for name in changed:
        in_place = (
            _GROUP_OF.get(name) in IN_PLACE_GROUPS
            or name in IN_PLACE_NAMES
            or name.startswith(FEATURE_FLAG_PREFIX)
            or name in modules
            or (name in DATABASE_PASSWORD_NAMES and passwords_only)
        )
        (applied if in_place else restart).append(name)
    rebuild_llm = (old.llm_config, old.llm_fallbacks) != (new.llm_config, new.llm_fallbacks)
    config = replace(
        old,
        llm_config=new.llm_config,
        llm_fallbacks=new.llm_fallbacks,
        logging=new.logging,
        feature_flags=new.feature_flags,
        module_settings=new.module_settings,
        database=new.database if passwords_only else old.database,
    )
    return ReloadPlan(config, ConfigReload(tuple(applied), tuple(restart)), rebuild_llm, passwords_only, old.logging != new.logging)


def changed_variables(old: Mapping[str, str], new: Mapping[str, str], modules: Collection[str] = ()) -> list[str]:
    """Known settings (the infrastructure's, ``modules``' variables) and feature flags whose value differs
    (unset and empty are the same), sorted."""
    names = {n for n in (*old, *new) if n in _GROUP_OF or n in modules or n.startswith(FEATURE_FLAG_PREFIX)}
    return sorted(n for n in names if old.get(n, "").strip() != new.get(n, "").strip())


def same_but_passwords(old: DatabaseConfig, new: DatabaseConfig) -> bool:
    """True when the two differ at most in the passwords inside their URLs."""
    return _masked(old) == _masked(new)


def _masked(config: DatabaseConfig) -> DatabaseConfig:
    return replace(config, url=mask_url(config.url), replica_urls=tuple(mask_url(u) for u in config.replica_urls))
