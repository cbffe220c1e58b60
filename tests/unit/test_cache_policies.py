"""Cache rules with no I/O: the warning throttle, the outage window, TTLs and value encoding."""

from __future__ import annotations

import pytest

from modules.infrastructure.domain.cache.keys import MAX_TTL_SECONDS, check_ttl
from modules.infrastructure.domain.cache.values import decode_text, dump_json, encode, load_json, shown
from modules.infrastructure.domain.policies.outage import Outage
from modules.infrastructure.domain.policies.throttle import Throttle
from modules.infrastructure.module_api import CacheError, InvalidArgumentError
from tests.fake_clock import FakeClock


def test_the_throttle_lets_one_event_through_per_30_seconds() -> None:
    clock = FakeClock()
    throttle = Throttle(30, clock)
    assert throttle.allow() is True
    assert throttle.take_held_back() == 0
    results = []
    for _ in range(5):
        clock.advance(5)
        results.append(throttle.allow())
    assert results == [False] * 5  # 25 s after the first
    clock.advance(4.999)
    assert throttle.allow() is False
    clock.advance(0.001)
    assert throttle.allow() is True
    assert throttle.take_held_back() == 6
    assert throttle.take_held_back() == 0


def test_the_throttle_measures_from_the_last_event_let_through() -> None:
    clock = FakeClock()
    throttle = Throttle(30, clock)
    throttle.allow()
    clock.advance(45)
    assert throttle.allow() is True
    clock.advance(20)
    assert throttle.allow() is False


def test_an_outage_lasts_its_retry_interval() -> None:
    clock = FakeClock()
    outage = Outage(1.0, clock)
    assert not outage.active()
    outage.start("ConnectionError: refused")
    assert outage.active() and outage.reason == "ConnectionError: refused"
    clock.advance(0.999)
    assert outage.active()
    clock.advance(0.001)
    assert not outage.active()
    outage.start("again")
    outage.end()
    assert not outage.active()


@pytest.mark.parametrize(
    ("ttl", "expected"), [(None, None), (1, 1.0), (0.25, 0.25), (86400, 86400.0), (MAX_TTL_SECONDS, float(MAX_TTL_SECONDS))]
)
def test_valid_ttls(ttl: float | None, expected: float | None) -> None:
    assert check_ttl(ttl) == expected


@pytest.mark.parametrize("ttl", [0, -5, float("nan"), float("inf"), "60", True, MAX_TTL_SECONDS + 0.001, 1e20])
def test_invalid_ttls(ttl: object) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        check_ttl(ttl)  # type: ignore[arg-type]


def test_values_are_stored_as_bytes() -> None:
    assert encode("é") == b"\xc3\xa9"
    assert encode(b"\x00") == b"\x00"
    assert encode(bytearray(b"ab")) == b"ab"
    with pytest.raises(InvalidArgumentError, match="str or bytes"):
        encode(3)  # type: ignore[arg-type]


def test_decoding_errors_say_what_to_do() -> None:
    with pytest.raises(CacheError, match="get_bytes") as raised:
        decode_text("k", b"\xff")
    assert isinstance(raised.value.__cause__, UnicodeDecodeError)
    with pytest.raises(CacheError, match="set_json"):
        load_json("k", "{broken")


def test_json_is_compact_and_keeps_unicode() -> None:
    assert dump_json("k", {"a": "é", "b": [1, 2]}) == '{"a":"é","b":[1,2]}'
    with pytest.raises(CacheError, match="'k'") as raised:
        dump_json("k", {1, 2})
    assert isinstance(raised.value.__cause__, TypeError)


def test_long_keys_are_cut_short_in_messages() -> None:
    assert shown("x" * 200) == repr("x" * 80 + "...")
