"""Retry buckets: a bounded set of waits over the whole range, each close to the wanted delay and inside the jitter's range."""

from __future__ import annotations

import math

import pytest

from modules.infrastructure.domain.messaging.fields import MAX_PRIORITY
from modules.infrastructure.domain.messaging.listeners import MAX_RETRY_SECONDS, ListenerRetry
from modules.infrastructure.infrastructure.messaging.event_topology import (
    MAX_AMQP_TIMER_MS,
    bucket_for,
    module_queue_arguments,
    retry_bucket_ms,
    retry_queue_arguments,
)

# Delays from a millisecond to the longest a listener may wait, 40 per doubling.
DELAYS = [2 ** (k / 40) / 1000 for k in range(0, int(40 * math.log2(MAX_RETRY_SECONDS * 1000)) + 1)]
POLICIES = [
    ListenerRetry(),
    ListenerRetry(base_seconds=0.001, factor=10.0, cap_seconds=MAX_RETRY_SECONDS, attempts=10),
    ListenerRetry(base_seconds=0.25, factor=1.5, cap_seconds=60.0, attempts=20),
    ListenerRetry(base_seconds=3.0, factor=1.0, cap_seconds=3.0, attempts=3),
    ListenerRetry(base_seconds=0.7, factor=3.0, cap_seconds=86_400.0, attempts=15),
    ListenerRetry(base_seconds=1.0, factor=1.1, cap_seconds=1_000.0, attempts=100),
]
DRAWS = [k / 20 for k in range(21)]  # ListenerRetry.delay's random number, from 0 to 1


def test_the_buckets_over_the_whole_range_are_a_bounded_set() -> None:
    buckets = {retry_bucket_ms(delay) for delay in DELAYS}
    assert len(buckets) <= 130
    assert min(buckets) == 1 and max(buckets) <= MAX_RETRY_SECONDS * 1000


def test_a_bucket_is_within_a_ninth_of_the_delay() -> None:
    for delay in DELAYS:
        wanted = delay * 1000
        # Buckets are whole milliseconds: half a millisecond of rounding on top.
        assert wanted * 2 ** (-1 / 8) - 0.5 <= retry_bucket_ms(delay) <= wanted * 2 ** (1 / 8) + 0.5, delay


def test_delays_outside_the_range_go_to_the_end_buckets() -> None:
    assert retry_bucket_ms(0) == 1 and retry_bucket_ms(-5) == 1
    assert retry_bucket_ms(MAX_RETRY_SECONDS * 10) <= MAX_RETRY_SECONDS * 1000


@pytest.mark.parametrize("retry", POLICIES, ids=lambda r: f"{r.base_seconds}x{r.factor}cap{r.cap_seconds}")
def test_every_jittered_delay_waits_in_a_bucket_inside_its_jitter_range(retry: ListenerRetry) -> None:
    for number in range(1, retry.attempts):
        ceiling = min(retry.cap_seconds, retry.base_seconds * retry.factor ** (number - 1))
        for draw in DRAWS:
            delay = retry.delay(number, rand=lambda draw=draw: draw)
            wait = bucket_for(retry, delay, number) / 1000
            assert ceiling / 2 - 0.0005 <= wait <= ceiling + 0.0005, (number, draw, delay, wait)


def test_without_the_retry_number_or_outside_its_range_the_nearest_bucket_is_used() -> None:
    retry = ListenerRetry(base_seconds=1.0, factor=2.0, cap_seconds=300.0, attempts=5)
    assert bucket_for(retry, 0.95) == retry_bucket_ms(0.95) == 1024  # 2**(40/4) ms, past the delay
    assert bucket_for(retry, 0.95, 1) == 861  # 2**(39/4) ms: retry 1 waits at most 1 s
    assert bucket_for(retry, 100.0, 2) == retry_bucket_ms(100.0)  # retry 2 never waits that long


def test_a_bucket_expires_well_after_its_ttl_and_within_amqp_s_timer() -> None:
    for wait in (1, 1000, 3_600_000, int(MAX_RETRY_SECONDS * 1000)):
        arguments = retry_queue_arguments("classic", "infrastructure.listeners.m", wait)
        assert arguments["x-message-ttl"] == wait
        assert wait + 60_000 <= arguments["x-expires"] <= MAX_AMQP_TIMER_MS
        assert arguments["x-dead-letter-exchange"] == "" and arguments["x-dead-letter-routing-key"] == "infrastructure.listeners.m"


def test_only_classic_module_queues_carry_a_priority() -> None:
    assert module_queue_arguments("classic") == {"x-queue-type": "classic", "x-max-priority": MAX_PRIORITY}
    assert module_queue_arguments("quorum") == {"x-queue-type": "quorum"}
