"""The cache line's round trip: milliseconds for Redis, microseconds where it would print 0.00 ms."""

from __future__ import annotations

import pytest

from modules.infrastructure.infrastructure.cache.health import CacheHealthCheck, _duration
from modules.infrastructure.infrastructure.cache.memory_cache import MemoryCache


@pytest.mark.parametrize(("milliseconds", "shown"), [(12.345, "12.35 ms"), (1.0, "1.00 ms"), (0.25, "250.0 µs"), (0.0012, "1.2 µs")])
def test_round_trips_are_shown_in_a_unit_that_keeps_their_digits(milliseconds: float, shown: str) -> None:
    assert _duration(milliseconds) == shown


def test_the_in_memory_line_no_longer_reads_zero_milliseconds() -> None:
    detail = CacheHealthCheck(lambda: MemoryCache(5)).check().detail
    assert detail.startswith("in-memory, 0/5 items, round trip ")
    assert "0.00 ms" not in detail and detail.endswith(("µs", "ms"))
