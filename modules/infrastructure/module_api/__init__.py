"""The public surface of the infrastructure module: the facade, its types and its errors.

Sibling modules import from here and nothing else of ``modules.infrastructure``. The types and
errors live in the domain layer; this package re-exports them. ``Base`` and ``BaseRepository`` load
SQLAlchemy, ``HttpClient`` httpx2 and ``ModuleMetrics`` prometheus_client, so they are imported on first
access (type checkers see them directly).
"""

import typing

from modules.infrastructure.domain.cache.cached_function import CachedFunction
from modules.infrastructure.domain.cache.ports import Cache, CacheStats
from modules.infrastructure.domain.config.reload import ConfigReload
from modules.infrastructure.domain.config.module_settings import ModuleSetting, ModuleSettings, SettingValues, setting
from modules.infrastructure.domain.config.values import (
    APIConfig,
    AppConfig,
    CacheConfig,
    DatabaseConfig,
    IntegrationConfig,
    LLMConfig,
    LoggingConfig,
    MessagingConfig,
)
from modules.infrastructure.domain.database.bulk import BulkResult
from modules.infrastructure.domain.database.pages import CursorPage, Page
from modules.infrastructure.domain.database.values import MigrationStatus, PoolStats
from modules.infrastructure.domain.errors import (
    CacheConnectionError,
    CacheError,
    ConfigurationError,
    ContentTypeNotAllowedError,
    DatabaseCommitUnknownError,
    DatabaseConflictError,
    DatabaseConnectionError,
    DatabaseError,
    DatabaseIntegrityError,
    DatabasePoolExhaustedError,
    DatabaseQueryError,
    DatabaseReadOnlyError,
    DatabaseStatementTimeoutError,
    FileTooLargeError,
    InfrastructureError,
    IntegrationAuthenticationError,
    IntegrationCircuitOpenError,
    IntegrationClientError,
    IntegrationConnectionError,
    IntegrationError,
    IntegrationRateLimitedError,
    IntegrationResponseError,
    IntegrationServerError,
    IntegrationTimeoutError,
    InvalidArgumentError,
    InvalidCursorError,
    InvalidDownloadTokenError,
    InvalidFileKeyError,
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMMalformedResponseError,
    LLMProviderError,
    LLMRateLimitError,
    LLMResponseFormatError,
    LLMTimeoutError,
    LLMToolCallError,
    LLMToolError,
    LLMToolLoopError,
    MessagingAuthenticationError,
    MessagingError,
    NotFoundError,
    StorageError,
    StorageUnavailableError,
    StoredFileNotFoundError,
)
from modules.infrastructure.domain.health.values import CheckStatus, ComponentCheck, EnvironmentStatus, Readiness
from modules.infrastructure.domain.integrations.values import HttpResponse
from modules.infrastructure.domain.llm.chat_stream import ChatStream
from modules.infrastructure.domain.llm.conversation import Message, ToolCall
from modules.infrastructure.domain.llm.tool_loop import ToolLoopResult
from modules.infrastructure.domain.llm.tool_functions import tool_from_function
from modules.infrastructure.domain.llm.tools import Tool
from modules.infrastructure.domain.llm.embedding_values import EmbeddingResult, ModerationResult
from modules.infrastructure.domain.llm.values import LLMClient, LLMResponse, LLMUsageSummary, Prompt, PromptContext, UsageStats
from modules.infrastructure.domain.messaging.ports import Consumer
from modules.infrastructure.domain.messaging.listeners import ListenerRetry
from modules.infrastructure.domain.messaging.publications import DeliveryOutcome, ListenerStatus, Publication
from modules.infrastructure.domain.messaging.values import Envelope, RelayResult
from modules.infrastructure.domain.secrets import Secret
from modules.infrastructure.domain.storage.values import FilePage, StorageStats, StoredFile
from modules.infrastructure.domain.tracing.sibling_spans import TraceSpan
from modules.infrastructure.domain.tracing.trace_context import TraceContext
from modules.infrastructure.infrastructure.database.session import DatabaseSession
from modules.infrastructure.infrastructure.storage.file_storage import FileStorage
from modules.infrastructure.module_api import setting_types
from modules.infrastructure.module_api.infrastructure_service import InfrastructureService

