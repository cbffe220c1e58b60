"""``InfrastructureService``: the one static facade sibling modules call for technical services."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from modules.infrastructure.domain.cache.cached_function import CachedFunction
from modules.infrastructure.domain.cache.ports import Cache
from modules.infrastructure.domain.config.reload import ConfigReload
from modules.infrastructure.domain.config.module_settings import ModuleSettings, SettingValues, settings_of
from modules.infrastructure.domain.config.values import AppConfig
from modules.infrastructure.domain.database.values import MigrationStatus, PoolStats
from modules.infrastructure.domain.errors import StorageError
from modules.infrastructure.domain.health.values import EnvironmentStatus, Readiness
from modules.infrastructure.domain.llm.chat_stream import ChatStream
from modules.infrastructure.domain.llm.conversation import Message
from modules.infrastructure.domain.llm.tool_loop import ToolLoopResult
from modules.infrastructure.domain.llm.tools import Tool
from modules.infrastructure.domain.llm.embedding_values import EmbeddingResult, ModerationResult
from modules.infrastructure.domain.llm.embeddings import LLMEmbeddings
from modules.infrastructure.domain.llm.moderation import LLMModeration
from modules.infrastructure.domain.llm.values import LLMClient, LLMResponse, LLMUsageSummary, Prompt, PromptContext
from modules.infrastructure.domain.messaging.listeners import ListenerRetry
from modules.infrastructure.domain.messaging.ports import Consumer
from modules.infrastructure.domain.messaging.publications import DeliveryOutcome, ListenerStatus, Publication
from modules.infrastructure.domain.messaging.values import Envelope, RelayResult
from modules.infrastructure.domain.tracing.sibling_spans import TraceSpan, checked_attributes, span_kind, span_name
from modules.infrastructure.domain.tracing.trace_context import TraceContext
from modules.infrastructure.infrastructure.database.session import DatabaseSession
from modules.infrastructure.infrastructure.runtime import runtime

if TYPE_CHECKING:
    from modules.infrastructure.infrastructure.storage.file_storage import FileStorage
    from modules.infrastructure.infrastructure.integrations.http_client import HttpClient
    from modules.infrastructure.infrastructure.metrics.module_metrics import ModuleMetrics
    from modules.infrastructure.infrastructure.bootstrap import Infrastructure

R = TypeVar("R")
P = ParamSpec("P")

# The components the facade reads: the process's, or the innermost override's. Importing the runtime
# imports no driver; each component imports its own when first used.
_components: Callable[[], Infrastructure] = runtime.current


class InfrastructureService:
    """Database, LLM, configuration, cache and messaging for sibling modules, in one place.

    Every method is static and thread-safe; components are built on first use.
    """

    @staticmethod
    def get_config() -> AppConfig:
        """The validated configuration, read once per process.

        Raises ``ConfigurationError`` listing every problem. ``InfrastructureService.get_config().environment``
        """
        return _components().config

    @staticmethod
    def reload_config() -> ConfigReload:
        """Reread the environment, the dotenv file and secret files, and apply what can change in place.

        A new LLM key or model swaps the LLM client (calls in flight finish on the old one); new database
        passwords are used by new connections (open ones go on); logging and feature flags follow at once.
        Any other changed variable is listed in ``needs_restart`` and keeps its old value until then.
        Raises ``ConfigurationError`` (and changes nothing) when the new configuration is not valid.
        ``print(InfrastructureService.reload_config().describe())``
        """
        return runtime.reload()

    @staticmethod
    def is_feature_enabled(name: str, default: bool = False) -> bool:
        """Whether ``FEATURE_FLAG_<NAME>`` is on; ``default`` when the flag is not set.

        ``if InfrastructureService.is_feature_enabled("new_ui"): ...``
        """
        return _components().config.is_feature_enabled(name, default)

    @staticmethod
    def get_module_settings(module: str | ModuleSettings) -> SettingValues:
        """Your module's own settings: its ``<MODULE>_*`` variables, declared in ``modules/<name>/settings.py``, frozen.

        Read and checked with the configuration (a malformed value is one of ``ConfigurationError``'s problems);
        ``InvalidArgumentError`` for a module without a settings table there.
        ``InfrastructureService.get_module_settings("content_creation").max_image_bytes``
        """
        return settings_of(_components().config.module_settings, module)

    @staticmethod
    def validate_environment(timeout: float = 5.0) -> EnvironmentStatus:
        """Check the configuration and every component, each within ``timeout`` seconds; never raises.

        ``status = InfrastructureService.validate_environment(); status.is_valid``
        """
        from modules.infrastructure.infrastructure.health.report import build_report

        components = _components()
        return build_report(lambda: components.config, lambda: components.health_checks, timeout, components.redactor.redact)

    @staticmethod
    def check_readiness(timeout: float = 2.0) -> Readiness:
        """Whether this process is ready for traffic: the configuration holds and none of the start-up checks
        ``HEALTH_READY_COMPONENTS`` names (default config, database) is an error within ``timeout``; never raises
        for a component that is down. ``InvalidArgumentError`` for a bad ``timeout``.
        ``if not InfrastructureService.check_readiness().ready: ...``
        """
        from modules.infrastructure.infrastructure.bootstrap import readiness_checks
        from modules.infrastructure.infrastructure.health.readiness import check_readiness
        from modules.infrastructure.infrastructure.health.report import checked_timeout

        components = _components()
        seconds = checked_timeout(timeout, "check_readiness")
        return check_readiness(lambda: components.config, lambda: readiness_checks(components, seconds), seconds, components.redactor.redact)

    @staticmethod
    def get_metrics_app() -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
        """The WSGI application of a metrics server: ``/metrics`` (prometheus_client's, over ``metrics_text()``'s metrics),
        ``/livez`` (200 while the process serves) and ``/readyz`` (200 when ``check_readiness()`` is ready, else 503).
        ``make_server("0.0.0.0", 9464, InfrastructureService.get_metrics_app()).serve_forever()``
        """
        from modules.infrastructure.infrastructure.metrics.probes_app import probes_app

        return probes_app(lambda: _components().exposition, InfrastructureService.check_readiness)

    @staticmethod
    def get_database_session(read_only: bool = False, *, consistency_key: str | int | None = None) -> DatabaseSession:
        """A pooled session: on a replica when ``read_only`` (falling back to the primary), else the primary.

        Read your writes: for ``DB_READ_YOUR_WRITES_SECONDS`` after a session on the primary commits a
        write, ``read_only`` sessions of the same thread, or of the same ``consistency_key`` (a user id,
        say) when one is given, go to the primary too. Raises ``DatabaseConnectionError`` when unreachable,
        ``DatabasePoolExhaustedError`` when no connection frees up in time, ``InvalidArgumentError`` for a bad key.
        ``with InfrastructureService.get_database_session() as db: db.add(x)``
        """
        return _components().database.session(read_only, traced=True, consistency_key=consistency_key)

    @staticmethod
    def run_in_transaction(fn: Callable[[DatabaseSession], R], *, retries: int = 3, consistency_key: str | int | None = None) -> R:
        """Run ``fn(session)`` in one committed transaction, retried when nothing can have been committed.

        Retried: a conflict or deadlock, a session that could not be opened, a connection lost before
        the commit. Not retried: ``DatabaseCommitUnknownError`` (lost during the commit, which may have
        happened; make ``fn`` idempotent to retry it yourself). Raises the ``DatabaseError`` subclass of
        the last failure.
        Once committed it counts as a write of the thread and ``consistency_key`` (see ``get_database_session``).
        ``InfrastructureService.run_in_transaction(lambda db: transfer(db, a, b, 10))``
        """
        return _components().database.run_in_transaction(fn, retries, consistency_key)

    @staticmethod
    def get_database_stats() -> list[PoolStats]:
        """Pool figures (size, checked in, checked out, overflow) for every engine built so far.

        ``for pool in InfrastructureService.get_database_stats(): print(pool.label, pool.checked_out)``
        """
        return _components().database.stats()

    @staticmethod
    def migrate(target: str = "heads") -> MigrationStatus:
        """Upgrade the primary database to ``target`` with Alembic; raises ``DatabaseError`` subclasses.

        ``InfrastructureService.migrate()``
        """
        return _components().database.migrate(target)

    @staticmethod
    def migration_status() -> MigrationStatus:
        """Current revisions, heads and the number of pending migrations of the primary database.

        ``if not InfrastructureService.migration_status().at_head: ...``
        """
        return _components().database.migration_status()

    @staticmethod
    def publish_event(
        destination: str,
        payload: Any,
        *,
        event_type: str,
        source: str,
        session: DatabaseSession | None = None,
        correlation_id: str | None = None,
        priority: int = 0,
        headers: Mapping[str, Any] | None = None,
    ) -> str:
        """Store an event in the outbox (in ``session``'s transaction when given) and return its id.

        The event is durable when this returns (or when ``session`` commits) and is relayed to
        RabbitMQ after the commit; a rolled-back session drops it. Raises ``MessagingError`` naming
        the argument for a value the event cannot carry (the README lists the rules), or when it cannot be stored.
        ``InfrastructureService.publish_event("lessons", {"id": 7}, event_type="lesson.created", source="lessons", session=db)``
        """
        return _components().messaging.publish_event(
            destination,
            payload,
            event_type=event_type,
            source=source,
            session=session,
            correlation_id=correlation_id,
            priority=priority,
            headers=headers,
        )

    @staticmethod
    def relay_outbox(max_messages: int | None = None, timeout: float | None = None) -> RelayResult:
        """Publish pending outbox events in id order, marking each sent once RabbitMQ confirmed it.

        A row that can never be published is marked failed with the reason, and the others go on.
        Raises ``MessagingError`` when no broker is configured or reachable (events stay pending),
        ``MessagingAuthenticationError`` when it refuses the credentials.
        ``InfrastructureService.relay_outbox(timeout=10).pending``
        """
        return _components().messaging.relay(max_messages, timeout)

    @staticmethod
    def listen(
        pattern: str,
        handler: Callable[[Envelope, DatabaseSession], Any],
        *,
        module: str,
        name: str | None = None,
        retry: ListenerRetry | None = None,
        timeout: float | None = None,
    ) -> str:
        """Run ``handler(event, db)`` for every event whose type matches ``pattern``, once per event; the listener's identity.

        ``pattern`` is an event type or a topic pattern (``content.*``: one word, ``content.#``: any).
        The identity ``<module>.<name>`` (name: the handler's qualified name) keys the listener's records
        across restarts. ``db``'s transaction commits the handler's work with its record: do not commit it
        yourself. A failure is retried after ``retry``'s backoff (default 1 s doubling to 300 s, 5 attempts);
        a call longer than ``timeout`` seconds (default 30) counts as a failure. Register at start-up.
        Raises ``MessagingError`` for a bad argument, a duplicate identity, or a database that is not migrated.
        ``InfrastructureService.listen("content.question_created", add_to_practice, module="learning")``
        """
        return _components().listeners.listen(pattern, handler, module=module, name=name, retry=retry, timeout=timeout)

    @staticmethod
    def list_publications(*, status: str = "incomplete", listener: str | None = None, limit: int = 100) -> list[Publication]:
        """Publication records oldest first: ``incomplete`` (pending or failed), ``pending`` or ``failed``; of ``listener`` when given.

        ``for p in InfrastructureService.list_publications(status="failed"): print(p.listener, p.event_id, p.last_error)``
        """
        return _components().listeners.publications(status, listener, limit)

    @staticmethod
    def resubmit_publications(*, listener: str | None = None, event_ids: list[str] | None = None) -> int:
        """Make failed publications (of ``listener``, of ``event_ids``) pending again with fresh attempts; how many.

        ``InfrastructureService.resubmit_publications(listener="learning.add_to_practice")``
        """
        return _components().listeners.resubmit(listener, event_ids)

    @staticmethod
    def replay_dead_letters(module: str, *, max_messages: int | None = None) -> int:
        """With RabbitMQ: move the module's dead-lettered events back to its queue, each record pending again; how many.

        Raises ``MessagingError`` without a broker. ``InfrastructureService.replay_dead_letters("learning")``
        """
        return _components().listeners.replay_dead_letters(module, max_messages)

    @staticmethod
    def run_listeners(*, max_publications: int | None = None, timeout: float | None = None) -> list[DeliveryOutcome]:
        """Run now the due publications of the listeners registered in this process; what each attempt did.

        The worker thread does this by itself (``LISTENER_WORKER=thread``); scripts/run_listeners.py and tests call it.
        ``timeout`` is checked between batches: a run may outlast it by up to 10 s plus one handler's timeout.
        """
        return _components().listeners.run(max_publications, timeout)

    @staticmethod
    def listener_status() -> list[ListenerStatus]:
        """Per listener: pending and failed publications and the age of the oldest pending one (its lag).

        ``for s in InfrastructureService.listener_status(): print(s.listener, s.pending, s.oldest_pending_seconds)``
        """
        return _components().listeners.statuses()

    @staticmethod
    def forget_listener(identity: str) -> bool:
        """Stop recording events for a listener no process registers any more; its open records stay listed. Whether it was known."""
        return _components().listeners.forget(identity)

    @staticmethod
    def get_cache(namespace: str, *, strict: bool = False) -> Cache:
        """The process's shared cache with every key under ``<namespace>:``; pass your module's name.

        Redis when ``REDIS_URL`` is set, else in memory. When Redis fails, reads are misses and writes
        are skipped (counted in ``stats()``, a warning at most every 30 s); with ``strict=True`` they raise
        ``CacheError`` instead. Raises ``InvalidArgumentError`` (a ``ValueError``) for a namespace that is not a
        module-like name, or is the infrastructure's own (``llm``).
        ``InfrastructureService.get_cache("lessons").set_json("lesson:42", lesson, ttl=300)``
        """
        from modules.infrastructure.domain.cache.namespaced import module_cache

        return module_cache(_components().cache, namespace, strict=strict)

    @staticmethod
    def cached(
        namespace: str,
        *,
        ttl: float | None = None,
        key: str | None = None,
        refresh_ahead: float | None = None,
        lock_ttl: float = 10.0,
        lock_wait: float = 10.0,
    ) -> Callable[[Callable[P, R]], CachedFunction[P, R]]:
        """A decorator keeping a function's results in the ``namespace`` cache for ``ttl`` seconds, computed once per key.

        ``key`` is a template of the function's arguments (``"lesson:{lesson_id}"``, ``"user:{user.id}"``); without
        one, plain arguments (text, numbers, dates, UUIDs, tuples of them) make it. Results must be JSON values. The
        function gets ``invalidate(...)`` and ``cache_key(...)``. See ``Cache.get_or_set`` for ``refresh_ahead``,
        ``lock_ttl`` and ``lock_wait``. A bad option, or a template naming an argument the function does not take, is
        an ``InvalidArgumentError`` where the decorator is applied; an unhashable argument, when it is called.
        ``@InfrastructureService.cached("lessons", ttl=300, key="lesson:{lesson_id}")``
        """
        from modules.infrastructure.domain.cache.cached_function import cached_decorator

        return cached_decorator(
            InfrastructureService.get_cache, namespace, ttl=ttl, key=key, refresh_ahead=refresh_ahead,
            lock_ttl=lock_ttl, lock_wait=lock_wait,
        )

    @staticmethod
    def get_file_storage(namespace: str) -> FileStorage:
        """The files of your module's ``namespace``: save, open, read, info, exists, list, delete, download_url, stats.

        On the local disk (``STORAGE_URL``, default ``var/storage``) or in an S3-compatible bucket
        (``STORAGE_URL=s3://bucket/prefix``). Raises ``InvalidFileKeyError`` for a namespace that is not a
        module's name; its methods raise ``StorageError`` subclasses.
        ``stored = InfrastructureService.get_file_storage("lessons").save("plans/42.pdf", upload, session=db)``
        """
        from modules.infrastructure.infrastructure.storage.file_storage import FileStorage

        components = _components()
        return FileStorage(components.storage, namespace, components.config.storage, components.metrics.storage_operation)

    @staticmethod
    def get_http_client(name: str) -> HttpClient:
        """The client of the outside service ``name`` (``INTEGRATION_<NAME>_*``): requests to its base URL only, with its
        credential, retries, deadline, circuit breaker and rate limit; one client per name, shared by every thread.

        Raises ``ConfigurationError`` naming the variable when ``name`` is not configured, ``InvalidArgumentError`` for a
        name that cannot be; its methods raise ``IntegrationError`` subclasses.
        ``InfrastructureService.get_http_client("crm").post("/contacts", json=contact, idempotency_key=str(event_id))``
        """
        return _components().http_clients.get(name)

    @staticmethod
    def has_integration(name: str) -> bool:
        """Whether the outside service ``name`` is configured (``INTEGRATION_<NAME>_BASE_URL`` set): an optional
        integration is skipped without it. ``if InfrastructureService.has_integration("webhook"): ...``"""
        return _components().http_clients.has(name)

    @staticmethod
    def get_file_download_app() -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
        """The WSGI application serving the local disk's download URLs: mount it at ``STORAGE_URL_BASE``.

        It checks each link's signature and expiry and streams the file as an attachment. Raises
        ``StorageError`` when files are not on the local disk (S3's presigned URLs are served by the bucket).
        ``DispatcherMiddleware(app, {"/files": InfrastructureService.get_file_download_app()})``
        """
        from modules.infrastructure.infrastructure.storage.local_disk import LocalDiskBackend
        from modules.infrastructure.infrastructure.storage.storage_wsgi import storage_wsgi_app

        backend = _components().storage
        if not isinstance(backend, LocalDiskBackend):
            raise StorageError(
                f"Download URLs need no application here: files are {backend.describe()}; "
                "only the local disk's signed URLs are served by get_file_download_app()"
            )
        return storage_wsgi_app(backend)

    @staticmethod
    def consume(
        queue: str, handler: Callable[[Envelope], Any], *, prefetch: int = 10, max_attempts: int = 5
    ) -> Consumer:
        """A consumer of ``queue``: ``handler(envelope)`` per message, acked when it returns.

        A raising handler gets the message again, up to ``max_attempts``; then it goes to
        ``<queue>.dead``, as does a message that is not a valid event, at once. At least once:
        deduplicate on ``envelope.id``. Raises ``MessagingError`` without ``RABBITMQ_URL`` or for an
        argument it cannot use. ``InfrastructureService.consume("lessons", handle).run()``
        """
        return _components().consumers.consume(queue, handler, prefetch=prefetch, max_attempts=max_attempts)

    @staticmethod
    def get_llm_client(provider: str | None = None) -> LLMClient:
        """A client for the configured LLM provider (with its fallbacks), or for the named one only.

        Raises ``LLMBadRequestError`` for a provider that is not configured; calls raise ``LLMProviderError``
        subclasses. ``InfrastructureService.get_llm_client().generate_completion("Name three colors.")``
        """
        return _components().llm.client(provider)

    @staticmethod
    def execute_prompt(prompt: Prompt, context: PromptContext | None = None) -> LLMResponse:
        """Render ``prompt`` with ``context.variables`` and run it: cache, rate limits, retries, fallbacks, usage.

        Raises ``LLMBadRequestError`` (missing variable, too long: before any request), ``LLMRateLimitError``,
        ``LLMTimeoutError``, ``LLMAuthenticationError`` or ``LLMProviderError``.
        ``InfrastructureService.execute_prompt(Prompt("Summarise: {text}"), PromptContext({"text": t}))``
        """
        return _components().llm.execute(prompt, context)

    @staticmethod
    def execute_prompt_json(prompt: Prompt, context: PromptContext | None = None) -> Any:
        """``execute_prompt`` in JSON mode, returning the parsed answer; raises ``LLMResponseFormatError`` when invalid.

        ``data = InfrastructureService.execute_prompt_json(Prompt("List three colors as JSON: {{\"colors\": [...]}}"))``
        """
        return _components().llm.execute_json(prompt, context)

    @staticmethod
    def stream_prompt(prompt: Prompt, context: PromptContext | None = None) -> Iterator[str]:
        """Text chunks of the answer as they arrive (never cached); usage is recorded when the stream ends.

        Raises the ``LLMProviderError`` subclasses of ``execute_prompt``.
        ``for text in InfrastructureService.stream_prompt(Prompt("Tell a story")): print(text, end="")``
        """
        return _components().llm.stream(prompt, context)

    @staticmethod
    def chat(
        messages: Sequence[Message],
        prompt: Prompt | None = None,
        context: PromptContext | None = None,
        *,
        tools: Sequence[Tool | Callable[..., Any]] = (),
        tool_choice: str | None = None,
    ) -> LLMResponse:
        """The next assistant message of a conversation, with the policies of ``execute_prompt``.

        ``prompt`` (optional) adds its system text first and its rendered template as the new user message, and
        gives the parameters; ``tools`` are ``Tool`` declarations or plain functions (their signature is the
        schema). ``response.tool_calls`` hold the calls, checked against the schemas. Raises
        ``LLMBadRequestError`` (history, tools, size: before any request), ``LLMToolCallError`` when a call
        cannot run (send ``exc.response.feedback()`` back), and the errors of ``execute_prompt``.
        ``reply = InfrastructureService.chat([Message.user("Hi"), Message.assistant("Hello!"), Message.user("How are you?")])``
        """
        return _components().llm.chat(messages, prompt, context, tools, tool_choice)

    @staticmethod
    def stream_chat(
        messages: Sequence[Message],
        prompt: Prompt | None = None,
        context: PromptContext | None = None,
        *,
        tools: Sequence[Tool | Callable[..., Any]] = (),
        tool_choice: str | None = None,
    ) -> ChatStream:
        """``chat`` as it is written: iterate for the text, then ``stream.response`` holds the tool calls and usage.

        Raises as ``chat`` (``LLMToolCallError`` at the end of the iteration).
        ``stream = InfrastructureService.stream_chat(history); text = stream.text(); calls = stream.response.tool_calls``
        """
        return _components().llm.stream_chat(messages, prompt, context, tools, tool_choice)

    @staticmethod
    def run_tools(
        messages: Sequence[Message],
        tools: Sequence[Tool | Callable[..., Any]],
        prompt: Prompt | None = None,
        context: PromptContext | None = None,
        *,
        tool_choice: str | None = None,
        max_steps: int = 8,
    ) -> ToolLoopResult:
        """Call the model, run the functions it names with the arguments it gives (checked against their schemas),
        send the results back, until it answers; every step is a recorded call. Arguments that break a schema are
        sent back to the model as an error for it to correct.

        Raises ``LLMToolLoopError`` after ``max_steps`` model calls (``exc.messages`` to continue), ``LLMToolError``
        when a function raises, and the errors of ``chat``.
        ``result = InfrastructureService.run_tools([Message.user("What is 2 + 3?")], [add]); result.response.content``
        """
        return _components().llm.run_tools(messages, tools, prompt, context, tool_choice, max_steps)

    @staticmethod
    def embed(texts: list[str] | tuple[str, ...], *, module: str, provider: str | None = None) -> EmbeddingResult:
        """One vector per text, in order, from the configured provider's embedding model (or ``provider``'s).

        Batched to the provider's limits, each text cached by content and model, retried, rate-limited and
        recorded for ``module`` like ``execute_prompt``; never falls back to another provider (vectors of
        different models are not comparable). Raises ``LLMBadRequestError`` for bad input (a bare string, an
        empty list, an empty or over-long text: before any request) or a provider without embeddings, else
        the ``LLMProviderError`` subclasses of ``execute_prompt``.
        ``InfrastructureService.embed(["a cat", "a kitten"], module="search").vectors``
        """
        llm = _components().llm
        return LLMEmbeddings(llm.providers, llm.cache, llm.ledger, llm.tracer).embed(texts, module=module, provider=provider)

    @staticmethod
    def moderate(text: str, *, module: str, provider: str | None = None) -> ModerationResult:
        """The moderation endpoint's classification of ``text`` (flagged, categories, scores), recorded for ``module``.

        Retried and rate-limited like ``execute_prompt``, never cached. Raises ``LLMBadRequestError`` for text that
        is not text, empty or over-long, or on a provider without moderation (Azure, local: configure OpenAI).
        ``if InfrastructureService.moderate(comment, module="forum").flagged: ...``
        """
        llm = _components().llm
        return LLMModeration(llm.providers, llm.ledger).moderate(text, module=module, provider=provider)

    @staticmethod
    def get_llm_usage(since: datetime | None = None, module: str | None = None) -> LLMUsageSummary:
        """Calls, tokens and cost recorded in this process since ``since``, for ``module`` when given.

        ``InfrastructureService.get_llm_usage(module="lessons").cost_usd``
        """
        return _components().llm.usage(since, module)

    @staticmethod
    def get_metrics(module: str) -> ModuleMetrics:
        """Counters, gauges and histograms of your ``module`` in the same scrape as the infrastructure's, each value
        labelled ``module=<module>``. A label value like an id or a secret is recorded as ``redacted``, one that is not
        name-like as ``invalid``. Raises ``InvalidArgumentError`` for a bad module, metric or label name, or a clash.
        ``InfrastructureService.get_metrics("billing").counter("invoices_sent", "Invoices sent", labels=("channel",)).inc(channel="email")``
        """
        from modules.infrastructure.infrastructure.metrics.module_metrics import ModuleMetrics

        return ModuleMetrics(module, lambda: _components().metrics.siblings)

    @staticmethod
    @contextmanager
    def trace(name: str, *, kind: str = "internal", attributes: Mapping[str, Any] | None = None) -> Iterator[TraceSpan]:
        """A span of your own around a block: the module's spans inside it (queries, LLM calls, events) are its children,
        and an event published inside carries its trace to the listener. An exception leaving the block marks it failed.
        ``kind`` is internal, server (a request), client, producer or consumer. Raises ``InvalidArgumentError`` for a bad
        name, kind or attribute. ``with InfrastructureService.trace("POST /lessons", kind="server") as span: ...``
        """
        checked = (span_name(name), span_kind(kind), checked_attributes(attributes))
        with _components().tracing.span(*checked) as span:
            yield TraceSpan(span)

    @staticmethod
    def current_trace() -> TraceContext | None:
        """The W3C context (``traceparent``, ``trace_id``) of the span running now, if one is recorded: for a log line,
        an error page or a call of your own. ``trace = InfrastructureService.current_trace()``"""
        return _components().tracing.current()

    @staticmethod
    def metrics_text() -> str:
        """This process's metrics in the Prometheus text format: pools, sessions, LLM calls, outbox, cache; with
        ``PROMETHEUS_MULTIPROC_DIR`` every worker process's, merged (README, "Several worker processes").

        Never raises for a component that is down (its figures are left out); labels carry no secret,
        URL, prompt or id. ``body = InfrastructureService.metrics_text()`` (serve it with scripts/metrics_server.py)
        """
        return _components().exposition.text()

    @staticmethod
    def mark_metrics_process_dead(pid: int) -> None:
        """Drop an ended worker's live gauges from the scrape when ``PROMETHEUS_MULTIPROC_DIR`` is set (its counters and
        histograms stay in the sums); nothing without it. Call it from gunicorn's ``child_exit(server, worker)`` hook
        with ``worker.pid``. ``InvalidArgumentError`` for a bad ``pid``; ``ConfigurationError`` for an unusable folder.
        """
        from modules.infrastructure.infrastructure.metrics.multiprocess import mark_process_dead

        mark_process_dead(pid)

    @staticmethod
    @contextmanager
    def override(**components: Any) -> Iterator[None]:
        """Use these components inside a ``with`` block (tests); what depends on them is built anew for the block.

        Names are ``bootstrap()``'s: ``config``, ``cache``, ``publisher``, ``llm``, ``llm_providers``,
        ``health_checks``, ... Raises ``ValueError`` for an unknown name. What the block built is closed at its end.
        ``with InfrastructureService.override(publisher=RecordingPublisher()): ...``
        """
        with runtime.override(**components):
            yield

    @staticmethod
    def reset() -> None:
        """Close every component, drop overrides and reread the configuration on next use."""
        runtime.reset()

    @staticmethod
    def shutdown() -> None:
        """Close every pool, connection, consumer, thread and server the module opened; runs at exit too.

        Components are built again on next use, with the same configuration.
        """
        runtime.shutdown()
