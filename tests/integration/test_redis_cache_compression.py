"""Compression on the real Redis: what is stored, what reads back, and values written before it existed."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from modules.infrastructure.domain.cache.compression import COMPRESSED, RAW
from modules.infrastructure.infrastructure.cache.redis_cache import RedisCache
from modules.infrastructure.module_api import CacheError

LESSON = ("Joins combine rows from two tables by a condition. " * 200).encode()


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    name = f"compress-{uuid.uuid4().hex[:10]}:"
    yield name
    raw = redis.Redis.from_url(redis_url)
    for key in raw.scan_iter(match=f"{name}*"):
        raw.delete(key)


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def test_a_large_value_is_stored_compressed_and_read_back(redis_url: str, raw: redis.Redis, prefix: str) -> None:
    cache = RedisCache(redis_url, compress_min_bytes=1024, strict=True)
    cache.set(prefix + "lesson", LESSON.decode())
    stored = raw.get(prefix + "lesson")
    assert stored is not None and stored.startswith(COMPRESSED) and len(stored) < len(LESSON) / 10
    assert cache.get(prefix + "lesson") == LESSON.decode()
    assert cache.get_or_set(prefix + "lesson-json", lambda: {"text": LESSON.decode()}) == {"text": LESSON.decode()}
    assert raw.get(prefix + "lesson-json").startswith(COMPRESSED)  # type: ignore[union-attr]
    assert cache.get_json(prefix + "lesson-json") == {"text": LESSON.decode()}


def test_small_and_incompressible_values_are_stored_as_they_are(redis_url: str, raw: redis.Redis, prefix: str) -> None:
    cache = RedisCache(redis_url, compress_min_bytes=1024, strict=True)
    noise = os.urandom(8192)
    cache.set(prefix + "small", "title")
    cache.set(prefix + "noise", noise)
    assert raw.get(prefix + "small") == b"title" and raw.get(prefix + "noise") == noise
    assert cache.get_bytes(prefix + "noise") == noise


def test_values_written_before_compression_read_as_they_were(redis_url: str, raw: redis.Redis, prefix: str) -> None:
    raw.set(prefix + "old", LESSON)
    raw.set(prefix + "old-binary", b"\x00\xff\x01 binary from an old release")
    cache = RedisCache(redis_url, compress_min_bytes=1024, strict=True)
    assert cache.get_bytes(prefix + "old") == LESSON
    assert cache.get_bytes(prefix + "old-binary") == b"\x00\xff\x01 binary from an old release"


def test_a_value_that_starts_like_a_frame_round_trips(redis_url: str, raw: redis.Redis, prefix: str) -> None:
    cache = RedisCache(redis_url, compress_min_bytes=0, strict=True)
    cache.set(prefix + "framed", b"\x00\xffz looks compressed")
    assert raw.get(prefix + "framed") == RAW + b"\x00\xffz looks compressed"
    assert cache.get_bytes(prefix + "framed") == b"\x00\xffz looks compressed"


def test_a_broken_compressed_value_is_a_miss_and_an_error_unless_strict(
    redis_url: str, raw: redis.Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    raw.set(prefix + "broken", COMPRESSED + b"garbage")
    lenient = RedisCache(redis_url, compress_min_bytes=1024)
    with caplog.at_level(logging.WARNING):
        assert lenient.get(prefix + "broken") is None
    assert lenient.stats().errors == 1 and "is marked compressed but does not decompress" in caplog.text
    assert lenient.get_or_set(prefix + "broken", lambda: "recomputed") == "recomputed"  # and replaced
    raw.set(prefix + "broken", COMPRESSED + b"garbage")
    with pytest.raises(CacheError, match="marked compressed"):
        RedisCache(redis_url, strict=True).get(prefix + "broken")
