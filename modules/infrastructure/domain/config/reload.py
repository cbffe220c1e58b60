"""What rereading the configuration changes: which variables take effect at once, which need a restart.

In place: the LLM settings (a new client is built, calls in flight finish on the old one), the HTTP
integrations' ``INTEGRATION_<NAME>_*`` (new clients, so a rotated token is sent from then on), the database
passwords (new connections use them, open ones go on), logging, feature flags and the modules' own settings
(``get_module_settings()`` gives the new values from then on). Everything else is
held by connections, threads or servers made at start-up: its new value is reported as needing a restart
and is not used meanwhile, so the process never runs on a mix of old and new for one component.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

from modules.infrastructure.domain.config.integration_settings import INTEGRATION_PREFIX
from modules.infrastructure.domain.config.parsers import InvalidValue
from modules.infrastructure.domain.config.settings import FEATURE_FLAG_PREFIX, SETTINGS, SETTINGS_BY_NAME
from modules.infrastructure.domain.config.values import AppConfig, DatabaseConfig
from modules.infrastructure.domain.secrets import Secret, mask_url

IN_PLACE_GROUPS = frozenset({"llm", "health"})
IN_PLACE_NAMES = frozenset({"LOG_LEVEL", "LOG_FORMAT", "SECRETS_DIR"})  # SECRETS_DIR: its files are read at each reload
RESTART_NAMES = frozenset({"LLM_USAGE_PERSIST"})  # where usage is recorded is wired at start-up
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
    rebuild_integrations: bool
    rotate_database: bool
    reconfigure_logging: bool


def plan_reload(running_environment: Mapping[str, str], new_environment: Mapping[str, str], old: AppConfig, new: AppConfig) -> ReloadPlan:
    """Compare a new reading with what the process runs on (``running_environment``: the variables its
    configuration came from); the planned config takes the new values that apply in place and keeps the rest."""
    modules = {name for values in new.module_settings.values() for name in values.variables}
    changed = changed_variables(running_environment, new_environment, modules)
    rotate = passwords_rotated(old.database, new.database)
    applied: list[str] = []
    restart: list[str] = []
    for name in changed:
        in_place = name not in RESTART_NAMES and (
            _GROUP_OF.get(name) in IN_PLACE_GROUPS
            or name in IN_PLACE_NAMES
            or name.startswith((FEATURE_FLAG_PREFIX, INTEGRATION_PREFIX))
            or name in modules
            or (name in DATABASE_PASSWORD_NAMES and rotate)
        )
        (applied if in_place else restart).append(name)
    llm_config = replace(new.llm_config, usage_persist=old.llm_config.usage_persist)
    config = replace(
        old,
        llm_config=llm_config,
        llm_fallbacks=new.llm_fallbacks,
        logging=new.logging,
        feature_flags=new.feature_flags,
        module_settings=new.module_settings,
        integrations=new.integrations,
        health=new.health,
        database=replace(old.database, url=new.database.url, replica_urls=new.database.replica_urls) if rotate else old.database,
    )
    rebuild_llm = (old.llm_config, old.llm_fallbacks) != (llm_config, new.llm_fallbacks)
    rebuild_integrations = old.integrations != new.integrations
    return ReloadPlan(config, ConfigReload(tuple(applied), tuple(restart)), rebuild_llm, rebuild_integrations, rotate, old.logging != new.logging)


def running_after(plan: ReloadPlan, running_environment: Mapping[str, str], new_environment: Mapping[str, str]) -> dict[str, str]:
    """The variables the process runs on after ``plan``: the new reading, but the old value of each variable that
    waits for a restart, so the next reload reports it again and a variable set back is no change."""
    running = dict(new_environment)
    for name in plan.report.needs_restart:
        if name in running_environment:
            running[name] = running_environment[name]
        else:
            running.pop(name, None)
    return running


def changed_variables(old: Mapping[str, str], new: Mapping[str, str], modules: Collection[str] = ()) -> list[str]:
    """Known settings (the infrastructure's, ``modules``' variables), feature flags and integrations' variables whose value differs, sorted.
    The infrastructure's settings compare as parsed, an unset one as its default: ``DB_POOL_SIZE=5`` is no change
    from an unset ``DB_POOL_SIZE``."""
    names = {n for n in (*old, *new) if n in _GROUP_OF or n in modules or n.startswith((FEATURE_FLAG_PREFIX, INTEGRATION_PREFIX))}
    return sorted(n for n in names if _value(n, old.get(n, "")) != _value(n, new.get(n, "")))


def _value(name: str, raw: str) -> object:
    """What a variable's text means: parsed by its setting when it has one (a secret as its text), else the text."""
    setting = SETTINGS_BY_NAME.get(name)
    text = raw.strip()
    if setting is None:
        return text
    text = text or (setting.default or "")
    if not text:
        return None
    try:
        value = setting.parse(text)
    except InvalidValue:
        return ("malformed", text)  # reported by the configuration itself; different text, a change
    return value.reveal() if isinstance(value, Secret) else value


def passwords_rotated(old: DatabaseConfig, new: DatabaseConfig) -> bool:
    """True when the database URLs differ, and only in their passwords (other database settings aside)."""
    old_urls, new_urls = (old.url, *old.replica_urls), (new.url, *new.replica_urls)
    return old_urls != new_urls and [mask_url(u) for u in old_urls] == [mask_url(u) for u in new_urls]
