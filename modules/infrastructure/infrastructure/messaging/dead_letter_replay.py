"""Replaying a module's dead-letter queue: each event goes back to the module's queue, for the listener that failed it.

For each message the listener's publication record is reopened first (``reopen``), then the copy is
published to the module's queue with confirms, then the dead letter is acked: a crash in between
leaves the dead letter in place (a later replay may deliver it twice; the records skip a completed one).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel

from modules.infrastructure.domain.errors import MessagingError
from modules.infrastructure.domain.messaging.envelope import decode
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.messaging.broker_errors import BrokerErrors
from modules.infrastructure.infrastructure.messaging.event_topology import (
    LISTENER_HEADER,
    RETRY_HEADER,
    dead_letter_queue,
    declare_module_queue,
    module_queue,
)
from modules.infrastructure.infrastructure.messaging.forwarded_headers import DROPPED_HEADER, ERROR_HEADER
from modules.infrastructure.infrastructure.messaging.queue_consumer import republish
from modules.infrastructure.infrastructure.messaging.rabbitmq_publisher import BrokerSettings, connection_parameters

logger = logging.getLogger(__name__)

Reopen = Callable[[str, str], None]
_DROPPED = (ERROR_HEADER, DROPPED_HEADER, RETRY_HEADER, "x-death")  # a replay starts the retries over


def replay_dead_letters(
    settings: BrokerSettings, module: str, reopen: Reopen, max_messages: int | None = None, redactor: Redactor | None = None
) -> int:
    """Move up to ``max_messages`` (all when None) of ``module``'s dead letters back to its queue; how many moved.

    ``reopen(event_id, listener_identity)`` is called before each move (for a copy naming its listener
    in ``x-listener``; one without is moved for all the module's listeners and reopens nothing). A
    malformed message is not moved: it stays in the dead-letter queue and is not counted. Raises
    ``MessagingError`` when the broker fails or ``reopen`` does; the message in hand then stays.
    """
    queue = module_queue(module)
    moved = 0
    with BrokerErrors(settings.urls, redactor or Redactor())(f"Replaying the dead letters of module '{module}'"):
        connection = pika.BlockingConnection(connection_parameters(settings))
        try:
            channel = connection.channel()
            declare_module_queue(channel, settings.queue_type, module, ())
            channel.confirm_delivery()
            while max_messages is None or moved < max_messages:
                method, properties, body = channel.basic_get(dead_letter_queue(queue))
                if method is None:
                    break  # empty, or only the malformed ones this replay holds unacked are left
                if _replay_one(channel, queue, properties, body, reopen):
                    channel.basic_ack(method.delivery_tag)
                    moved += 1
                # a malformed message stays unacked until the connection closes: back in the queue, not read again now
        finally:
            if connection.is_open:
                connection.close()
    return moved


def _replay_one(channel: BlockingChannel, queue: str, properties: Any, body: bytes, reopen: Reopen) -> bool:
    """Reopen the record and publish the copy (confirmed); False, with nothing done, for a malformed message."""
    try:
        envelope = decode(body)
    except MessagingError as exc:
        logger.warning("Dead letter %r of '%s' is malformed; left in place: %s", properties.message_id, queue, exc)
        return False
    headers = {key: value for key, value in (properties.headers or {}).items() if key not in _DROPPED}
    listener = headers.get(LISTENER_HEADER)
    if isinstance(listener, str):
        reopen(envelope.id, listener)
    republish(channel, queue, properties, body, headers)
    return True
