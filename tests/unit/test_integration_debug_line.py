"""An answered integration call writes its debug line, with its fields as extras, only when DEBUG is on for the client."""

from __future__ import annotations

import logging

import httpx2
import pytest

from modules.infrastructure.domain.config.values import IntegrationConfig
from modules.infrastructure.infrastructure.integrations.http_client import HttpClient

LOGGER = "modules.infrastructure.infrastructure.integrations.call_log"


def client() -> HttpClient:
    answer = httpx2.MockTransport(lambda request: httpx2.Response(201, json={"id": 7}))
    return HttpClient(IntegrationConfig(name="crm", base_url="http://crm.test/api"), transport=lambda _: answer)


def test_at_debug_each_answer_is_one_line_with_its_fields(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        client().post("/contacts", json={"name": "Ada"})
    [record] = [r for r in caplog.records if r.name == LOGGER]
    assert record.levelno == logging.DEBUG
    assert record.getMessage().startswith("crm POST /contacts -> 201 in ")
    assert (record.integration, record.method, record.path, record.status, record.attempts) == ("crm", "POST", "/contacts", 201, 1)


def test_above_debug_an_answer_writes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert client().get("/contacts/7").json() == {"id": 7}
    assert [r for r in caplog.records if r.name == LOGGER] == []