if typing.TYPE_CHECKING:
    from modules.infrastructure.infrastructure.database.model_mixins import (
        IntegerPrimaryKeyMixin,
        SoftDeleteMixin,
        TimestampMixin,
        UTCDateTime,
        UUIDPrimaryKeyMixin,
        VersionedMixin,
    )
    from modules.infrastructure.infrastructure.database.orm import Base
    from modules.infrastructure.infrastructure.database.repository import BaseRepository
    from modules.infrastructure.infrastructure.integrations.http_client import HttpClient
    from modules.infrastructure.infrastructure.metrics.module_metrics import ModuleMetrics

__all__ = [
    "APIConfig",
    "AppConfig",
    "Base",
    "BaseRepository",
    "BulkResult",
    "Cache",
    "CacheConfig",
    "CacheConnectionError",
    "CacheError",
    "CacheStats",
    "CachedFunction",
    "ChatStream",
    "CheckStatus",
    "ComponentCheck",
    "ConfigReload",
    "ConfigurationError",
    "Consumer",
    "ContentTypeNotAllowedError",
    "CursorPage",
    "DatabaseCommitUnknownError",
    "DatabaseConfig",
    "DatabaseConflictError",
    "DatabaseConnectionError",
    "DatabaseError",
    "DatabaseIntegrityError",
    "DatabasePoolExhaustedError",
    "DatabaseQueryError",
    "DatabaseReadOnlyError",
    "DatabaseSession",
    "DatabaseStatementTimeoutError",
    "DeliveryOutcome",
    "EmbeddingResult",
    "Envelope",
    "EnvironmentStatus",
    "FilePage",
    "FileStorage",
    "FileTooLargeError",
    "HttpClient",
    "HttpResponse",
    "InfrastructureError",
    "InfrastructureService",
    "IntegerPrimaryKeyMixin",
    "IntegrationAuthenticationError",
    "IntegrationCircuitOpenError",
    "IntegrationClientError",
    "IntegrationConfig",
    "IntegrationConnectionError",
    "IntegrationError",
    "IntegrationRateLimitedError",
    "IntegrationResponseError",
    "IntegrationServerError",
    "IntegrationTimeoutError",
    "InvalidArgumentError",
    "InvalidCursorError",
    "InvalidDownloadTokenError",
    "InvalidFileKeyError",
    "LLMAuthenticationError",
    "LLMBadRequestError",
    "LLMClient",
    "LLMConfig",
    "LLMMalformedResponseError",
    "LLMProviderError",
    "LLMRateLimitError",
    "LLMResponse",
    "LLMResponseFormatError",
    "LLMTimeoutError",
    "LLMToolCallError",
    "LLMToolError",
    "LLMToolLoopError",
    "LLMUsageSummary",
    "ListenerRetry",
    "ListenerStatus",
    "LoggingConfig",
    "Message",
    "MessagingAuthenticationError",
    "MessagingConfig",
    "MessagingError",
    "MigrationStatus",
    "ModerationResult",
    "ModuleMetrics",
    "ModuleSetting",
    "ModuleSettings",
    "NotFoundError",
    "Page",
    "PoolStats",
    "Prompt",
    "PromptContext",
    "Publication",
    "Readiness",
    "RelayResult",
    "Secret",
    "SettingValues",
    "SoftDeleteMixin",
    "StorageError",
    "StorageStats",
    "StorageUnavailableError",
    "StoredFile",
    "StoredFileNotFoundError",
    "TimestampMixin",
    "Tool",
    "ToolCall",
    "ToolLoopResult",
    "TraceContext",
    "TraceSpan",
    "UTCDateTime",
    "UUIDPrimaryKeyMixin",
    "UsageStats",
    "VersionedMixin",
    "setting",
    "tool_from_function",
]

_LAZY = {
    "Base": "modules.infrastructure.infrastructure.database.orm",
    "BaseRepository": "modules.infrastructure.infrastructure.database.repository",
    "IntegerPrimaryKeyMixin": "modules.infrastructure.infrastructure.database.model_mixins",
    "SoftDeleteMixin": "modules.infrastructure.infrastructure.database.model_mixins",
    "TimestampMixin": "modules.infrastructure.infrastructure.database.model_mixins",
    "UTCDateTime": "modules.infrastructure.infrastructure.database.model_mixins",
    "UUIDPrimaryKeyMixin": "modules.infrastructure.infrastructure.database.model_mixins",
    "VersionedMixin": "modules.infrastructure.infrastructure.database.model_mixins",
    "HttpClient": "modules.infrastructure.infrastructure.integrations.http_client",
    "ModuleMetrics": "modules.infrastructure.infrastructure.metrics.module_metrics",
}


def __getattr__(name: str) -> object:
    """Types that load a library (SQLAlchemy, httpx2, prometheus_client) are imported on first access only."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
