"""The public surface of the infrastructure module: the facade, its types and its errors.

Sibling modules import from here and nowhere else in ``modules.infrastructure``.
"""

from modules.infrastructure.module_api.errors import (
    CacheError,
    ConfigurationError,
    DatabaseConflictError,
    DatabaseConnectionError,
    DatabaseError,
    DatabaseIntegrityError,
    DatabasePoolExhaustedError,
    DatabaseQueryError,
    InfrastructureError,
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMProviderError,
    LLMRateLimitError,
    LLMResponseFormatError,
    LLMTimeoutError,
    MessagingError,
)
from modules.infrastructure.module_api.types import (
    APIConfig,
    AppConfig,
    CacheConfig,
    CacheStats,
    CheckStatus,
    ComponentCheck,
    Consumer,
    DatabaseConfig,
    DatabaseSession,
    Envelope,
    EnvironmentStatus,
    LLMClient,
    LLMConfig,
    LLMResponse,
    LLMUsageSummary,
    LoggingConfig,
    MessagingConfig,
    MigrationStatus,
    PoolStats,
    Prompt,
    PromptContext,
    RelayResult,
    Secret,
    UsageStats,
)
from modules.infrastructure.domain.ports import Cache
from modules.infrastructure.module_api.infrastructure_service import InfrastructureService

__all__ = [
    "APIConfig",
    "AppConfig",
    "Base",
    "BaseRepository",
    "Cache",
    "CacheConfig",
    "CacheError",
    "CacheStats",
    "CheckStatus",
    "ComponentCheck",
    "ConfigurationError",
    "Consumer",
    "DatabaseConfig",
    "DatabaseConflictError",
    "DatabaseConnectionError",
    "DatabaseError",
    "DatabaseIntegrityError",
    "DatabasePoolExhaustedError",
    "DatabaseQueryError",
    "DatabaseSession",
    "Envelope",
    "EnvironmentStatus",
    "InfrastructureError",
    "InfrastructureService",
    "LLMAuthenticationError",
    "LLMBadRequestError",
    "LLMClient",
    "LLMConfig",
    "LLMProviderError",
    "LLMRateLimitError",
    "LLMResponse",
    "LLMResponseFormatError",
    "LLMTimeoutError",
    "LLMUsageSummary",
    "LoggingConfig",
    "MessagingConfig",
    "MessagingError",
    "MigrationStatus",
    "PoolStats",
    "Prompt",
    "PromptContext",
    "RelayResult",
    "Secret",
    "UsageStats",
]


def __getattr__(name: str) -> object:
    """``Base`` and ``BaseRepository`` load SQLAlchemy, so they are imported on first access only."""
    if name == "Base":
        from modules.infrastructure.infrastructure.database.orm import Base

        return Base
    if name == "BaseRepository":
        from modules.infrastructure.infrastructure.database.repository import BaseRepository

        return BaseRepository
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
