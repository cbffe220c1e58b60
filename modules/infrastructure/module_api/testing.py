"""Test doubles for sibling modules' tests: public, supported, in memory; the real call paths run on them.

    from modules.infrastructure.module_api.testing import fake_infrastructure

    with fake_infrastructure(['{"question": "2 + 2?", "options": ["3", "4"], "answer": 1}']) as fakes:
        ...                              # the facade now runs on in-memory SQLite (migrated), a
        fakes.llm.prompts                # scripted model, an in-memory cache and a recording broker
        fakes.llm.embedded               # texts of each embeddings request (vectors: fakes.llm.embedder,
                                         # default hashed_vector); fakes.llm.add_moderations(...) scripts moderate()
        fakes.events("lessons.events")   # relays the outbox to the recording broker, then its events
        fakes.http.add("crm", 201, json={"id": 7})   # the next answer of get_http_client("crm");
        fakes.http.requests("crm")       # what was sent (an unscripted request gets 200, empty body)
        fakes.tracing.tree()             # the spans the block made, as a tree (fakes.tracing.named(...))

Listeners registered inside the block (``InfrastructureService.listen``) run right after each
publishing transaction commits, in the committing thread, with the same publication records as
in production: a test asserts another module's reaction without a broker or a worker.

Each fake also works alone: ``InfrastructureService.override(cache=MemoryCache())``,
``override(llm=FakeLLM([...]).gateway())``, ``override(publisher=RecordingPublisher())``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from modules.infrastructure.domain.config.configuration import Configuration
from modules.infrastructure.domain.config.values import AppConfig
from modules.infrastructure.domain.messaging.values import Envelope
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.bootstrap import bootstrap
from modules.infrastructure.infrastructure.cache.memory_cache import MemoryCache
from modules.infrastructure.infrastructure.config.module_discovery import discover_module_settings
from modules.infrastructure.infrastructure.fakes.http import FakeHttp, RecordedRequest, ScriptedAnswer
from modules.infrastructure.infrastructure.fakes.llm import FakeLLM, RecordedPrompt, Reply
from modules.infrastructure.infrastructure.fakes.llm_embeddings import hashed_vector
from modules.infrastructure.infrastructure.fakes.publisher import RecordingPublisher
from modules.infrastructure.infrastructure.fakes.storage import MemoryStorage
from modules.infrastructure.infrastructure.fakes.tracing import RecordedSpan, RecordingTracing
from modules.infrastructure.infrastructure.runtime import runtime
from modules.infrastructure.module_api.infrastructure_service import InfrastructureService

__all__ = [
    "FakeHttp", "FakeInfrastructure", "FakeLLM", "MemoryCache", "MemoryStorage", "RecordedPrompt", "RecordedRequest", "RecordedSpan",
    "RecordingPublisher", "RecordingTracing", "ScriptedAnswer", "fake_infrastructure", "hashed_vector",
]

# A fresh in-memory database per block; events wait in the outbox until the test relays them, and
# reach the listeners registered in the block right after their transaction commits.
FAKE_ENVIRONMENT = {
    "APP_ENV": "test", "DATABASE_URL": "sqlite://", "LLM_PROVIDER": "local", "OUTBOX_RELAY": "off", "LISTENER_WORKER": "inline",
}


@dataclass(frozen=True)
class FakeInfrastructure:
    """What ``fake_infrastructure`` installed: inspect the fakes, or relay the outbox to the broker fake."""

    llm: FakeLLM
    publisher: RecordingPublisher
    cache: MemoryCache
    config: AppConfig
    storage: MemoryStorage
    http: FakeHttp
    tracing: RecordingTracing

    def events(self, destination: str | None = None) -> list[Envelope]:
        """Relay the committed outbox events to the recording publisher now; then every event it holds, in order."""
        InfrastructureService.relay_outbox()
        return [e for e in self.publisher.delivered if destination is None or e.destination == destination]


@contextmanager
def fake_infrastructure(
    replies: Iterable[Reply] = (),
    *,
    respond: Callable[[RecordedPrompt], str] | None = None,
    environment: Mapping[str, str] | None = None,
    migrate: bool = True,
) -> Iterator[FakeInfrastructure]:
    """Run the facade on ``bootstrap()`` with fakes inside the block: a migrated in-memory SQLite database,
    ``FakeLLM``, ``MemoryCache``, ``RecordingPublisher``, ``MemoryStorage``, ``FakeHttp`` and ``RecordingTracing``. ``environment`` adds or replaces settings
    (no ``.env`` is read), modules' ``<MODULE>_*`` settings too. Everything the block built is closed at its end.
    """
    config = Configuration({**FAKE_ENVIRONMENT, **(environment or {})}, discover_module_settings()).load_from_environment()
    fakes = FakeInfrastructure(FakeLLM(replies, respond=respond), RecordingPublisher(), MemoryCache(), config, MemoryStorage(), FakeHttp(), RecordingTracing())
    infrastructure = bootstrap(
        config=config,
        redactor=Redactor(),
        cache=fakes.cache,
        publisher=fakes.publisher,
        storage=fakes.storage,
        http_transports=fakes.http,
        tracing=fakes.tracing,
        llm_providers=fakes.llm.providers(config.llm_config),
    )
    with runtime.use(infrastructure):
        if migrate:
            InfrastructureService.migrate()
        yield fakes
