"""The public surface is declared once, sorted, and pinned here: changing it must be deliberate."""

from __future__ import annotations

import modules.infrastructure.module_api as api
from modules.infrastructure.module_api import errors, testing

PUBLIC = [
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


TESTING = ["FakeInfrastructure", "FakeLLM", "MemoryCache", "RecordedPrompt", "RecordingPublisher", "fake_infrastructure"]


def test_the_shipped_fakes_are_pinned_and_sorted() -> None:
    assert testing.__all__ == TESTING
    assert testing.__all__ == sorted(testing.__all__)
    for name in testing.__all__:
        assert getattr(testing, name) is not None, name


def test_all_is_pinned_and_sorted() -> None:
    assert api.__all__ == PUBLIC
    assert api.__all__ == sorted(api.__all__)


def test_every_public_name_resolves() -> None:
    for name in api.__all__:
        assert getattr(api, name) is not None, name


def test_error_tree_matches_the_design() -> None:
    assert issubclass(api.ConfigurationError, api.InfrastructureError)
    for cls in (api.DatabaseError, api.CacheError, api.MessagingError, api.LLMProviderError):
        assert issubclass(cls, api.InfrastructureError)
    for cls in (
        api.DatabaseConnectionError,
        api.DatabasePoolExhaustedError,
        api.DatabaseConflictError,
        api.DatabaseIntegrityError,
        api.DatabaseQueryError,
    ):
        assert issubclass(cls, api.DatabaseError)
    for cls in (api.LLMRateLimitError, api.LLMTimeoutError, api.LLMAuthenticationError, api.LLMBadRequestError):
        assert issubclass(cls, api.LLMProviderError)


def test_error_tree_is_drawn_in_the_docstring() -> None:
    for name in errors.__all__:
        assert name in (errors.__doc__ or ""), f"{name} missing from the errors module docstring"


def test_configuration_error_lists_every_problem() -> None:
    error = api.ConfigurationError("Bad configuration:", ["A is wrong", "B is wrong"])
    assert error.problems == ("A is wrong", "B is wrong")
    assert "A is wrong" in str(error) and "B is wrong" in str(error)


def test_rate_limit_error_carries_retry_after() -> None:
    error = api.LLMRateLimitError("slow down", provider="openai", status_code=429, retry_after=2.5)
    assert (error.retry_after, error.provider, error.status_code) == (2.5, "openai", 429)
