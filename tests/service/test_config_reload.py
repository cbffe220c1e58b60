"""``InfrastructureService.reload_config()`` in a process whose ``.env`` is edited while it runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import ConfigReload, ConfigurationError, InfrastructureError, InfrastructureService, Prompt
from modules.infrastructure.module_api.testing import fake_infrastructure
from modules.infrastructure.infrastructure.runtime import runtime
from tests.integration.fault_server import Answer, FaultServer

START = "LLM_PROVIDER=openai\nOPENAI_API_KEY=sk-first-key-0123456789\nOPENAI_BASE_URL=http://127.0.0.1:9/v1\n"


def write_env(folder: Path, text: str) -> None:
    (folder / ".env").write_text(text)


def test_an_edited_env_file_is_applied_in_place_where_it_can_be(clean_env: Path) -> None:
    write_env(clean_env, START + "LOG_LEVEL=INFO\n")
    InfrastructureService.get_llm_client()
    first_providers = runtime.current_root().llm_providers
    with InfrastructureService.get_database_session() as db:
        db.execute(text("SELECT 1"))
    write_env(clean_env, START.replace("sk-first", "sk-second") + "LOG_LEVEL=DEBUG\nFEATURE_FLAG_NEW_UI=true\nCACHE_MAX_ITEMS=99\n")
    reread = InfrastructureService.reload_config()
    assert reread == ConfigReload(applied=("FEATURE_FLAG_NEW_UI", "LOG_LEVEL", "OPENAI_API_KEY"), needs_restart=("CACHE_MAX_ITEMS",))
    config = InfrastructureService.get_config()
    assert config.llm_config.api_key is not None and config.llm_config.api_key.reveal() == "sk-second-key-0123456789"
    assert InfrastructureService.is_feature_enabled("new_ui") and config.logging.level == "DEBUG"
    assert config.cache.max_items != 99  # needs a restart: the running cache keeps its size, and the config says so
    assert runtime.current_root().llm_providers is not first_providers  # new clients; the old ones served calls in flight
    assert InfrastructureService.reload_config() == ConfigReload(needs_restart=("CACHE_MAX_ITEMS",))  # still waiting


def test_an_invalid_edit_changes_nothing_and_says_what_is_wrong(clean_env: Path) -> None:
    write_env(clean_env, START)
    before = InfrastructureService.get_config()
    write_env(clean_env, START.replace("sk-first", "sk-second") + "DB_POOL_SIZE=many\n")
    with pytest.raises(ConfigurationError, match="DB_POOL_SIZE"):
        InfrastructureService.reload_config()
    assert InfrastructureService.get_config() is before


def test_secrets_read_again_are_masked_before_anything_logs_them(clean_env: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_env(clean_env, START)
    InfrastructureService.get_config()
    write_env(clean_env, START.replace("sk-first-key-0123456789", "sk-rotated-secret-value-42"))
    with caplog.at_level("INFO"):
        reread = InfrastructureService.reload_config()
    assert reread.applied == ("OPENAI_API_KEY",) and "sk-rotated" not in caplog.text and "OPENAI_API_KEY" in caplog.text


def test_there_is_nothing_to_reread_on_a_given_configuration() -> None:
    with fake_infrastructure(), pytest.raises(ConfigurationError, match="nothing to reread"):
        InfrastructureService.reload_config()


def test_secret_files_rotated_in_place_are_taken_by_a_reload(clean_env: Path) -> None:
    secrets = clean_env / "secrets"
    secrets.mkdir()
    (secrets / "OPENAI_API_KEY").write_text("sk-from-a-file-0123456789\n")
    (secrets / "DB_PASSWORD").write_text("first-password\n")
    write_env(clean_env, f"LLM_PROVIDER=openai\nSECRETS_DIR={secrets}\nDB_HOST=127.0.0.1\nDB_USER=app\nDB_NAME=app\n")
    assert InfrastructureService.get_config().database.url.endswith("app:first-password@127.0.0.1:5432/app")
    (secrets / "OPENAI_API_KEY").write_text("sk-rotated-by-the-mount-42\n")  # as a secret volume is updated
    (secrets / "DB_PASSWORD").write_text("second-password\n")
    reread = InfrastructureService.reload_config()
    assert reread == ConfigReload(applied=("DB_PASSWORD", "OPENAI_API_KEY"))
    config = InfrastructureService.get_config()
    assert config.database.url.endswith("app:second-password@127.0.0.1:5432/app")
    assert config.llm_config.api_key is not None and config.llm_config.api_key.reveal() == "sk-rotated-by-the-mount-42"


def test_a_password_rotates_while_another_database_change_waits_for_a_restart(clean_env: Path) -> None:
    parts = "DB_HOST=127.0.0.1\nDB_USER=app\nDB_NAME=app\n"
    write_env(clean_env, parts + "DB_PASSWORD=one\nDB_POOL_SIZE=5\n")
    InfrastructureService.get_config()
    write_env(clean_env, parts + "DB_PASSWORD=one\nDB_POOL_SIZE=7\n")
    assert InfrastructureService.reload_config() == ConfigReload(needs_restart=("DB_POOL_SIZE",))
    write_env(clean_env, parts + "DB_PASSWORD=two\nDB_POOL_SIZE=7\n")
    assert InfrastructureService.reload_config() == ConfigReload(applied=("DB_PASSWORD",), needs_restart=("DB_POOL_SIZE",))
    config = InfrastructureService.get_config()
    assert config.database.url.endswith("app:two@127.0.0.1:5432/app") and config.database.pool_size == 5
    write_env(clean_env, parts + "DB_PASSWORD=two\nDB_POOL_SIZE=5\n")  # set back to the value in use
    assert InfrastructureService.reload_config() == ConfigReload()


def test_a_key_rotation_keeps_the_usage_recorded_so_far(clean_env: Path) -> None:
    with FaultServer([Answer(200)]) as server:
        settings = START.replace("http://127.0.0.1:9/v1", server.base_url)
        write_env(clean_env, settings)
        InfrastructureService.execute_prompt(Prompt("before the rotation"))
        write_env(clean_env, settings.replace("sk-first", "sk-second"))
        assert InfrastructureService.reload_config().applied == ("OPENAI_API_KEY",)
        InfrastructureService.execute_prompt(Prompt("after the rotation"))
        keys = [seen.headers["authorization"] for seen in server.requests]
    assert InfrastructureService.get_llm_usage().calls == 2
    assert keys == ["Bearer sk-first-key-0123456789", "Bearer sk-second-key-0123456789"]


def test_a_reload_failing_while_it_builds_the_new_llm_client_changes_nothing_and_fails_again(clean_env: Path) -> None:
    parts = "DB_HOST=127.0.0.1\nDB_USER=app\nDB_NAME=app\n"
    write_env(clean_env, START + parts + "DB_PASSWORD=one\n")
    InfrastructureService.get_llm_client()
    providers = runtime.current_root().llm_providers
    (clean_env / "prices.json").write_text("{not json")
    write_env(clean_env, START.replace("sk-first", "sk-second") + parts + f"DB_PASSWORD=two\nLLM_PRICES_FILE={clean_env / 'prices.json'}\n")
    for _ in range(2):  # the second reload meets the same problem: nothing was taken the first time
        with pytest.raises(InfrastructureError, match="LLM_PRICES_FILE"):
            InfrastructureService.reload_config()
    config = InfrastructureService.get_config()
    assert config.database.url.endswith("app:one@127.0.0.1:5432/app") and runtime.current_root().llm_providers is providers


def test_a_value_written_out_that_equals_the_one_in_use_is_no_change(clean_env: Path) -> None:
    write_env(clean_env, START)
    InfrastructureService.get_config()
    write_env(clean_env, START + "DB_POOL_SIZE=5\nLLM_USAGE_PERSIST=false\nLLM_TIMEOUT=30\nLOG_LEVEL=info\n")
    assert InfrastructureService.reload_config() == ConfigReload()


def test_a_reload_inside_an_override_reloads_the_set_it_shares(clean_env: Path) -> None:
    write_env(clean_env, START)
    InfrastructureService.get_llm_client()
    with InfrastructureService.override(publisher=None):
        write_env(clean_env, START.replace("sk-first", "sk-second"))
        assert InfrastructureService.reload_config().applied == ("OPENAI_API_KEY",)
        assert InfrastructureService.get_config().llm_config.api_key.reveal() == "sk-second-key-0123456789"  # type: ignore[union-attr]
    assert InfrastructureService.get_config().llm_config.api_key.reveal() == "sk-second-key-0123456789"  # type: ignore[union-attr]


def test_a_rotated_integration_token_is_sent_from_the_reload_on(clean_env: Path) -> None:
    with FaultServer([Answer()]) as server:
        start = f"INTEGRATION_CRM_BASE_URL={server.root_url}\nINTEGRATION_CRM_TOKEN=first-crm-token\n"
        write_env(clean_env, start)
        held = InfrastructureService.get_http_client("crm")  # a caller may keep its client
        held.post("/hooks", json={})
        write_env(clean_env, start.replace("first-crm", "second-crm") + "INTEGRATION_CRM_RETRIES=0\n")
        assert InfrastructureService.reload_config() == ConfigReload(applied=("INTEGRATION_CRM_RETRIES", "INTEGRATION_CRM_TOKEN"))
        held.post("/hooks", json={})
        assert InfrastructureService.get_http_client("crm") is held and held.config.retries == 0
        assert [seen.headers["authorization"] for seen in server.requests] == ["Bearer first-crm-token", "Bearer second-crm-token"]


def test_an_integration_removed_by_a_reload_sends_nothing_more(clean_env: Path) -> None:
    with FaultServer([Answer()]) as server:
        write_env(clean_env, f"INTEGRATION_CRM_BASE_URL={server.root_url}\n")
        held = InfrastructureService.get_http_client("crm")
        held.post("/hooks", json={})
        write_env(clean_env, "")
        assert InfrastructureService.reload_config() == ConfigReload(applied=("INTEGRATION_CRM_BASE_URL",))
        with pytest.raises(ConfigurationError, match="INTEGRATION_CRM_\\* were removed by a configuration reload"):
            held.post("/hooks", json={})
        assert not InfrastructureService.has_integration("crm") and len(server.requests) == 1
