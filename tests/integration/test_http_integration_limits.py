"""The HTTP integration client's limits against a scripted server on 127.0.0.1, through the facade: the response
size limit and one rate limit shared by two processes through Redis."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from modules.infrastructure.module_api import (
    InfrastructureService,
    IntegrationAuthenticationError,
    IntegrationClientError,
    IntegrationResponseError,
    IntegrationServerError,
)
from tests.integration.http_fault_server import HttpFaultServer, Reply

pytestmark = pytest.mark.usefixtures("clean_env")

ROOT = Path(__file__).resolve().parents[2]
Configure = Callable[..., None]


BIG = b'{"items": "' + b"x" * 5000 + b'"}'


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_max_response_bytes_is_an_error(http_server: HttpFaultServer, integration_at: Configure, chunked: bool) -> None:
    http_server.script("/export", Reply(200, body=BIG, chunked=chunked))
    integration_at("crm", http_server.url, MAX_RESPONSE_BYTES="1000")
    with pytest.raises(IntegrationResponseError, match="INTEGRATION_CRM_MAX_RESPONSE_BYTES=1000") as raised:
        InfrastructureService.get_http_client("crm").get("/export")
    assert raised.value.status == 200 and len(http_server.received()) == 1  # not retried: the same body comes again


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_of_exactly_max_response_bytes_is_read(http_server: HttpFaultServer, integration_at: Configure, chunked: bool) -> None:
    http_server.script("/export", Reply(200, body=b"y" * 1000, chunked=chunked))
    integration_at("crm", http_server.url, MAX_RESPONSE_BYTES="1000")
    assert InfrastructureService.get_http_client("crm").get("/export").content == b"y" * 1000


CHILD = """
import sys
from modules.infrastructure.module_api import InfrastructureService, IntegrationRateLimitedError
client = InfrastructureService.get_http_client(sys.argv[1])
granted = 0
for _ in range(4):
    try:
        granted += client.get("/limited").status == 200
    except IntegrationRateLimitedError:
        pass
print(granted)
"""


def test_two_processes_share_one_rate_limit_through_redis(http_server: HttpFaultServer, redis_url: str, clean_env: Path) -> None:
    name = f"shared_{uuid.uuid4().hex[:12]}"
    prefix = f"INTEGRATION_{name.upper()}_"
    settings = {"REDIS_URL": redis_url, prefix + "BASE_URL": http_server.url, prefix + "RPM_LIMIT": "5", prefix + "DEADLINE": "1"}
    environment = {**os.environ, **settings, "PYTHONPATH": str(ROOT)}
    try:
        children = [
            subprocess.Popen([sys.executable, "-c", CHILD, name], cwd=clean_env, env=environment, stdout=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        granted = [int(child.communicate(timeout=60)[0]) for child in children]
    finally:
        client = redis.Redis.from_url(redis_url)
        client.delete(f"{{integration:ratelimit:{name}}}:rpm")
        client.close()
    assert sum(granted) == 5, granted  # 8 calls within the minute, 5 allowed across both processes
    assert len(http_server.received("/limited")) == 5


def test_a_compressed_body_is_limited_by_its_decompressed_size(http_server: HttpFaultServer, integration_at: Configure) -> None:
    bomb = gzip.compress(b"0" * 200_000)  # a few hundred bytes on the wire
    http_server.script("/export", Reply(200, body=bomb, headers={"content-encoding": "gzip", "content-type": "text/plain"}))
    integration_at("crm", http_server.url, MAX_RESPONSE_BYTES="10000")
    with pytest.raises(IntegrationResponseError, match="passed 10000 bytes"):
        InfrastructureService.get_http_client("crm").get("/export")
    assert len(bomb) < 10000


def test_after_a_body_over_the_limit_the_next_call_is_answered(http_server: HttpFaultServer, integration_at: Configure) -> None:
    http_server.script("/export", Reply(200, body=BIG * 100, chunked=True))
    integration_at("crm", http_server.url, MAX_RESPONSE_BYTES="1000")
    client = InfrastructureService.get_http_client("crm")
    with pytest.raises(IntegrationResponseError):
        client.get("/export")
    assert client.get("/contacts").json() == {"ok": True}



@pytest.mark.parametrize(
    ("status", "error"), [(401, IntegrationAuthenticationError), (404, IntegrationClientError), (503, IntegrationServerError)]
)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_error_page_over_max_response_bytes_keeps_its_status_error(
    http_server: HttpFaultServer, integration_at: Configure, status: int, error: type[Exception], chunked: bool
) -> None:
    http_server.script("/export", Reply(status, body=b"<html>" + b"x" * 5000, chunked=chunked))
    integration_at("crm", http_server.url, MAX_RESPONSE_BYTES="1000", RETRIES="0")
    with pytest.raises(error) as raised:
        InfrastructureService.get_http_client("crm").get("/export")
    assert str(status) in str(raised.value) and len(http_server.received()) == 1
