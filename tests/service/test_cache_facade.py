"""``InfrastructureService.get_cache``: namespaces over the shared backend, overrides, settings, the report line."""

from __future__ import annotations

import pytest
import redis
from pytest_mock import MockerFixture

from modules.infrastructure.infrastructure.cache.memory_cache import MemoryCache
from modules.infrastructure.module_api import CacheError, CheckStatus, ConfigurationError, InfrastructureService

pytestmark = pytest.mark.usefixtures("clean_env")


def test_without_redis_url_the_cache_is_in_memory_and_sized_by_cache_max_items(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHE_MAX_ITEMS", "2")
    cache = InfrastructureService.get_cache("lessons")
    for key in ("a", "b", "c"):
        cache.set(key, key)
    assert cache.get("a") is None and cache.get("c") == "c"
    assert cache.stats().backend == "memory"


def test_modules_share_one_backend_under_their_own_namespaces() -> None:
    backend = MemoryCache()
    with InfrastructureService.override(cache=backend):
        InfrastructureService.get_cache("lessons").set_json("42", {"title": "Joins"})
        InfrastructureService.get_cache("analytics").set("42", "other")
        assert InfrastructureService.get_cache("lessons").get_json("42") == {"title": "Joins"}
    assert backend.get("lessons:42") == '{"title":"Joins"}'
    assert backend.get("analytics:42") == "other"


def test_a_bad_namespace_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="module's name"):
        InfrastructureService.get_cache("")
    with pytest.raises(ValueError, match="'a:b'"):
        InfrastructureService.get_cache("a:b")


def test_strict_over_the_memory_backend_just_works() -> None:
    cache = InfrastructureService.get_cache("lessons", strict=True)
    cache.set("k", "v")
    assert cache.get("k") == "v"


def test_the_default_ttl_comes_from_cache_default_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHE_DEFAULT_TTL", "90")
    monkeypatch.setenv("CACHE_SOCKET_TIMEOUT", "0.2")
    config = InfrastructureService.get_config().cache
    assert (config.max_items, config.default_ttl, config.socket_timeout) == (10000, 90.0, 0.2)


@pytest.mark.parametrize(("name", "value"), [("CACHE_MAX_ITEMS", "0"), ("CACHE_DEFAULT_TTL", "-1"), ("CACHE_SOCKET_TIMEOUT", "x")])
def test_malformed_cache_settings_are_configuration_errors(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as raised:
        InfrastructureService.get_cache("lessons")
    assert any(p.startswith(name) for p in raised.value.problems)


def test_with_redis_url_the_backend_is_redis_and_nothing_connects_until_used(
    monkeypatch: pytest.MonkeyPatch, mocker: MockerFixture
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://app:pw@cache.internal:6379/0")
    command = mocker.patch.object(redis.Redis, "execute_command", return_value=b"v")
    cache = InfrastructureService.get_cache("lessons")
    assert command.call_count == 0
    assert cache.get("k") == "v"
    command.assert_called_once_with("GET", "lessons:k", keys=["lessons:k"])


def test_strict_through_the_facade_raises_cache_error(monkeypatch: pytest.MonkeyPatch, mocker: MockerFixture) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://app:pw-9f3@cache.internal:6379/0")
    mocker.patch.object(redis.Redis, "execute_command", side_effect=redis.exceptions.ConnectionError("refused"))
    assert InfrastructureService.get_cache("lessons").get("k") is None
    with pytest.raises(CacheError, match="lessons:k") as raised:
        InfrastructureService.get_cache("lessons", strict=True).get("k")
    assert "pw-9f3" not in str(raised.value)
    assert InfrastructureService.get_cache("lessons").stats().errors == 2


def test_shutdown_closes_the_redis_pool(monkeypatch: pytest.MonkeyPatch, mocker: MockerFixture) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    InfrastructureService.get_cache("lessons")
    disconnect = mocker.spy(redis.ConnectionPool, "disconnect")
    InfrastructureService.shutdown()
    assert disconnect.call_count == 1


def test_the_report_line_follows_an_overridden_backend() -> None:
    backend = MemoryCache(max_items=5)
    backend.set("x", "v")
    with InfrastructureService.override(cache=backend):
        check = InfrastructureService.validate_environment().checks["cache"]
    assert check.status is CheckStatus.OK
    assert check.detail.startswith("in-memory, 1/5 items, round trip")


def test_the_report_asks_the_backend_through_its_port_and_a_failed_ping_is_degraded() -> None:
    class Unreachable(MemoryCache):
        def ping(self) -> float:
            raise CacheError("backend at cache.internal did not answer")

    with InfrastructureService.override(cache=Unreachable()):
        check = InfrastructureService.validate_environment().checks["cache"]
    assert check.status is CheckStatus.DEGRADED
    assert check.detail.startswith("backend at cache.internal did not answer; until it does")


def test_redis_cache_is_the_backend_type(monkeypatch: pytest.MonkeyPatch) -> None:
    from modules.infrastructure.infrastructure.runtime import runtime

    monkeypatch.setenv("REDIS_URL", "rediss://cache.internal:6380/1")
    assert runtime.current().cache.describe() == "redis rediss://cache.internal:6380/1"


def test_sibling_modules_get_the_fake_from_the_public_testing_module() -> None:
    from modules.infrastructure.module_api import testing

    assert "MemoryCache" in testing.__all__  # the whole list is pinned in tests/unit/test_public_api.py
    fake = testing.MemoryCache(max_items=10)
    with InfrastructureService.override(cache=fake):
        InfrastructureService.get_cache("lessons").set("k", "v")
    assert fake.get("lessons:k") == "v" and fake.stats().backend == "memory"
