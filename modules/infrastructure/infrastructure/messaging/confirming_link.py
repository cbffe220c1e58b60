"""One RabbitMQ connection driven step by step: publish a batch with many confirms in flight.

Events go to the ``infrastructure.outbox`` headers exchange with their type as routing key; the link
declares the exchanges once and binds each destination's queue there once (see ``event_topology``).

pika's ``BlockingChannel`` waits for each confirm (a few hundred messages per second); a
``SelectConnection`` keeps up to ``window`` unconfirmed messages in flight. The link runs the
connection's I/O loop only while a step is in progress, in the thread that owns the link.

A blocked broker (a memory or disk alarm) stops reading but keeps what was written, and stores it
once the alarm clears, even after the client gave up: so a new link, or one idle for a while (an
alarm may have begun meanwhile), sends one message until the broker confirms one, and a blocked
link sends nothing more (ADR 0016).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import takewhile
from typing import Any

import pika
from pika.exceptions import AMQPConnectionError, ChannelWrongStateError, ConnectionWrongStateError

from modules.infrastructure.domain.messaging.ports import PublishOutcome
from modules.infrastructure.domain.messaging.values import Envelope
from modules.infrastructure.infrastructure.messaging.broker_errors import REFUSED_CREDENTIALS
from modules.infrastructure.infrastructure.messaging.event_topology import (
    CATCH_ALL,
    EVENTS_EXCHANGE,
    OUTBOX_EXCHANGE,
    destination_binding,
)

PropertiesFor = Callable[[Envelope], pika.BasicProperties]
# What basic_publish raises when the channel or connection is gone; anything else it raises is about the message.
LINK_STATE_ERRORS = (ChannelWrongStateError, ConnectionWrongStateError)
MAX_REASON = 300
# A link that has had no confirm for this long probes again; batches of a backlog follow each other sooner.
PROBE_AFTER_IDLE = 0.25


class LinkLost(AMQPConnectionError):  # type: ignore[misc]  # pika ships no type hints
    """The connection closed, failed to open, or a step ran out of time; ``settled`` outcomes still hold.

    ``blocked``: the broker had blocked the connection (a resource alarm) when it was lost.
    """

    def __init__(self, reason: str, settled: Mapping[str, PublishOutcome] | None = None, blocked: bool = False) -> None:
        super().__init__(reason)
        self.settled: dict[str, PublishOutcome] = dict(settled or {})
        self.blocked = blocked


@dataclass
class _Batch:
    pending: dict[int, tuple[str, str]] = field(default_factory=dict)  # delivery tag -> (message id, queue)
    outcomes: dict[str, PublishOutcome] = field(default_factory=dict)
    returned: set[str] = field(default_factory=set)


@dataclass
class _Step:
    """How the step the I/O loop is running ended: done, failed (why), or with a queue declaration refused (why)."""

    done: bool = False
    failure: str | None = None
    refused: str | None = None


def _nothing() -> None:
    return None


class ConfirmingLink:
    """A ``SelectConnection`` and a channel in confirm mode, used by one thread at a time."""

    def __init__(self, parameters: Sequence[pika.URLParameters], queue_arguments: dict[str, Any], step_timeout: float) -> None:
        self._arguments = queue_arguments
        self._step_timeout = step_timeout
        self._step = _Step()
        self._on_confirmed: Callable[[], None] = _nothing  # set while a batch is in flight
        self._batch = _Batch()
        self._next_tag = 0
        self._probing = True  # one message at a time until the broker confirms one: it may be blocked
        self._last_ack = float("-inf")
        self.blocked = False
        self.declared: set[str] = set()
        self._exchanges_declared = False
        self.last_used = time.monotonic()
        self.connection = self._connect(parameters)
        self.connection.add_on_connection_blocked_callback(self._on_blocked)
        self.connection.add_on_connection_unblocked_callback(self._on_unblocked)
        self.channel: Any = None
        self._open_channel()

    @property
    def is_open(self) -> bool:
        return self.connection.is_open and self.channel is not None and self.channel.is_open

    def publish(
        self, messages: Sequence[tuple[Envelope, bytes]], properties: PropertiesFor, window: int
    ) -> dict[str, PublishOutcome]:
        """Outcomes by message id; raises ``LinkLost`` (with nothing settled lost) when the connection goes."""
        self.last_used = time.monotonic()
        self._probing = self._probing or self.last_used - self._last_ack > PROBE_AFTER_IDLE
        refused = self._declare({envelope.destination for envelope, _ in messages})
        batch = self._batch = _Batch()
        for envelope, _ in messages:
            if envelope.destination in refused:
                batch.outcomes[envelope.id] = PublishOutcome(envelope.id, False, refused[envelope.destination])
        queue = [(e, body) for e, body in messages if e.destination not in refused]
        sent = 0

        def publish_more() -> None:
            nonlocal sent
            while not self.blocked and sent < len(queue) and len(batch.pending) < (1 if self._probing else window):
                envelope, body = queue[sent]
                sent += 1
                unencodable = self._publish_one(envelope, body, properties)
                if unencodable is not None:
                    batch.outcomes[envelope.id] = PublishOutcome(envelope.id, False, unencodable, retryable=False)
            if sent == len(queue) and not batch.pending:
                self._finish()

        self._on_confirmed = publish_more
        try:
            self._run(publish_more, timeout=self._step_timeout + len(queue) / 1000)
        except LinkLost as exc:
            raise LinkLost(str(exc), settled=batch.outcomes, blocked=self.blocked) from exc
        finally:
            self._on_confirmed = _nothing  # an unblock after the batch must not end a later step
        return batch.outcomes

    def _publish_one(self, envelope: Envelope, body: bytes, properties: PropertiesFor) -> str | None:
        """Publish one message under the next delivery tag; or why pika cannot encode it (then nothing was sent)."""
        try:
            self.channel.basic_publish(OUTBOX_EXCHANGE, envelope.type, body, properties(envelope), mandatory=True)
        except LINK_STATE_ERRORS:
            raise
        except Exception as exc:  # pika encodes all of a message's frames before it writes any: the stream is intact
            return f"RabbitMQ cannot carry this event: {type(exc).__name__}: {exc}"[:MAX_REASON]
        self._next_tag += 1
        self._batch.pending[self._next_tag] = (envelope.id, envelope.destination)
        return None

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()
            self._run(lambda: None, timeout=2.0, tolerate_loss=True)

    def _connect(self, parameters: Sequence[pika.URLParameters]) -> pika.SelectConnection:
        """The first node that opens; raises pika's own error when every node refused the credentials."""
        errors: list[str] = []
        refusals: list[BaseException] = []
        for params in parameters:
            opening: list[BaseException] = []

            def open_failed(_connection: Any, error: BaseException, opening: list[BaseException] = opening) -> None:
                opening.append(error)
                self._fail(f"cannot connect: {error!r}")

            connection = pika.SelectConnection(
                params,
                on_open_callback=lambda _c: self._finish(),
                on_open_error_callback=open_failed,
                on_close_callback=lambda _c, reason: self._fail(f"connection closed: {reason!r}"),
            )
            self.connection = connection
            try:
                self._run(lambda: None, timeout=params.socket_timeout or 10.0)
                return connection
            except LinkLost as exc:
                errors.append(str(exc))
                refusals.extend(error for error in opening if isinstance(error, REFUSED_CREDENTIALS))
        if refusals and len(refusals) == len(errors):
            raise refusals[-1]  # not a lost link: reconnecting cannot help
        raise LinkLost("; ".join(errors) or "no broker node given")

    def _open_channel(self) -> None:
        def opened(channel: Any) -> None:
            self.channel = channel
            channel.add_on_close_callback(self._on_channel_closed)
            channel.add_on_return_callback(lambda _ch, _method, props, _body: self._batch.returned.add(props.message_id))
            channel.confirm_delivery(ack_nack_callback=self._on_confirm, callback=lambda _frame: self._finish())

        self._next_tag = 0
        self._run(lambda: self.connection.channel(on_open_callback=opened), timeout=self._step_timeout)

    def _declare(self, destinations: set[str]) -> dict[str, str]:
        """Declare the exchanges (once), then bind each new destination's durable queue; the refused ones, with why."""
        new = sorted(destinations - self.declared)
        if new and not self._exchanges_declared:
            refusal = self._declare_step(
                lambda _done: self.channel.exchange_declare(OUTBOX_EXCHANGE, "headers", durable=True),
                lambda _done: self.channel.exchange_declare(EVENTS_EXCHANGE, "topic", durable=True),
                lambda done: self.channel.exchange_bind(EVENTS_EXCHANGE, OUTBOX_EXCHANGE, "", arguments=CATCH_ALL, callback=done),
            )
            if refusal is not None:
                reason = f"exchanges '{OUTBOX_EXCHANGE}' and '{EVENTS_EXCHANGE}' refused by the broker: {refusal}"
                return dict.fromkeys(new, reason)
            self._exchanges_declared = True
        refused: dict[str, str] = {}
        for destination in new:
            refusal = self._declare_step(
                partial(self._declare_queue, destination), partial(self._bind_queue, destination)
            )
            if refusal is None:
                self.declared.add(destination)
            else:
                refused[destination] = f"queue '{destination}' refused by the broker: {refusal}"
        return refused

    def _declare_queue(self, queue: str, _done: Callable[[Any], None]) -> None:
        self.channel.queue_declare(queue, durable=True, arguments=self._arguments)

    def _bind_queue(self, queue: str, done: Callable[[Any], None]) -> None:
        self.channel.queue_bind(queue, OUTBOX_EXCHANGE, "", arguments=destination_binding(queue), callback=done)

    def _declare_step(self, *calls: Callable[[Callable[[Any], None]], None]) -> str | None:
        """Issue the calls in one step (pika queues each until the one before is answered; the last passes ``done``).

        The broker's reason when it refused one (the channel is reopened then), else None.
        """

        def start() -> None:
            for call in calls:
                call(lambda _frame: self._finish())

        self._run(start, timeout=self._step_timeout)
        refusal = self._step.refused
        if refusal is not None:
            self._open_channel()
        return refusal

    def _on_confirm(self, frame: Any) -> None:
        method, batch = frame.method, self._batch
        confirmed = isinstance(method, pika.spec.Basic.Ack)
        # Tags were added in increasing order: a multiple ack settles a prefix, not the whole window.
        tags = list(takewhile(lambda t: t <= method.delivery_tag, batch.pending)) if method.multiple else [method.delivery_tag]
        for tag in tags:
            message_id, queue = batch.pending.pop(tag, (None, ""))
            if message_id is None:
                continue
            if not confirmed:
                batch.outcomes[message_id] = PublishOutcome(message_id, False, "rejected by the broker (nack)")
            elif message_id in batch.returned:
                self.declared.discard(queue)  # the queue went away: declare it again next time
                batch.outcomes[message_id] = PublishOutcome(message_id, False, f"unroutable: no queue named '{queue}'")
            else:
                batch.outcomes[message_id] = PublishOutcome(message_id, True)
        if confirmed:
            self._probing, self._last_ack = False, time.monotonic()
        self._on_confirmed()

    def _on_blocked(self, _connection: Any, _frame: Any) -> None:
        self.blocked = True

    def _on_unblocked(self, _connection: Any, _frame: Any) -> None:
        self.blocked = False
        self._on_confirmed()  # publish the rest of the batch in flight, if any

    def _on_channel_closed(self, _channel: Any, reason: Any) -> None:
        self.channel = None
        if self.connection.is_open:
            self._step.refused = str(reason)
            self._finish()
        else:
            self._fail(f"channel closed: {reason!r}")

    def _run(self, start: Callable[[], None], timeout: float, tolerate_loss: bool = False) -> None:
        """Start a step and run the I/O loop until it finishes, fails, or ``timeout`` passes."""
        step = self._step = _Step()
        loop = self.connection.ioloop
        timer = loop.call_later(timeout, lambda: self._fail(f"no answer within {timeout:.1f} s"))
        loop.add_callback_threadsafe(start)
        try:
            loop.start()
        finally:  # a step that raised must not leave its timer to fail a later one
            loop.remove_timeout(timer)
        if step.failure and not tolerate_loss:
            raise LinkLost(step.failure)

    def _finish(self) -> None:
        self._step.done = True
        self.connection.ioloop.stop()

    def _fail(self, reason: str) -> None:
        if not self._step.done:
            self._step.failure = reason
        self.connection.ioloop.stop()
