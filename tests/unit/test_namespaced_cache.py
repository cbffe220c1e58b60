"""``NamespacedCache``: every key and pattern stays under ``<namespace>:``; strict goes to the backend."""

from __future__ import annotations

import pytest

from modules.infrastructure.infrastructure.cache.memory_cache import MemoryCache
from modules.infrastructure.domain.cache.namespaced import NamespacedCache


def test_keys_are_prefixed_with_the_namespace() -> None:
    backend = MemoryCache()
    cache = NamespacedCache(backend, "lessons")
    cache.set("42", "v")
    cache.set_json("43", {"a": 1})
    assert backend.get("lessons:42") == "v"
    assert backend.get_json("lessons:43") == {"a": 1}
    assert backend.get("42") is None


def test_two_modules_do_not_collide() -> None:
    backend = MemoryCache()
    lessons, analytics = NamespacedCache(backend, "lessons"), NamespacedCache(backend, "analytics")
    lessons.set("count", "1")
    analytics.set("count", "99")
    assert (lessons.get("count"), analytics.get("count")) == ("1", "99")
    assert lessons.delete("count") is True
    assert analytics.get("count") == "99"


def test_invalidate_pattern_stays_inside_the_namespace() -> None:
    backend = MemoryCache()
    lessons, other = NamespacedCache(backend, "lessons"), NamespacedCache(backend, "lessons2")
    lessons.set("a", "v")
    lessons.set("b", "v")
    other.set("a", "v")
    backend.set("lessons", "v")  # a key that merely starts like the namespace
    assert lessons.invalidate_pattern("*") == 2
    assert other.get("a") == "v" and backend.get("lessons") == "v"


@pytest.mark.parametrize(
    "namespace", ["", "has:colon", "star*", "with space", "1starts_with_digit", "q?", "[x]", None, 5, "x" * 65]
)
def test_a_namespace_must_be_a_module_like_name(namespace: object) -> None:
    with pytest.raises(ValueError, match="namespace"):
        NamespacedCache(MemoryCache(), namespace)  # type: ignore[arg-type]


@pytest.mark.parametrize("namespace", ["lessons", "content_creation", "learning-sessions", "analytics.v2", "A"])
def test_module_names_are_accepted(namespace: str) -> None:
    assert NamespacedCache(MemoryCache(), namespace).namespace == namespace


def test_strict_asks_the_backend_for_its_strict_view() -> None:
    class Backend(MemoryCache):
        def with_strict(self, strict: bool = True) -> MemoryCache:
            self.asked = strict
            return MemoryCache()

    backend = Backend()
    NamespacedCache(backend, "a").set("k", "v")
    assert not hasattr(backend, "asked")
    NamespacedCache(backend, "a", strict=True).set("k", "v")
    assert backend.asked is True


def test_strict_over_a_backend_that_cannot_fail_uses_it_as_it_is() -> None:
    backend = MemoryCache()
    NamespacedCache(backend, "a", strict=True).set("k", "v")
    assert backend.get("a:k") == "v"


def test_stats_are_the_backends() -> None:
    backend = MemoryCache()
    cache = NamespacedCache(backend, "a")
    cache.get("x")
    assert cache.stats() == backend.stats()
