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
    LLMTimeoutError,
    MessagingError,
)
from modules.infrastructure.module_api.types import (
    APIConfig,
    AppConfig,
    CacheConfig,
    CheckStatus,
    ComponentCheck,
    DatabaseConfig,
    DatabaseSession,
    EnvironmentStatus,
    LLMClient,
    LLMConfig,
    LLMResponse,
    LoggingConfig,
    MessagingConfig,
    MigrationStatus,
    PoolStats,
    Prompt,
    PromptContext,
    Secret,
    UsageStats,
)
from modules.infrastructure.module_api.infrastructure_service import InfrastructureService

__all__ = [
    "APIConfig",
    "AppConfig",
    "Base",
    "BaseRepository",
    "CacheConfig",
    "CacheError",
    "CheckStatus",
    "ComponentCheck",
    "ConfigurationError",
    "DatabaseConfig",
    "DatabaseConflictError",
    "DatabaseConnectionError",
    "DatabaseError",
    "DatabaseIntegrityError",
    "DatabasePoolExhaustedError",
    "DatabaseQueryError",
    "DatabaseSession",
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
    "LLMTimeoutError",
    "LoggingConfig",
    "MessagingConfig",
    "MessagingError",
    "MigrationStatus",
    "PoolStats",
    "Prompt",
    "PromptContext",
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
