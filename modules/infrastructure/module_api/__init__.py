"""The public surface of the infrastructure module: the facade, its types and its errors.

Sibling modules import from here and nowhere else in ``modules.infrastructure``.
"""

from modules.infrastructure.module_api.errors import (
    CacheError,
    ConfigurationError,
    DatabaseError,
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
    Prompt,
    PromptContext,
    Secret,
    UsageStats,
)
from modules.infrastructure.module_api.infrastructure_service import InfrastructureService

__all__ = [
    "APIConfig",
    "AppConfig",
    "CacheConfig",
    "CacheError",
    "CheckStatus",
    "ComponentCheck",
    "ConfigurationError",
    "DatabaseConfig",
    "DatabaseError",
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
    "Prompt",
    "PromptContext",
    "Secret",
    "UsageStats",
]
