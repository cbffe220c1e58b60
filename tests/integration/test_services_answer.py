"""Each real service of the integration layer answers: the fixtures' URLs work for real work."""

from __future__ import annotations

import uuid

import pika
import redis
import sqlalchemy

from tests.integration.postgres_scratch import engine_url
from tests.integration.services import rabbitmq_parameters


def test_postgres_answers_select_1_and_reports_its_version(postgres_url: str) -> None:
    engine = sqlalchemy.create_engine(engine_url(postgres_url))
    try:
        with engine.connect() as connection:
            one = connection.execute(sqlalchemy.text("SELECT 1")).scalar_one()
            version = connection.execute(sqlalchemy.text("SHOW server_version")).scalar_one()
    finally:
        engine.dispose()

    assert one == 1
    assert version.split(".")[0].isdigit(), version


def test_redis_stores_and_returns_a_value(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=3)
    key = f"tests:integration:{uuid.uuid4().hex}"
    value = uuid.uuid4().hex.encode()
    try:
        assert client.set(key, value, ex=60)
        assert client.get(key) == value
        assert client.delete(key) == 1
        assert client.exists(key) == 0
    finally:
        client.delete(key)
        client.close()


def test_rabbitmq_routes_a_published_message_back(rabbitmq_url: str) -> None:
    body = uuid.uuid4().hex.encode()
    connection = pika.BlockingConnection(rabbitmq_parameters(rabbitmq_url, timeout=5))
    try:
        channel = connection.channel()
        channel.confirm_delivery()  # basic_publish returns once the broker has the message
        queue = channel.queue_declare(queue="", exclusive=True, auto_delete=True).method.queue
        channel.basic_publish(exchange="", routing_key=queue, body=body)
        method, _properties, received = channel.basic_get(queue, auto_ack=True)
    finally:
        connection.close()

    assert method is not None, "the queue was empty right after a confirmed publish"
    assert received == body
