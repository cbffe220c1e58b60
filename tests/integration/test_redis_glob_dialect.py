"""The in-memory cache's glob matcher against Redis's own ``SCAN MATCH``, on random patterns.

The contract table (``tests/contracts/cache_contract.py``) pins the cases the issue found; this
test looks for any other difference. Patterns are drawn (with a fixed seed) from the characters
that mean something to a glob, plus a non-ASCII one; keys live under a namespace of their own
on the shared Redis and are deleted afterwards (never FLUSH).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator

import pytest
import redis

from modules.infrastructure.domain.cache.glob import compile_glob

ALPHABET = ["a", "b", "x", "*", "?", "[", "]", "^", "!", "-", "\\", "é"]
PATTERNS = 1500


@pytest.fixture
def keys(redis_url: str) -> Iterator[tuple[redis.Redis, str, list[str]]]:
    client = redis.Redis.from_url(redis_url)
    namespace = f"glob-{uuid.uuid4().hex}:"
    draw = random.Random(11)
    names = sorted({"".join(draw.choice(ALPHABET) for _ in range(draw.randint(0, 4))) for _ in range(150)})
    for name in names:
        client.set(namespace + name, "1")
    try:
        yield client, namespace, names
    finally:
        client.delete(*(namespace + name for name in names))
        client.close()


def test_the_memory_matcher_agrees_with_scan_match_on_random_patterns(keys: tuple[redis.Redis, str, list[str]]) -> None:
    client, namespace, names = keys
    draw = random.Random(23)
    differences, compared = [], 0
    for _ in range(PATTERNS):
        pattern = namespace + "".join(draw.choice(ALPHABET) for _ in range(draw.randint(0, 6)))
        try:
            matches = compile_glob(pattern).fullmatch
        except ValueError:  # a non-ASCII range, refused on both backends
            continue
        compared += 1
        by_redis = {key.decode()[len(namespace) :] for key in client.scan_iter(match=pattern, count=1000)}
        in_memory = {name for name in names if matches((namespace + name).encode())}
        if by_redis != in_memory:
            differences.append((pattern[len(namespace) :], sorted(by_redis ^ in_memory)[:3]))
    assert compared > PATTERNS * 0.9
    assert differences == []
