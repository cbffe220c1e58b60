"""The LLM transport's proxy, as the environment names it (the calls through one: tests/integration/test_llm_deadlines.py)."""

from __future__ import annotations

import pytest

from modules.infrastructure.infrastructure.http_transport.deadline_transport import DeadlineTransport, environment_proxy
from modules.infrastructure.module_api import ConfigurationError

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_no_proxy_variable_means_a_direct_connection() -> None:
    assert environment_proxy("https://api.openai.com/v1") is None


def test_the_proxy_of_the_scheme_or_of_all_is_used_unless_no_proxy_exempts_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "proxy.internal:3128")
    proxy = environment_proxy("https://api.openai.com/v1")
    assert proxy is not None and str(proxy.url) == "http://proxy.internal:3128"
    assert environment_proxy("http://llm.internal/v1") is None  # no HTTP_PROXY, no ALL_PROXY
    monkeypatch.setenv("ALL_PROXY", "http://all.internal:8080")
    proxy = environment_proxy("http://llm.internal/v1")
    assert proxy is not None and proxy.url.host == "all.internal"
    monkeypatch.setenv("NO_PROXY", ".internal")
    assert environment_proxy("http://llm.internal/v1") is None


def test_a_socks_proxy_is_a_configuration_error_without_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "socks5://ann:s3cr3t-proxy-pw@socks.internal:1080")
    with pytest.raises(ConfigurationError, match="HTTP\\(S\\) proxies only") as raised:
        DeadlineTransport("https://api.openai.com/v1")
    assert "s3cr3t-proxy-pw" not in str(raised.value) and "socks.internal" in str(raised.value)


@pytest.mark.parametrize("address", ["http://ann:pw-s3cr3t@127.0.0.1:1:99", "http://[::1"])
def test_a_proxy_that_is_not_a_valid_url_is_a_configuration_error_without_its_password(
    monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", address)
    with pytest.raises(ConfigurationError, match="which is not a valid URL") as raised:
        DeadlineTransport("https://api.openai.com/v1")
    assert "pw-s3cr3t" not in str(raised.value)
