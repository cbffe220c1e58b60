"""Every numeric setting at its upper bound builds a component that works, on the real services.

The bounds are the limits of what each value is handed to (``docs/adr/0013-values-within-what-the-libraries-take.md``); past them
the configuration refuses the value (``tests/unit/test_setting_bounds.py``). Here each setting
is set to its bound alone and the component it drives is built and used: a session opened and
waited for, a prompt answered and cached, an event published and received, a relay thread
that keeps waiting. ``USES`` must name every numeric setting of the table.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pika
import pytest
import redis
from sqlalchemy import text

from modules.infrastructure.domain.config.settings import Setting
from modules.infrastructure.domain.messaging.envelope import new_envelope
from modules.infrastructure.module_api import (
    InfrastructureService,
    LLMProviderError,
    MessagingError,
    Prompt,
    PromptContext,
)
from modules.infrastructure.module_api.testing import RecordingPublisher, fake_infrastructure
from tests.integration.anthropic_fault_server import CLAUDE_API_KEY, Claude, ClaudeServer
from tests.integration.fault_server import Answer, FaultServer
from tests.integration.otlp_receiver import OtlpReceiver
from tests.integration.postgres_scratch import scratch_database
from tests.integration.services import rabbitmq_parameters
from tests.setting_bounds import COMPANIONS, FIELD, NUMERIC, at_bound, bound

PROMPT = Prompt("Say {word}", parameters={"temperature": 0, "max_tokens": 8})


@dataclass
class AtBound:
    """One setting at its bound, and what a use of it needs: the environment, services, a scratch folder."""

    setting: Setting
    request: pytest.FixtureRequest
    monkeypatch: pytest.MonkeyPatch
    folder: Path

    @property
    def value(self) -> float:
        return bound(self.setting)

    def configure(self, **settings: str) -> None:
        """This setting at its bound, plus ``settings``; the facade rereads them."""
        for name, raw in {self.setting.name: at_bound(self.setting), **settings}.items():
            self.monkeypatch.setenv(name, raw)
        InfrastructureService.reset()

    def service(self, fixture: str) -> str:
        """A real service's URL (``postgres_url``, ``redis_url``, ``rabbitmq_url``); skipped or failed as the layer says."""
        return str(self.request.getfixturevalue(fixture))

    def sqlite(self, **settings: str) -> None:
        self.configure(DATABASE_URL=f"sqlite:///{self.folder / 'bound.db'}", **settings)

    def fault_server(self, *answers: Answer, **settings: str) -> FaultServer:
        server = FaultServer(list(answers) or [Answer(200)])
        server.__enter__()
        self.request.addfinalizer(lambda: server.__exit__(None, None, None))
        self.configure(
            LLM_PROVIDER="openai", OPENAI_BASE_URL=server.base_url, OPENAI_MODEL=f"bound-{uuid.uuid4().hex[:8]}", **settings
        )
        return server


# --- the uses ----------------------------------------------------------------------------------


def port(b: AtBound) -> None:
    b.configure()
    config = InfrastructureService.get_config()
    [(_, _, _, _, address)] = socket.getaddrinfo("127.0.0.1", config.api_config.port, socket.AF_INET, socket.SOCK_STREAM)
    assert address[1] == b.value


def url_part(b: AtBound) -> None:
    """A URL part at its bound makes a URL that carries it (the URL is checked where DATABASE_URL and REDIS_URL are)."""
    b.configure(**COMPANIONS[b.setting.name])
    assert FIELD[b.setting.name](InfrastructureService.get_config()) == b.value


def sessions_side_by_side(b: AtBound, **settings: str) -> None:
    b.sqlite(**settings)
    sessions = [InfrastructureService.get_database_session() for _ in range(3)]
    try:
        assert [db.execute(text("SELECT 1")).scalar_one() for db in sessions] == [1, 1, 1]
        (stats,) = InfrastructureService.get_database_stats()
        assert stats.checked_out == 3
    finally:
        for db in sessions:
            db.close()


def pool_wait(b: AtBound) -> None:
    """A session waits for the pool's only connection (a wait of up to the bound) and gets it when it is freed."""
    b.sqlite(DB_POOL_SIZE="1", DB_MAX_OVERFLOW="0")
    got: list[int] = []
    held = InfrastructureService.get_database_session()
    with held:
        assert held.execute(text("PRAGMA busy_timeout")).scalar_one() == b.value * 1000  # whole ms in a C int
        waiter = threading.Thread(target=lambda: got.append(_select_one()))
        waiter.start()
        time.sleep(0.3)
        assert not got and waiter.is_alive()  # waiting in the pool, not failed
    waiter.join(10)
    assert got == [1]


