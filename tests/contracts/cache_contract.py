"""The ``Cache`` port's contract, run against ``MemoryCache`` (tests/service) and Redis (tests/integration).

A test class inherits ``CacheContract`` and provides two fixtures: ``cache``, an empty cache, and
``wait``, a callable that lets ``seconds`` pass (a fake clock, or real sleep)::

    class TestMemoryCache(CacheContract):
        @pytest.fixture
        def cache(self, clock): return MemoryCache(clock=clock)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from modules.infrastructure.module_api import Cache, CacheError, InvalidArgumentError

Wait = Callable[[float], None]

# One glob dialect on every backend: Redis's SCAN MATCH rules (domain/cache/glob.py). Keys and
# which of them each pattern matches; the same table runs on the real Redis and in memory.
GLOB_KEYS = ("a", "b", "A", "!", "^", "[", "]", "-", "ab", "a-", "a*b", "axb", "a\\b", "[a", "é", "aé")
GLOB_TABLE = [
    ("[!a]", {"!", "a"}),  # ! is an ordinary byte, not a negation
    ("[^a]", {"b", "A", "!", "^", "[", "]", "-"}),  # ^ negates; é is two bytes, so it is not "one byte"
    ("a\\*b", {"a*b"}),  # \ makes * literal
    ("a\\\\b", {"a\\b"}),  # an escaped backslash
    ("[a", {"a"}),  # a [ that is never closed takes the rest as its set
    ("[", set()),  # ... and an empty set matches nothing
    ("\\[a", {"[a"}),
    ("[[]", {"["}),
    ("[]]", set()),  # [] is an empty set; the ] after it is a literal
    ("[b-a]", {"a", "b"}),  # a reversed range is the range
    ("a[\\-]", {"a-"}),
    ("?", {"a", "b", "A", "!", "^", "[", "]", "-"}),  # one byte
    ("a?", {"ab", "a-"}),
    ("*é", {"é", "aé"}),
    ("[é]", set()),  # one byte of é's two, never the whole character
    ("a*", {"a", "ab", "a-", "a*b", "axb", "a\\b", "aé"}),
]


class CacheContract:
    """What every ``Cache`` does, whatever stores the values."""

    def test_an_absent_key_is_a_miss(self, cache: Cache) -> None:
        assert cache.get("absent") is None
        assert cache.get_bytes("absent") is None
        assert cache.get_json("absent") is None

    def test_text_goes_in_and_comes_out_as_text(self, cache: Cache) -> None:
        cache.set("greeting", "grüß dich, 世界")
        assert cache.get("greeting") == "grüß dich, 世界"
        assert cache.get_bytes("greeting") == "grüß dich, 世界".encode()

    def test_bytes_come_back_unchanged(self, cache: Cache) -> None:
        cache.set("blob", b"\x00\xff\x10binary")
        assert cache.get_bytes("blob") == b"\x00\xff\x10binary"

    def test_utf8_bytes_read_as_text(self, cache: Cache) -> None:
        cache.set("word", "héllo".encode())
        assert cache.get("word") == "héllo"

    def test_reading_binary_as_text_is_a_cache_error_pointing_at_get_bytes(self, cache: Cache) -> None:
        cache.set("blob", b"\xff\xfe")
        with pytest.raises(CacheError, match="get_bytes"):
            cache.get("blob")

    def test_set_overwrites(self, cache: Cache) -> None:
        cache.set("k", "first")
        cache.set("k", "second")
        assert cache.get("k") == "second"

    def test_delete_says_whether_the_key_was_there(self, cache: Cache) -> None:
        cache.set("k", "v")
        assert cache.delete("k") is True
        assert cache.get("k") is None
        assert cache.delete("k") is False

    def test_json_round_trip(self, cache: Cache) -> None:
        lesson = {"id": 42, "title": "Jöins", "tags": ["sql", "beginner"], "score": 4.5, "draft": False, "extra": None}
        cache.set_json("lesson:42", lesson)
        assert cache.get_json("lesson:42") == lesson
        cache.set_json("count", 7)
        assert cache.get_json("count") == 7

    def test_json_is_stored_as_readable_text(self, cache: Cache) -> None:
        cache.set_json("doc", {"a": [1, 2]})
        assert cache.get("doc") == '{"a":[1,2]}'

    def test_a_value_json_cannot_hold_is_a_cache_error_and_nothing_is_written(self, cache: Cache) -> None:
        with pytest.raises(CacheError, match="as JSON"):
            cache.set_json("bad", {"when": object()})
        with pytest.raises(CacheError):
            cache.set_json("nan", float("nan"))
        assert cache.get("bad") is None and cache.get("nan") is None

    def test_reading_plain_text_as_json_is_a_cache_error(self, cache: Cache) -> None:
        cache.set("plain", "not json")
        with pytest.raises(CacheError, match="not JSON"):
            cache.get_json("plain")

    def test_only_text_and_bytes_are_values(self, cache: Cache) -> None:
        with pytest.raises(InvalidArgumentError, match="set_json"):
            cache.set("n", 5)  # type: ignore[arg-type]

    @pytest.mark.parametrize("ttl", [0, -1, float("inf"), "10", True])
    def test_a_ttl_must_be_a_positive_number(self, cache: Cache, ttl: object) -> None:
        with pytest.raises(ValueError, match="ttl"):
            cache.set("k", "v", ttl=ttl)  # type: ignore[arg-type]

    def test_a_value_expires_after_its_ttl(self, cache: Cache, wait: Wait) -> None:
        cache.set("short", "v", ttl=1)
        cache.set_json("short-json", [1], ttl=1)
        cache.set("long", "v", ttl=60)
        cache.set("forever", "v")
        assert cache.get("short") == "v" and cache.get_json("short-json") == [1]
        wait(1.3)
        assert cache.get("short") is None and cache.get_json("short-json") is None
        assert cache.get("long") == "v" and cache.get("forever") == "v"

    def test_set_again_replaces_the_ttl(self, cache: Cache, wait: Wait) -> None:
        cache.set("k", "v", ttl=1)
        cache.set("k", "v2", ttl=60)
        wait(1.3)
        assert cache.get("k") == "v2"

    def test_invalidate_pattern_deletes_the_matching_keys_only(self, cache: Cache) -> None:
        for key in ("user:1", "user:2", "user:2:prefs", "lesson:1", "users"):
            cache.set(key, "v")
        assert cache.invalidate_pattern("user:*") == 3
        assert [cache.get(k) for k in ("user:1", "user:2", "user:2:prefs")] == [None, None, None]
        assert cache.get("lesson:1") == "v" and cache.get("users") == "v"
        assert cache.invalidate_pattern("user:*") == 0

    def test_invalidate_pattern_globs(self, cache: Cache) -> None:
        for key in ("a1", "a2", "a3", "ab", "a10"):
            cache.set(key, "v")
        assert cache.invalidate_pattern("a[12]") == 2
        assert cache.invalidate_pattern("a?") == 2
        assert cache.get("a10") == "v"
        assert cache.invalidate_pattern("*") == 1

    @pytest.mark.parametrize(("pattern", "matched"), GLOB_TABLE, ids=[pattern for pattern, _ in GLOB_TABLE])
    def test_invalidate_pattern_follows_redis_glob_rules(self, cache: Cache, pattern: str, matched: set[str]) -> None:
        for key in GLOB_KEYS:
            cache.set(key, "v")
        assert cache.invalidate_pattern(pattern) == len(matched)
        assert {key for key in GLOB_KEYS if cache.get(key) is None} == matched

    @pytest.mark.parametrize("pattern", ["[à-é]", "x[a-é]", b"a*", None], ids=["non-ASCII range", "range ending in é", "bytes", "None"])
    def test_a_pattern_no_backend_can_match_alike_is_a_value_error(self, cache: Cache, pattern: object) -> None:
        cache.set("a", "v")
        with pytest.raises(ValueError, match="cache pattern|Cache pattern"):
            cache.invalidate_pattern(pattern)  # type: ignore[arg-type]
        assert cache.get("a") == "v"

    @pytest.mark.parametrize("key", [b"k", None, 7], ids=["bytes", "None", "int"])
    def test_a_key_that_is_not_a_str_is_a_value_error_naming_it(self, cache: Cache, key: object) -> None:
        calls = [
            lambda: cache.get(key),  # type: ignore[arg-type]
            lambda: cache.get_bytes(key),  # type: ignore[arg-type]
            lambda: cache.get_json(key),  # type: ignore[arg-type]
            lambda: cache.set(key, "v"),  # type: ignore[arg-type]
            lambda: cache.set_json(key, [1]),  # type: ignore[arg-type]
            lambda: cache.delete(key),  # type: ignore[arg-type]
        ]
        for call in calls:
            with pytest.raises(ValueError, match=f"A cache key is a str, not {type(key).__name__} \\({key!r}\\)"):
                call()
        assert cache.stats().errors == 0

    def test_invalidate_pattern_matches_case_sensitively(self, cache: Cache) -> None:
        cache.set("Key", "v")
        assert cache.invalidate_pattern("key") == 0
        assert cache.invalidate_pattern("K*") == 1

    def test_stats_count_hits_misses_and_the_hit_rate(self, cache: Cache) -> None:
        before = cache.stats()
        cache.set("k", "v")
        cache.get("k")
        cache.get_json("absent")
        cache.get_bytes("k")
        cache.get("absent")
        after = cache.stats()
        assert after.backend in {"memory", "redis"}
        assert (after.hits - before.hits, after.misses - before.misses, after.errors) == (2, 2, 0)
        assert after.hit_rate == pytest.approx(after.hits / (after.hits + after.misses))


class GetOrSetContract:
    """``get_or_set``: compute once, share the result, cache nothing on failure; same fixtures as ``CacheContract``."""

    def test_a_missing_key_is_computed_once_then_read(self, cache: Cache) -> None:
        calls: list[int] = []

        def compute() -> dict[str, object]:
            calls.append(1)
            return {"lesson": 42, "tags": ["sql"]}

        assert cache.get_or_set("lesson:42", compute, ttl=60) == {"lesson": 42, "tags": ["sql"]}
        assert cache.get_or_set("lesson:42", compute, ttl=60) == {"lesson": 42, "tags": ["sql"]}
        assert len(calls) == 1
        assert cache.get_json("lesson:42") == {"lesson": 42, "tags": ["sql"]}  # the same JSON as set_json writes

    def test_the_first_call_returns_what_later_calls_read_back(self, cache: Cache) -> None:
        first = cache.get_or_set("pair", lambda: (1, "a"))
        assert first == [1, "a"] == cache.get_or_set("pair", lambda: (2, "b"))  # JSON has lists, not tuples

    def test_none_is_a_value_too(self, cache: Cache) -> None:
        calls: list[int] = []
        for _ in range(3):
            assert cache.get_or_set("nothing", lambda: calls.append(1)) is None
        assert len(calls) == 1

    def test_an_error_in_the_computation_is_raised_and_not_cached(self, cache: Cache) -> None:
        def fail() -> int:
            raise RuntimeError("the database is down")

        with pytest.raises(RuntimeError, match="the database is down"):
            cache.get_or_set("flaky", fail)
        assert cache.get("flaky") is None
        assert cache.get_or_set("flaky", lambda: 7) == 7

    def test_a_value_json_cannot_hold_is_a_cache_error(self, cache: Cache) -> None:
        with pytest.raises(CacheError, match="as JSON"):
            cache.get_or_set("odd", lambda: {1, 2})
        assert cache.get("odd") is None

    def test_a_value_that_is_not_json_is_computed_again_and_replaced(self, cache: Cache) -> None:
        cache.set("legacy", "not json {")
        assert cache.get_or_set("legacy", lambda: [1]) == [1]
        assert cache.get_json("legacy") == [1]

    def test_threads_asking_together_share_one_computation(self, cache: Cache) -> None:
        calls: list[int] = []
        started = threading.Barrier(16)

        def compute() -> int:
            calls.append(1)
            time.sleep(0.2)
            return 99

        def ask() -> int:
            started.wait()
            return int(cache.get_or_set("popular", compute, ttl=60))

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda _: ask(), range(16)))
        assert results == [99] * 16 and len(calls) == 1

    def test_threads_sharing_a_computation_each_get_their_own_object(self, cache: Cache) -> None:
        started = threading.Barrier(4)

        def ask() -> dict[str, list[int]]:
            started.wait()
            return dict(cache.get_or_set("shared", lambda: time.sleep(0.1) or {"items": [1]}))

        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: ask(), range(4)))
        assert len({id(result["items"]) for result in results}) == 4

    def test_the_waiting_threads_get_the_computation_s_error(self, cache: Cache) -> None:
        calls: list[int] = []
        started = threading.Barrier(8)

        def fail() -> int:
            calls.append(1)
            time.sleep(0.2)
            raise LookupError("no such lesson")

        def ask() -> str:
            started.wait()
            try:
                cache.get_or_set("missing", fail)
            except LookupError as exc:
                return str(exc)
            return "no error"

        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(lambda _: ask(), range(8))) == ["no such lesson"] * 8
        assert len(calls) == 1 and cache.get("missing") is None

    def test_a_computation_asking_for_its_own_key_is_refused_not_left_waiting_for_itself(self, cache: Cache) -> None:
        def recurse() -> int:
            return int(cache.get_or_set("loop", recurse)) + 1

        with pytest.raises(InvalidArgumentError, match="asked for the same key"):
            cache.get_or_set("loop", recurse)
        assert cache.get_or_set("loop", lambda: 1) == 1  # the key is free again

    def test_a_thread_waits_for_another_s_computation_at_most_lock_wait(self, cache: Cache) -> None:
        started, calls = threading.Event(), []

        def slow() -> str:
            calls.append("slow")
            started.set()
            time.sleep(1.0)
            return "slow"

        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(cache.get_or_set, "k", slow)
            assert started.wait(5)
            began = time.monotonic()
            assert cache.get_or_set("k", lambda: calls.append("own") or "own", lock_wait=0.2) == "own"
            assert time.monotonic() - began < 0.8
            assert first.result() == "slow"
        assert calls == ["slow", "own"]

    def test_a_value_close_to_expiry_is_refreshed_while_it_is_still_served(self, cache: Cache, wait: Wait) -> None:
        versions = iter(range(1, 10))
        assert cache.get_or_set("rates", lambda: next(versions), ttl=3, refresh_ahead=2) == 1
        assert cache.get_or_set("rates", lambda: next(versions), ttl=3, refresh_ahead=2) == 1  # 3 s left: fresh
        wait(1.5)
        assert cache.get_or_set("rates", lambda: next(versions), ttl=3, refresh_ahead=2) == 2  # 1.5 s left: refreshed
        assert cache.get_or_set("rates", lambda: next(versions), ttl=3, refresh_ahead=2) == 2

    def test_a_failed_refresh_keeps_serving_the_value(self, cache: Cache, wait: Wait) -> None:
        cache.get_or_set("rates", lambda: 1, ttl=3, refresh_ahead=2)
        wait(1.5)

        def fail() -> int:
            raise RuntimeError("upstream down")

        assert cache.get_or_set("rates", fail, ttl=3, refresh_ahead=2) == 1

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            ({"lock_wait": 0}, "lock_wait must be a number of seconds above 0"),
            ({"lock_wait": -1}, "lock_wait must be"),
            ({"lock_wait": float("nan")}, "lock_wait must be"),
            ({"lock_wait": "5"}, "lock_wait must be"),
            ({"lock_ttl": 0}, "lock_ttl must be"),
            ({"lock_ttl": 10**9}, "lock_ttl must be"),
            ({"lock_ttl": True}, "lock_ttl must be"),
            ({"ttl": 0}, "ttl must be a positive number"),
            ({"ttl": 10, "refresh_ahead": 10}, "refresh_ahead \\(10 s\\) must be shorter than ttl"),
            ({"refresh_ahead": 0}, "refresh_ahead must be"),
            ({"refresh_ahead": "soon"}, "refresh_ahead must be"),
        ],
    )
    def test_options_it_cannot_use_are_refused_before_computing(self, cache: Cache, arguments: dict[str, Any], message: str) -> None:
        calls: list[int] = []
        with pytest.raises(InvalidArgumentError, match=message):
            cache.get_or_set("k", lambda: calls.append(1), **arguments)
        assert calls == []

    @pytest.mark.parametrize(("key", "compute"), [(None, lambda: 1), (b"k", lambda: 1), ("k", "not a function"), ("k", None)])
    def test_a_bad_key_or_function_is_refused(self, cache: Cache, key: Any, compute: Any) -> None:
        with pytest.raises(InvalidArgumentError):
            cache.get_or_set(key, compute)
