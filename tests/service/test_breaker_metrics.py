"""The circuit breakers in the scrape, read when it is taken: an LLM provider's and each integration's, closed again once
the cool-down ends (no call needed), and gone with an integration a reload removed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from modules.infrastructure.module_api import (
    ConfigReload,
    InfrastructureService,
    IntegrationConnectionError,
    LLMProviderError,
    Prompt,
)
from modules.infrastructure.module_api.testing import FakeLLM, fake_infrastructure
from tests.integration.fault_server import Answer, FaultServer
from tests.metrics_support import sample

COOLDOWN = 0.3
LLM = "infrastructure_llm_breaker_open"
INTEGRATION = "infrastructure_integration_breaker_open"
CRM = {
    "INTEGRATION_CRM_BASE_URL": "https://crm.example", "INTEGRATION_CRM_RETRIES": "0",
    "INTEGRATION_CRM_BREAKER_THRESHOLD": "1", "INTEGRATION_CRM_BREAKER_COOLDOWN": str(COOLDOWN),
}


def test_an_llm_provider_whose_breaker_opened_shows_open_until_its_cool_down_ends() -> None:
    environment = {"LLM_MAX_RETRIES": "0", "LLM_BREAKER_THRESHOLD": "1", "LLM_BREAKER_COOLDOWN": str(COOLDOWN)}
    down = LLMProviderError("fake is down", provider="fake", status_code=503)
    with fake_infrastructure([down, "back"], environment=environment):
        assert sample(LLM, provider="fake", model="fake-model") is None  # no LLM call yet: the call layer is not built
        with pytest.raises(LLMProviderError):
            InfrastructureService.execute_prompt(Prompt("Hi"))
        assert sample(LLM, provider="fake", model="fake-model") == 1
        time.sleep(COOLDOWN + 0.05)
        assert sample(LLM, provider="fake", model="fake-model") == 0  # no call since: the next one is let through
        assert InfrastructureService.execute_prompt(Prompt("Hi")).content == "back"


def test_a_call_layer_given_to_the_set_shows_the_breakers_of_its_own_providers() -> None:
    with fake_infrastructure(), InfrastructureService.override(llm=FakeLLM(model="given-model").gateway()):
        assert sample(LLM, provider="fake", model="given-model") == 0 and sample(LLM, provider="fake", model="fake-model") is None


def test_an_integration_breaker_that_opened_before_traffic_stopped_shows_closed_once_its_cool_down_ends() -> None:
    with fake_infrastructure(environment=CRM) as fakes:
        assert sample(INTEGRATION, integration="crm") is None  # no client built yet: nothing to show
        client = InfrastructureService.get_http_client("crm")
        assert sample(INTEGRATION, integration="crm") == 0
        fakes.http.fail("crm")
        with pytest.raises(IntegrationConnectionError):
            client.get("/contacts")
        assert sample(INTEGRATION, integration="crm") == 1
        time.sleep(COOLDOWN + 0.05)
        assert sample(INTEGRATION, integration="crm") == 0


def test_an_integration_removed_by_a_reload_leaves_the_scrape(clean_env: Path) -> None:
    with FaultServer([Answer()]) as server:
        (clean_env / ".env").write_text(f"INTEGRATION_CRM_BASE_URL={server.root_url}\nINTEGRATION_MAIL_BASE_URL={server.root_url}\n")
        InfrastructureService.get_http_client("crm").post("/hooks", json={})
        InfrastructureService.get_http_client("mail")
        assert sample(INTEGRATION, integration="crm") == 0 and sample(INTEGRATION, integration="mail") == 0
        (clean_env / ".env").write_text(f"INTEGRATION_MAIL_BASE_URL={server.root_url}\n")
        assert InfrastructureService.reload_config() == ConfigReload(applied=("INTEGRATION_CRM_BASE_URL",))
        assert sample(INTEGRATION, integration="crm") is None and sample(INTEGRATION, integration="mail") == 0


def test_a_reload_that_rebuilds_the_llm_providers_shows_the_new_ones_breakers(clean_env: Path) -> None:
    start = "LLM_PROVIDER=openai\nOPENAI_API_KEY=sk-first-key-0123456789\nOPENAI_BASE_URL=http://127.0.0.1:9/v1\n"
    (clean_env / ".env").write_text(start)
    assert sample(LLM, provider="openai", model="gpt-4o-mini") is None  # nothing built the providers yet
    InfrastructureService.get_llm_client()
    assert sample(LLM, provider="openai", model="gpt-4o-mini") == 0
    (clean_env / ".env").write_text(start + "OPENAI_MODEL=gpt-4o\n")
    assert InfrastructureService.reload_config().applied == ("OPENAI_MODEL",)
    assert sample(LLM, provider="openai", model="gpt-4o-mini") is None and sample(LLM, provider="openai", model="gpt-4o") == 0
