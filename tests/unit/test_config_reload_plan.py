"""Which changed variables a reread applies in place and which wait for a restart, and the configuration
the process runs on meanwhile: new values where they apply, old ones elsewhere."""

from __future__ import annotations

from modules.infrastructure.domain.config.configuration import Configuration
from modules.infrastructure.domain.config.reload import ConfigReload, plan_reload, running_after

BASE = {"LLM_PROVIDER": "openai", "OPENAI_API_KEY": "sk-old-key-0123456789", "DATABASE_URL": "postgresql://app:old-pass@db:5432/app"}


def plan(old: dict[str, str], new: dict[str, str]):  # type: ignore[no-untyped-def]
    return plan_reload(old, new, Configuration(old).load_from_environment(), Configuration(new).load_from_environment())


def test_nothing_changed_is_an_empty_report() -> None:
    reread = plan(BASE, dict(BASE))
    assert reread.report == ConfigReload() and not reread.rebuild_llm and not reread.rotate_database
    assert reread.report.describe() == "The configuration was reread: nothing changed"


def test_a_new_llm_key_is_applied_and_rebuilds_the_llm_client() -> None:
    reread = plan(BASE, {**BASE, "OPENAI_API_KEY": "sk-new-key-9876543210"})
    assert reread.report == ConfigReload(applied=("OPENAI_API_KEY",)) and reread.rebuild_llm
    assert reread.config.llm_config.api_key is not None and reread.config.llm_config.api_key.reveal() == "sk-new-key-9876543210"
    assert "sk-" not in reread.report.describe()


def test_a_new_database_password_is_applied_to_new_connections() -> None:
    reread = plan(BASE, {**BASE, "DATABASE_URL": "postgresql://app:new-pass@db:5432/app"})
    assert reread.report.applied == ("DATABASE_URL",) and reread.rotate_database and not reread.rebuild_llm
    assert reread.config.database.url == "postgresql+psycopg2://app:new-pass@db:5432/app"


def test_another_database_host_needs_a_restart_and_the_old_url_stays_meanwhile() -> None:
    reread = plan(BASE, {**BASE, "DATABASE_URL": "postgresql://app:new-pass@other:5432/app"})
    assert reread.report.needs_restart == ("DATABASE_URL",) and not reread.rotate_database
    assert reread.config.database.url == "postgresql+psycopg2://app:old-pass@db:5432/app"


def test_logging_and_flags_follow_and_the_rest_waits_for_a_restart() -> None:
    new = {**BASE, "LOG_LEVEL": "DEBUG", "FEATURE_FLAG_NEW_UI": "true", "REDIS_URL": "redis://cache:6379/0", "DB_POOL_SIZE": "9"}
    reread = plan(BASE, new)
    assert reread.report.applied == ("FEATURE_FLAG_NEW_UI", "LOG_LEVEL") and reread.reconfigure_logging
    assert reread.report.needs_restart == ("DB_POOL_SIZE", "REDIS_URL")
    assert reread.config.is_feature_enabled("new_ui") and reread.config.logging.level == "DEBUG"
    assert reread.config.cache.redis_url is None and reread.config.database.pool_size != 9  # the old values, until a restart
    assert "need a restart" in reread.report.describe() and "REDIS_URL" in reread.report.describe()


def test_unset_and_empty_are_the_same_and_unknown_variables_are_not_reported() -> None:
    reread = plan({**BASE, "REDIS_URL": ""}, {**BASE, "SOMETHING_ELSE": "x", "PATH": "/bin"})
    assert reread.report == ConfigReload()


def test_where_usage_is_recorded_waits_for_a_restart_and_the_running_value_stays() -> None:
    reread = plan(BASE, {**BASE, "LLM_USAGE_PERSIST": "true", "OPENAI_API_KEY": "sk-new-key-9876543210"})
    assert reread.report == ConfigReload(applied=("OPENAI_API_KEY",), needs_restart=("LLM_USAGE_PERSIST",))
    assert reread.config.llm_config.usage_persist is False


def test_a_pending_restart_is_reported_again_and_a_value_set_back_is_no_change() -> None:
    new = {**BASE, "REDIS_URL": "redis://cache:6379/0"}
    first = plan(BASE, new)
    running = running_after(first, BASE, new)
    again = plan_reload(running, new, first.config, Configuration(new).load_from_environment())
    assert again.report == ConfigReload(needs_restart=("REDIS_URL",))
    back = plan_reload(running, BASE, first.config, Configuration(BASE).load_from_environment())
    assert back.report == ConfigReload()