def _select_one() -> int:
    with InfrastructureService.get_database_session() as db:
        return int(db.execute(text("SELECT 1")).scalar_one())


def sqlite_session(b: AtBound) -> None:
    b.sqlite()
    assert _select_one() == 1


def postgres_session(b: AtBound) -> None:
    b.configure(DATABASE_URL=b.service("postgres_url"))
    assert _select_one() == 1


def postgres_sessions_reused(b: AtBound) -> None:
    """The second session reuses the pooled connection, so the checkout compares its idle time with the value."""
    b.configure(DATABASE_URL=b.service("postgres_url"))
    assert [_select_one(), _select_one()] == [1, 1]


def statement_timeout(b: AtBound) -> None:
    b.configure(DATABASE_URL=b.service("postgres_url"))
    with InfrastructureService.get_database_session() as db:
        assert db.execute(text("SHOW statement_timeout")).scalar_one() == f"{int(b.value)}ms"


def replica_cooldown(b: AtBound) -> None:
    """A dead replica is skipped for the whole cool-down: the second read does not try it again."""
    b.sqlite(DATABASE_REPLICA_URLS="postgresql://postgres@127.0.0.1:1/nowhere", DB_CONNECT_TIMEOUT="2")
    for _ in range(2):
        started = time.monotonic()
        with InfrastructureService.get_database_session(read_only=True) as db:
            assert db.execute(text("SELECT 1")).scalar_one() == 1
    assert time.monotonic() - started < 0.5  # the second read went straight to the primary


def read_your_writes(b: AtBound) -> None:
    """After a write, this thread's reads stay on the primary for the whole window; another thread's go to the replica."""
    replica = b.folder / "replica.db"
    b.sqlite(DATABASE_REPLICA_URLS=f"sqlite:///{replica}")
    with InfrastructureService.get_database_session() as db:
        db.execute(text("CREATE TABLE written (id integer)"))
    reads: list[str] = []

    def where() -> None:
        with InfrastructureService.get_database_session(read_only=True) as db:
            reads.append(db.connection_id.split("/")[0])

    where()
    waiter = threading.Thread(target=where)
    waiter.start()
    waiter.join()
    assert reads == ["primary", "replica-1"]
    assert replica.exists()


def prompt_answered(b: AtBound, **settings: str) -> None:
    server = b.fault_server(**settings)
    response = InfrastructureService.execute_prompt(PROMPT, PromptContext({"word": "hi"}, use_cache=False))
    assert response.content == "Hello from the fault server" and len(server.requests) == 1


def anthropic_max_tokens(b: AtBound) -> None:
    """The bound is sent as the default max_tokens, which the Messages API requires."""
    with ClaudeServer([Claude(text="Hi")]) as server:
        b.configure(LLM_PROVIDER="anthropic", ANTHROPIC_BASE_URL=server.root_url, ANTHROPIC_API_KEY=CLAUDE_API_KEY)
        response = InfrastructureService.execute_prompt(Prompt("Say hi"), PromptContext(use_cache=False))
    assert response.content == "Hi" and server.requests[0].body["max_tokens"] == b.value


def retries(b: AtBound) -> None:
    server = b.fault_server(Answer(500), Answer(200))
    response = InfrastructureService.execute_prompt(PROMPT, PromptContext({"word": "hi"}, use_cache=False))
    assert response.metadata["attempts"] == 2 and len(server.requests) == 2


def breaker_cooldown(b: AtBound) -> None:
    """One failure opens the breaker, which then stays open for the cool-down: the next call never reaches the server."""
    server = b.fault_server(Answer(500), LLM_BREAKER_THRESHOLD="1", LLM_MAX_RETRIES="0")
    for _ in range(2):
        with pytest.raises(LLMProviderError):
            InfrastructureService.execute_prompt(PROMPT, PromptContext({"word": "hi"}, use_cache=False))
    assert len(server.requests) == 1


