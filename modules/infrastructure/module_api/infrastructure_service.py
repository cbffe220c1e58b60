"""``InfrastructureService``: the one static facade sibling modules call for technical services."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from modules.infrastructure.module_api.types import (
    AppConfig,
    DatabaseSession,
    EnvironmentStatus,
    LLMClient,
    LLMResponse,
    MigrationStatus,
    PoolStats,
    Prompt,
    PromptContext,
)

if TYPE_CHECKING:
    from modules.infrastructure.infrastructure.container import Container
    from modules.infrastructure.infrastructure.database.connection_manager import ConnectionManager

R = TypeVar("R")


def _container() -> Container:
    # Imported on first call so that importing module_api loads no driver or client library.
    from modules.infrastructure.infrastructure.container import get_container

    return get_container()


def _database_call(action: Callable[[ConnectionManager], R]) -> R:
    """Run ``action`` with the connection manager, mapping driver errors to ``DatabaseError``."""
    manager = _container().database_manager
    try:
        return action(manager)
    except Exception as exc:
        mapped = manager.error_mapper()(exc)
        if mapped is exc:
            raise
        raise mapped from exc


def _not_built(capability: str) -> NotImplementedError:
    return NotImplementedError(f"{capability} is not built in this version of the infrastructure module")


class InfrastructureService:
    """Database, LLM, configuration, cache and messaging for sibling modules, in one place.

    Every method is static and thread-safe; components are built on first use.
    """

    @staticmethod
    def get_config() -> AppConfig:
        """The validated configuration, read once per process.

        Raises ``ConfigurationError`` listing every problem. ``InfrastructureService.get_config().environment``
        """
        return _container().config

    @staticmethod
    def is_feature_enabled(name: str, default: bool = False) -> bool:
        """Whether ``FEATURE_FLAG_<NAME>`` is on; ``default`` when the flag is not set.

        ``if InfrastructureService.is_feature_enabled("new_ui"): ...``
        """
        return _container().config.feature_flags.get(name.lower(), default)

    @staticmethod
    def validate_environment(timeout: float = 5.0) -> EnvironmentStatus:
        """Check the configuration and every component, each within ``timeout`` seconds; never raises.

        ``status = InfrastructureService.validate_environment(); status.is_valid``
        """
        from modules.infrastructure.infrastructure.health.report import build_report

        container = _container()
        return build_report(
            lambda: container.config,
            lambda: container.health_checks,
            timeout,
            lambda text: container.redactor.redact(text),
        )

    @staticmethod
    def get_database_session(read_only: bool = False) -> DatabaseSession:
        """A pooled session: on a replica when ``read_only`` (falling back to the primary), else the primary.

        Raises ``DatabaseConnectionError`` when unreachable, ``DatabasePoolExhaustedError`` when no
        connection frees up in time. ``with InfrastructureService.get_database_session() as db: db.add(x)``
        """
        return _container().database.get_session(read_only)

    @staticmethod
    def run_in_transaction(fn: Callable[[DatabaseSession], R], *, retries: int = 3) -> R:
        """Run ``fn(session)`` in one committed transaction, retried after a conflict or deadlock.

        Raises the ``DatabaseError`` subclass of the last failure.
        ``InfrastructureService.run_in_transaction(lambda db: transfer(db, a, b, 10))``
        """
        from modules.infrastructure.infrastructure.database.transactions import run_in_transaction

        database = _container().database
        return run_in_transaction(database.get_session, fn, retries)

    @staticmethod
    def get_database_stats() -> list[PoolStats]:
        """Pool figures (size, checked in, checked out, overflow) for every engine built so far.

        ``for pool in InfrastructureService.get_database_stats(): print(pool.label, pool.checked_out)``
        """
        return _container().database_manager.stats()

    @staticmethod
    def migrate(target: str = "heads") -> MigrationStatus:
        """Upgrade the primary database to ``target`` with Alembic; raises ``DatabaseError`` subclasses.

        ``InfrastructureService.migrate()``
        """
        from modules.infrastructure.infrastructure.database.migrations import MigrationRunner

        return _database_call(lambda manager: MigrationRunner(manager.create_connection_pool()).upgrade(target))

    @staticmethod
    def migration_status() -> MigrationStatus:
        """Current revisions, heads and the number of pending migrations of the primary database.

        ``if not InfrastructureService.migration_status().at_head: ...``
        """
        from modules.infrastructure.infrastructure.database.migrations import MigrationRunner

        return _database_call(lambda manager: MigrationRunner(manager.create_connection_pool()).status())

    @staticmethod
    def get_llm_client(provider: str | None = None) -> LLMClient:
        """A client for the configured (or named) LLM provider; raises ``LLMProviderError``.

        ``InfrastructureService.get_llm_client().generate_completion("Name three colors.")``
        """
        raise _not_built("LLM access (get_llm_client)")

    @staticmethod
    def execute_prompt(prompt: Prompt, context: PromptContext | None = None) -> LLMResponse:
        """Render ``prompt`` with ``context.variables`` and run it; raises ``LLMProviderError`` subclasses.

        ``InfrastructureService.execute_prompt(Prompt("Summarise: {text}"), PromptContext({"text": t}))``
        """
        raise _not_built("Prompt execution (execute_prompt)")

    @staticmethod
    @contextmanager
    def override(**components: Any) -> Iterator[None]:
        """Swap components (``config``, ``health_checks``, ...) inside a ``with`` block, for tests.

        ``with InfrastructureService.override(config=test_config): ...``
        """
        with _container().override(**components):
            yield

    @staticmethod
    def reset() -> None:
        """Close every component, drop overrides and reread the configuration on next use."""
        _container().reset()

    @staticmethod
    def shutdown() -> None:
        """Close every pool, connection and server the module opened; runs at exit too."""
        _container().shutdown()
