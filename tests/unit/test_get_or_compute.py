"""``get_or_compute``'s waits across processes, on a scripted store and a fake clock: no Redis, no sleeping."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from modules.infrastructure.domain.cache.get_or_compute import ComputeOptions, Lock, get_or_compute
from modules.infrastructure.domain.cache.single_flight import SingleFlight
from tests.fake_clock import FakeClock


class ScriptedStore:
    """A store whose lock another process holds until ``release_at`` (seconds on the clock; ``None``: never), and
    which that process fills at ``filled_at``."""

    def __init__(self, clock: FakeClock, *, release_at: float | None = None, filled_at: float | None = None, available: bool = True) -> None:
        self.clock, self.release_at, self.filled_at, self.available = clock, release_at, filled_at, available
        self.values: dict[str, Any] = {}
        self.locks: list[str] = []
        self.unlocked: list[str] = []

    def read_text(self, key: str, with_ttl: bool) -> tuple[str | None, float | None]:
        if key not in self.values and self.filled_at is not None and self.clock() >= self.filled_at:
            self.values[key] = '"theirs"'
        return self.values.get(key), None

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self.values[key] = value

    def lock(self, key: str, ttl: float) -> Lock:
        if not self.available:
            return Lock(None, available=False)
        if self.release_at is None or self.clock() < self.release_at:
            return Lock(None)
        self.locks.append(key)
        return Lock("mine")

    def unlock(self, key: str, token: str) -> None:
        self.unlocked.append(token)


def run(store: ScriptedStore, clock: FakeClock, compute: Callable[[], Any], lock_wait: float = 2.0) -> Any:
    options = ComputeOptions(ttl=60, lock_ttl=5, lock_wait=lock_wait)
    return get_or_compute(store, SingleFlight(), "k", compute, options, clock=clock, sleep=clock.advance)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(0.0)


def test_a_waiting_caller_gets_the_value_the_lock_holder_stores(clock: FakeClock) -> None:
    store = ScriptedStore(clock, filled_at=0.3)
    assert run(store, clock, lambda: "mine") == "theirs"
    assert 0.3 <= clock() < 0.4  # polled with short pauses, not one long sleep


def test_a_holder_that_releases_without_a_value_hands_over_to_a_waiting_caller(clock: FakeClock) -> None:
    store = ScriptedStore(clock, release_at=0.5)  # it failed: no value, lock released
    assert run(store, clock, lambda: "mine") == "mine"
    assert store.locks == ["k"] and store.unlocked == ["mine"] and store.values == {"k": '"mine"'}
    assert clock() < 0.6


def test_a_holder_that_never_finishes_is_waited_for_lock_wait_then_computed_past(clock: FakeClock) -> None:
    store = ScriptedStore(clock, release_at=None)
    assert run(store, clock, lambda: "mine", lock_wait=2.0) == "mine"
    assert 2.0 <= clock() < 2.1 and store.values == {"k": '"mine"'}


def test_a_value_stored_just_before_the_lock_was_taken_is_not_computed_again(clock: FakeClock) -> None:
    class FilledMeanwhile(ScriptedStore):
        def lock(self, key: str, ttl: float) -> Lock:
            self.values[key] = '"theirs"'  # another process stored it between our miss and our lock
            return super().lock(key, ttl)

    store = FilledMeanwhile(clock, release_at=0.0)
    calls: list[int] = []
    assert run(store, clock, lambda: calls.append(1)) == "theirs"
    assert calls == [] and store.unlocked == ["mine"]


def test_a_store_that_cannot_lock_computes_at_once(clock: FakeClock) -> None:
    store = ScriptedStore(clock, available=False)
    assert run(store, clock, lambda: "mine") == "mine" and clock() == 0


def test_the_lock_is_released_when_the_computation_fails(clock: FakeClock) -> None:
    store = ScriptedStore(clock, release_at=0.0)

    def fail() -> str:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run(store, clock, fail)
    assert store.unlocked == ["mine"] and store.values == {}