def llm_cache_ttl(b: AtBound) -> None:
    client = redis.Redis.from_url(b.service("redis_url"))
    before = set(client.scan_iter(match="llm:*", count=1000))
    b.fault_server(REDIS_URL=b.service("redis_url"))
    first = InfrastructureService.execute_prompt(PROMPT, PromptContext({"word": uuid.uuid4().hex}))
    new = [key for key in set(client.scan_iter(match="llm:*", count=1000)) - before if client.pttl(key) > 86_400_000]
    try:
        assert len(new) == 1 and not first.metadata["cached"]
        assert b.value * 1000 - 60_000 < client.pttl(new[0]) <= b.value * 1000  # Redis kept it for ten years
    finally:
        client.delete(*new)
        client.close()


def shared_rate_limit(b: AtBound) -> None:
    """The shared bucket at the bound still counts single units (Redis's Lua keeps 14 significant digits)."""
    client = redis.Redis.from_url(b.service("redis_url"))
    b.fault_server(REDIS_URL=b.service("redis_url"))
    model = InfrastructureService.get_config().llm_config.model
    kind = "rpm" if b.setting.name == "LLM_RPM_LIMIT" else "tpm"
    key = f"{{llm:ratelimit:openai:{model}}}:{kind}"  # a Cluster hash tag keeps both buckets in one slot
    try:
        started = time.monotonic()
        InfrastructureService.execute_prompt(PROMPT, PromptContext({"word": "hi"}, use_cache=False))
        assert time.monotonic() - started < 5
        level = float(client.hget(key, "level") or 0)
        assert b.value - 1000 < level <= b.value - 1  # the call's units were taken off, exactly enough to see
    finally:
        client.delete(key)
        client.close()


def memory_cache(b: AtBound) -> None:
    b.configure()
    cache = InfrastructureService.get_cache("bounds")
    cache.set("k", "v")
    assert cache.get("k") == "v"


def file_saved_on_disk(b: AtBound) -> None:
    """A file saved and read back on the local disk, with a temporary-file sweep at the setting's bound."""
    b.configure(STORAGE_URL=str(b.folder / "files"))
    files = InfrastructureService.get_file_storage("bounds")
    files.save("a.txt", b"hello")
    assert files.read("a.txt") == b"hello" and files.stats().files == 1


def redis_cache(b: AtBound) -> None:
    b.configure(REDIS_URL=b.service("redis_url"))
    cache = InfrastructureService.get_cache(f"bounds-{uuid.uuid4().hex}", strict=True)
    try:
        cache.set("k", "v")
        assert cache.get("k") == "v"
        if b.setting.name == "CACHE_DEFAULT_TTL":
            client = redis.Redis.from_url(b.service("redis_url"))
            assert b.value * 1000 - 60_000 < client.pttl(f"{cache.namespace}:k") <= b.value * 1000
            client.close()
    finally:
        cache.invalidate_pattern("*")


def published_to_rabbitmq(b: AtBound, payload_bytes: int | None = None) -> None:
    """An event goes through the outbox to a queue of the real broker and arrives whole."""
    queue = f"infra_bound.{uuid.uuid4().hex[:12]}"
    b.sqlite(RABBITMQ_URL=b.service("rabbitmq_url"), OUTBOX_RELAY="off")
    InfrastructureService.migrate()
    payload: dict[str, Any] = {"n": 1}
    if payload_bytes is not None:
        empty = len(new_envelope(queue, {"blob": ""}, event_type="bound.test", source="bounds", max_bytes=1 << 30)[1])
        payload = {"blob": "x" * (payload_bytes - empty)}
        with pytest.raises(MessagingError, match="MESSAGING_MAX_PAYLOAD_BYTES"):
            InfrastructureService.publish_event(queue, {"blob": payload["blob"] + "x"}, event_type="bound.test", source="bounds")
    event_id = InfrastructureService.publish_event(queue, payload, event_type="bound.test", source="bounds")
    connection = pika.BlockingConnection(rabbitmq_parameters(b.service("rabbitmq_url"), timeout=10))
    try:
        assert InfrastructureService.relay_outbox().sent == 1
        channel = connection.channel()
        _, properties, body = channel.basic_get(queue, auto_ack=True)
        assert properties.message_id == event_id
        assert payload_bytes is None or len(body) == payload_bytes
    finally:
        connection.channel().queue_delete(queue)
        connection.close()


