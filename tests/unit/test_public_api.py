"""The public surface is what ``module_api`` holds: ``__all__`` is checked against the module itself,
so adding a public name is one edit in ``module_api/__init__.py``."""

from __future__ import annotations

import inspect

import modules.infrastructure.module_api as api
from modules.infrastructure.domain import errors
from modules.infrastructure.module_api import testing


def held_names(module: object) -> set[str]:
    """The public names a module binds (imports included), modules aside, plus its lazily loaded ones."""
    names = {name for name, value in vars(module).items() if not name.startswith("_") and not inspect.ismodule(value)}
    return names | set(getattr(module, "_LAZY", {}))


def test_all_is_exactly_what_module_api_holds_and_sorted() -> None:
    assert api.__all__ == sorted(held_names(api))


def test_every_public_name_resolves_and_none_is_defined_in_module_api_itself() -> None:
    for name in api.__all__:
        value = getattr(api, name)
        assert value is not None, name
        home = getattr(value, "__module__", "")
        if name != "InfrastructureService":
            assert not home.startswith("modules.infrastructure.module_api"), f"{name} should live below module_api, not in {home}"


def test_every_error_of_the_tree_is_public_and_drawn_in_its_docstring() -> None:
    for name in errors.__all__:
        assert name in api.__all__, f"{name} is not exported by module_api"
        assert name in (errors.__doc__ or ""), f"{name} missing from the errors module docstring"
        assert issubclass(getattr(errors, name), errors.InfrastructureError)
    public_errors = {name for name in api.__all__ if isinstance(getattr(api, name), type) and issubclass(getattr(api, name), Exception)}
    assert public_errors == set(errors.__all__)


def test_the_shipped_fakes_are_declared_sorted_and_resolve() -> None:
    assert testing.__all__ == sorted(testing.__all__)
    for name in testing.__all__:
        assert getattr(testing, name) is not None, name


def test_error_tree_matches_the_design() -> None:
    assert issubclass(api.ConfigurationError, api.InfrastructureError)
    for cls in (api.DatabaseError, api.CacheError, api.MessagingError, api.LLMProviderError):
        assert issubclass(cls, api.InfrastructureError)
    assert issubclass(api.MessagingAuthenticationError, api.MessagingError)
    for cls in (
        api.DatabaseConnectionError,
        api.DatabasePoolExhaustedError,
        api.DatabaseConflictError,
        api.DatabaseIntegrityError,
        api.DatabaseQueryError,
        api.DatabaseStatementTimeoutError,
        api.DatabaseReadOnlyError,
    ):
        assert issubclass(cls, api.DatabaseError)
    assert issubclass(api.CacheConnectionError, api.CacheError)
    for cls in (api.LLMRateLimitError, api.LLMTimeoutError, api.LLMAuthenticationError, api.LLMBadRequestError):
        assert issubclass(cls, api.LLMProviderError)


def test_configuration_error_lists_every_problem() -> None:
    error = api.ConfigurationError("Bad configuration:", ["A is wrong", "B is wrong"])
    assert error.problems == ("A is wrong", "B is wrong")
    assert "A is wrong" in str(error) and "B is wrong" in str(error)


def test_rate_limit_error_carries_retry_after() -> None:
    error = api.LLMRateLimitError("slow down", provider="openai", status_code=429, retry_after=2.5)
    assert (error.retry_after, error.provider, error.status_code) == (2.5, "openai", 429)


def test_every_llm_error_takes_retry_after_in_its_constructor() -> None:
    for cls in (api.LLMProviderError, api.LLMTimeoutError, api.LLMAuthenticationError, api.LLMBadRequestError):
        assert cls("busy", provider="openai", status_code=503, retry_after=1.5).retry_after == 1.5
        assert cls("busy").retry_after is None
