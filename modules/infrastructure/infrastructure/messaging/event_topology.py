"""Where events go on RabbitMQ: one headers exchange for the outbox, a topic exchange for listeners, module queues.

Every outbox event is published once to ``infrastructure.outbox`` (headers) with the event type as
routing key and a header naming its destination queue; each named queue is bound there on that
header. ``infrastructure.events`` (topic) is bound to it with a catch-all binding, so the routing key
passes through and each listening module's queue, bound with its listeners' patterns, gets every
matching event. Retries wait in bucket queues whose TTL dead-letters them back to the module's queue.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from pika.adapters.blocking_connection import BlockingChannel

from modules.infrastructure.domain.messaging.fields import MAX_PRIORITY
from modules.infrastructure.domain.messaging.listeners import MAX_RETRY_SECONDS, ListenerRetry

OUTBOX_EXCHANGE = "infrastructure.outbox"
EVENTS_EXCHANGE = "infrastructure.events"
# No "x-" prefix: RabbitMQ ignores binding arguments starting with "x-" when it matches headers.
DESTINATION_HEADER = "infrastructure-destination"
LISTENER_HEADER = "x-listener"
# On a retry copy: the number of the retry it waits for (1 for the first), so the next wait is within its range.
RETRY_HEADER = "x-retry"
MODULE_QUEUE_PREFIX = "infrastructure.listeners."
DEAD_SUFFIX = ".dead"
RETRY_INFIX = ".retry."
# Retry buckets form a geometric series of 2**(k/4) ms: four per doubling, about 125 from 1 ms to the longest wait.
STEPS_PER_DOUBLING = 4
MAX_BUCKET_MS = int(MAX_RETRY_SECONDS * 1000)
MAX_STEP = math.ceil(math.log2(MAX_BUCKET_MS) * STEPS_PER_DOUBLING)  # its bucket is cut to MAX_BUCKET_MS
MAX_AMQP_TIMER_MS = 2**32 - 1  # x-message-ttl and x-expires are unsigned 32-bit counts of milliseconds
# A bucket left unused (no publish, hence no declaration) this long after its TTL is deleted by the broker.
BUCKET_EXPIRY_MARGIN_MS = 60_000
CATCH_ALL = {"x-match": "all"}


def module_queue(module: str) -> str:
    """The durable queue a listening module's processes share."""
    return f"{MODULE_QUEUE_PREFIX}{module}"


def dead_letter_queue(queue: str) -> str:
    return f"{queue}{DEAD_SUFFIX}"


def retry_queue(queue: str, bucket_ms: int) -> str:
    return f"{queue}{RETRY_INFIX}{bucket_ms}"


def destination_binding(queue: str) -> dict[str, Any]:
    """The binding arguments that route an outbox event to the named queue of its ``destination``."""
    return {"x-match": "all", DESTINATION_HEADER: queue}


def module_queue_arguments(queue_type: str) -> dict[str, Any]:
    """A module queue's arguments: priority needs ``x-max-priority``, which only classic queues support (quorum queues
    on RabbitMQ 3.10 have no priorities, so there a higher priority does not overtake)."""
    arguments: dict[str, Any] = {"x-queue-type": queue_type}
    if queue_type == "classic":
        arguments["x-max-priority"] = MAX_PRIORITY
    return arguments


def retry_queue_arguments(queue_type: str, queue: str, bucket_ms: int) -> dict[str, Any]:
    """A bucket's arguments: messages wait ``bucket_ms`` then go back to ``queue``; the bucket goes when unused."""
    return {
        "x-queue-type": queue_type,
        "x-message-ttl": bucket_ms,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": queue,
        "x-expires": min(MAX_AMQP_TIMER_MS, 2 * bucket_ms + BUCKET_EXPIRY_MARGIN_MS),
    }


def bucket_ms(step: int) -> int:
    """The TTL of bucket ``step`` (0 is 1 ms; the last is the longest wait a listener may ask for)."""
    return min(MAX_BUCKET_MS, max(1, round(2 ** (step / STEPS_PER_DOUBLING))))


def retry_bucket_ms(delay: float, low: float | None = None, high: float | None = None) -> int:
    """The bucket TTL (ms) nearest to ``delay`` seconds, keeping to buckets within ``[low, high]`` seconds when any is.

    The nearest bucket is at most a factor 2**(1/8) (9 %) from the delay, give or take half a millisecond.
    """
    wanted = math.log2(min(max(delay * 1000, 1.0), MAX_BUCKET_MS))
    if low is not None and high is not None:
        first = _step_at(low * 1000, math.floor)
        inside = [step for step in range(first, _step_at(high * 1000, math.ceil) + 1) if low * 1000 <= bucket_ms(step) <= high * 1000]
        if inside:
            return _nearest(inside, wanted)
    return _nearest([_step_at(delay * 1000, math.floor), _step_at(delay * 1000, math.ceil)], wanted)


def _step_at(milliseconds: float, rounding: Callable[[float], int]) -> int:
    return min(max(rounding(math.log2(min(max(milliseconds, 1.0), MAX_BUCKET_MS)) * STEPS_PER_DOUBLING), 0), MAX_STEP)


def _nearest(steps: Iterable[int], wanted: float) -> int:
    return bucket_ms(min(steps, key=lambda step: abs(math.log2(bucket_ms(step)) - wanted)))


def bucket_for(retry: ListenerRetry, delay: float, number: int | None = None) -> int:
    """The bucket TTL (ms) a listener waits in for ``delay`` seconds before its retry ``number`` (1 for the first).

    ``ListenerRetry.delay`` draws from half to all of retry ``number``'s ceiling; the bucket stays in
    that range. Without the number (or when ``delay`` is not in its range) it is the nearest bucket.
    """
    if number is not None and number >= 1:
        ceiling = min(retry.cap_seconds, retry.base_seconds * retry.factor ** min(number - 1, 200))
        if ceiling / 2 <= delay <= ceiling:
            return retry_bucket_ms(delay, ceiling / 2, ceiling)
    return retry_bucket_ms(delay)


def declare_exchanges(channel: BlockingChannel) -> None:
    """Both exchanges and the catch-all binding from the outbox's to the events' (idempotent)."""
    channel.exchange_declare(OUTBOX_EXCHANGE, "headers", durable=True)
    channel.exchange_declare(EVENTS_EXCHANGE, "topic", durable=True)
    channel.exchange_bind(EVENTS_EXCHANGE, OUTBOX_EXCHANGE, routing_key="", arguments=CATCH_ALL)


def declare_module_queue(channel: BlockingChannel, queue_type: str, module: str, patterns: Iterable[str]) -> str:
    """A module's queue and dead-letter queue, the queue bound to ``infrastructure.events`` with each pattern; the queue."""
    declare_exchanges(channel)
    queue = module_queue(module)
    channel.queue_declare(queue, durable=True, arguments=module_queue_arguments(queue_type))
    channel.queue_declare(dead_letter_queue(queue), durable=True, arguments={"x-queue-type": queue_type})
    for pattern in sorted(set(patterns)):
        channel.queue_bind(queue, EVENTS_EXCHANGE, routing_key=pattern)
    return queue


def declare_retry_queue(channel: BlockingChannel, queue_type: str, queue: str, bucket: int) -> str:
    """Declare (and so keep from expiring) the bucket of ``queue`` waiting ``bucket`` ms; its name."""
    name = retry_queue(queue, bucket)
    channel.queue_declare(name, durable=True, arguments=retry_queue_arguments(queue_type, queue, bucket))
    return name