def relay_thread(b: AtBound) -> None:
    """The background relay waits the whole interval between runs (Event.wait past a C limit would kill it)."""
    with fake_infrastructure(environment={"OUTBOX_RELAY": "thread", b.setting.name: at_bound(b.setting)}) as fakes:
        InfrastructureService.publish_event("bounds.events", {"n": 1}, event_type="bound.test", source="bounds")
        deadline = time.monotonic() + 5
        while not fakes.publisher.delivered and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
        threads = [t for t in threading.enumerate() if t.name == "outbox-relay"]
        assert len(fakes.publisher.delivered) == 1 and threads and all(t.is_alive() for t in threads)


def relayed(b: AtBound) -> None:
    with fake_infrastructure(environment={b.setting.name: at_bound(b.setting)}) as fakes:
        InfrastructureService.publish_event("bounds.events", {"n": 1}, event_type="bound.test", source="bounds")
        assert len(fakes.events("bounds.events")) == 1


def retention_on_postgres(b: AtBound) -> None:
    """The relay's purge computes now - 1,000,000 hours (year 1912) and runs it on PostgreSQL."""
    with scratch_database(b.service("postgres_url"), "infra_bounds") as url:
        b.configure(DATABASE_URL=url, OUTBOX_RELAY="off")
        InfrastructureService.migrate()
        with InfrastructureService.override(publisher=RecordingPublisher()):
            InfrastructureService.publish_event("bounds.events", {"n": 1}, event_type="bound.test", source="bounds")
            assert InfrastructureService.relay_outbox().sent == 1
            assert InfrastructureService.relay_outbox().sent == 0
        InfrastructureService.reset()


def listener_worker(b: AtBound) -> None:
    """The listener worker waits the whole interval between looks, and still runs what a commit wakes it for."""
    reacted: list[str] = []
    b.sqlite(LISTENER_WORKER="thread")
    InfrastructureService.migrate()
    InfrastructureService.listen("bound.*", lambda event, db: reacted.append(event.id), module="bounds", name="worker")
    event_id = InfrastructureService.publish_event("bounds.events", {"n": 1}, event_type="bound.test", source="bounds")
    deadline = time.monotonic() + 5
    while not reacted and time.monotonic() < deadline:
        time.sleep(0.02)
    threads = [t for t in threading.enumerate() if t.name == "listener-worker"]
    assert reacted == [event_id] and threads and all(t.is_alive() for t in threads)
    InfrastructureService.reset()


def listener_retention_on_postgres(b: AtBound) -> None:
    """The listener worker's pruning computes now - 1,000,000 hours (year 1912) and runs it on PostgreSQL."""
    with scratch_database(b.service("postgres_url"), "infra_bounds") as url:
        b.configure(DATABASE_URL=url, OUTBOX_RELAY="off", LISTENER_WORKER="off")
        InfrastructureService.migrate()
        InfrastructureService.listen("bound.*", lambda event, db: None, module="bounds", name="kept")
        InfrastructureService.publish_event("bounds.events", {"n": 1}, event_type="bound.test", source="bounds")
        assert [o.outcome for o in InfrastructureService.run_listeners()] == ["completed"]
        assert InfrastructureService.list_publications(status="incomplete") == []
        InfrastructureService.reset()


def module_consumer_prefetch(b: AtBound) -> None:
    """A module's RabbitMQ consumer with the largest prefetch basic.qos carries gets its event."""
    module = f"bounds_{uuid.uuid4().hex[:8]}"
    reacted: list[str] = []
    with scratch_database(b.service("postgres_url"), "infra_bounds") as url:
        b.configure(DATABASE_URL=url, RABBITMQ_URL=b.service("rabbitmq_url"), OUTBOX_RELAY="immediate")
        InfrastructureService.migrate()
        try:
            InfrastructureService.listen("bound.*", lambda event, db: reacted.append(event.id), module=module, name="prefetch")
            event_id = InfrastructureService.publish_event("bounds.prefetch", {"n": 1}, event_type="bound.test", source="bounds")
            deadline = time.monotonic() + 10
            while not reacted and time.monotonic() < deadline:
                time.sleep(0.02)
            assert reacted == [event_id]
        finally:
            InfrastructureService.reset()
            connection = pika.BlockingConnection(rabbitmq_parameters(b.service("rabbitmq_url")))
            for queue in (f"infrastructure.listeners.{module}", f"infrastructure.listeners.{module}.dead", "bounds.prefetch"):
                connection.channel().queue_delete(queue)
            connection.close()


