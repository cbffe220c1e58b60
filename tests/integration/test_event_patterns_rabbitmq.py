"""The in-process event pattern matcher agrees with a real RabbitMQ topic exchange on every case of the unit tests.

Listeners match in process without a broker and through topic bindings with one: the same pattern
must choose the same events both ways. The queues are exclusive; the exchange is deleted at the end.
"""

from __future__ import annotations

import uuid

import pika

from modules.infrastructure.domain.messaging.event_patterns import EventPattern
from tests.integration.services import rabbitmq_parameters
from tests.unit.test_event_patterns import CASES


def test_the_matcher_agrees_with_a_topic_exchange(rabbitmq_url: str) -> None:
    connection = pika.BlockingConnection(rabbitmq_parameters(rabbitmq_url, timeout=10))
    try:
        channel = connection.channel()
        exchange = f"infra_test.patterns.{uuid.uuid4().hex[:12]}"
        channel.exchange_declare(exchange, "topic")
        disagreements = []
        for pattern, event_type, expected in CASES:
            queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
            channel.queue_bind(queue, exchange, routing_key=pattern)
            channel.basic_publish(exchange, event_type, b"{}")
            connection.sleep(0.05)
            broker_says = channel.queue_declare(queue, passive=True).method.message_count == 1
            if broker_says != EventPattern(pattern).matches(event_type) or broker_says != expected:
                disagreements.append((pattern, event_type, broker_says))
            channel.queue_delete(queue)
        channel.exchange_delete(exchange)
        assert disagreements == [], "pattern, event type, RabbitMQ's answer"
    finally:
        connection.close()