def spans_exported(b: AtBound, **settings: str) -> None:
    """The module's tracing provider exports a span to a collector on 127.0.0.1: with the schedule delay at its bound of
    an hour, it arrives with the flush of the shutdown."""
    with OtlpReceiver() as receiver:
        b.configure(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, **settings)
        with InfrastructureService.trace("bound", attributes={"setting": b.setting.name}):
            pass
        InfrastructureService.shutdown()
        [span] = receiver.wait_for(lambda got: len(got) == 1, timeout=5)
    assert span.name == "bound" and span.attributes["setting"] == b.setting.name


USES: dict[str, Callable[[AtBound], None]] = {
    "API_PORT": port,
    "DB_POOL_SIZE": sessions_side_by_side,
    "DB_MAX_OVERFLOW": lambda b: sessions_side_by_side(b, DB_POOL_SIZE="1"),
    "DB_POOL_TIMEOUT": pool_wait,
    "DB_POOL_RECYCLE": sqlite_session,
    "DB_CONNECT_TIMEOUT": postgres_session,
    "DB_STATEMENT_TIMEOUT_MS": statement_timeout,
    "DB_REPLICA_COOLDOWN": replica_cooldown,
    "DB_READ_YOUR_WRITES_SECONDS": read_your_writes,
    "DB_POOL_PRE_PING_IDLE_SECONDS": postgres_sessions_reused,
    "ANTHROPIC_MAX_TOKENS": anthropic_max_tokens,
    "LLM_TIMEOUT": prompt_answered,
    "LLM_MAX_RETRIES": retries,
    "LLM_CACHE_TTL": llm_cache_ttl,
    "LLM_RPM_LIMIT": shared_rate_limit,
    "LLM_TPM_LIMIT": shared_rate_limit,
    "LLM_DEADLINE": prompt_answered,
    "LLM_BREAKER_THRESHOLD": prompt_answered,
    "LLM_BREAKER_COOLDOWN": breaker_cooldown,
    "CACHE_MAX_ITEMS": memory_cache,
    "CACHE_DEFAULT_TTL": redis_cache,
    "CACHE_SOCKET_TIMEOUT": redis_cache,
    "CACHE_COMPRESS_MIN_BYTES": redis_cache,
    "CACHE_NEAR_MAX_ITEMS": redis_cache,
    "CACHE_NEAR_TTL": redis_cache,
    "RABBITMQ_HEARTBEAT": published_to_rabbitmq,
    "RABBITMQ_BLOCKED_TIMEOUT": published_to_rabbitmq,
    "RABBITMQ_CONNECT_TIMEOUT": published_to_rabbitmq,
    "MESSAGING_MAX_PAYLOAD_BYTES": lambda b: published_to_rabbitmq(b, payload_bytes=int(b.value)),
    "OUTBOX_POLL_INTERVAL": relay_thread,
    "OUTBOX_BATCH_SIZE": relayed,
    "OUTBOX_MAX_ATTEMPTS": relayed,
    "OUTBOX_RETENTION_HOURS": retention_on_postgres,
    "LISTENER_POLL_INTERVAL": listener_worker,
    "LISTENER_RETENTION_HOURS": listener_retention_on_postgres,
    "LISTENER_PREFETCH": module_consumer_prefetch,
    "STORAGE_MAX_FILE_SIZE": file_saved_on_disk,
    "STORAGE_TEMP_MAX_AGE": file_saved_on_disk,
    "OTEL_EXPORTER_OTLP_TIMEOUT": spans_exported,
    "OTEL_TRACES_SAMPLER_ARG": lambda b: spans_exported(b, OTEL_TRACES_SAMPLER="traceidratio"),
    "OTEL_BSP_MAX_QUEUE_SIZE": spans_exported,
    "OTEL_BSP_SCHEDULE_DELAY": spans_exported,
    "DB_PORT": url_part,
    "REDIS_PORT": url_part,
    "REDIS_DB": url_part,
}


def test_every_numeric_setting_has_a_use_here() -> None:
    assert set(USES) == {s.name for s in NUMERIC}


@pytest.fixture
def at_bound_of(request: pytest.FixtureRequest, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Setting], AtBound]]:
    yield lambda setting: AtBound(setting, request, monkeypatch, clean_env)


@pytest.mark.parametrize("setting", NUMERIC, ids=[s.name for s in NUMERIC])
def test_the_component_works_with_the_setting_at_its_bound(setting: Setting, at_bound_of: Callable[[Setting], AtBound]) -> None:
    USES[setting.name](at_bound_of(setting))
