"""Every number in the settings table has an upper bound, stated in its description and its errors.

A value past the bound is a ``ConfigurationError`` naming the variable, the problem and the range;
the bound itself is accepted (``tests/integration/test_settings_at_their_bounds.py`` builds each
component with it). Only ASCII digits make a number: ``1_0`` and ``١٢`` are refused.
"""

from __future__ import annotations

import pytest

from modules.infrastructure.domain.config.configuration import Configuration
from modules.infrastructure.domain.config.parsers import WholeNumber, show_number
from modules.infrastructure.domain.config.settings import SETTINGS_BY_NAME, Setting
from modules.infrastructure.domain.errors import ConfigurationError
from tests.setting_bounds import FIELD, NUMERIC, alone, at_bound, bound, past_bound

IDS = [s.name for s in NUMERIC]


def problem_for(name: str, raw: str) -> str:
    with pytest.raises(ConfigurationError) as caught:
        Configuration(alone(SETTINGS_BY_NAME[name], raw)).load_from_environment()
    [problem] = caught.value.problems
    assert problem in str(caught.value)
    return problem


def test_every_numeric_setting_says_where_its_value_goes() -> None:
    assert {s.name for s in NUMERIC} == set(FIELD)


@pytest.mark.parametrize("setting", NUMERIC, ids=IDS)
def test_every_numeric_setting_has_an_upper_bound_stated_in_its_description(setting: Setting) -> None:
    assert setting.description.endswith(setting.parse.limits)  # type: ignore[attr-defined]
    assert show_number(bound(setting)) in setting.description


@pytest.mark.parametrize("setting", NUMERIC, ids=IDS)
def test_the_bound_itself_is_accepted(setting: Setting) -> None:
    config = Configuration(alone(setting, at_bound(setting))).load_from_environment()
    assert FIELD[setting.name](config) == bound(setting)


@pytest.mark.parametrize("setting", NUMERIC, ids=IDS)
def test_just_past_the_bound_is_an_error_naming_the_variable_the_problem_and_the_range(setting: Setting) -> None:
    raw = past_bound(setting)
    problem = problem_for(setting.name, raw)
    top = show_number(bound(setting))
    assert problem.startswith(f"{setting.name}={raw!r} is above the maximum {top}; expected ")
    assert problem.endswith(setting.parse.expected)  # type: ignore[attr-defined]
    assert f"at most {top}" in problem or f"to {top}" in problem


@pytest.mark.parametrize(
    "raw", ["1e308", "1e20", "99999999999999999999", "1" * 5000], ids=["1e308", "1e20", "20 nines", "5000 digits"]
)
@pytest.mark.parametrize("setting", NUMERIC, ids=IDS)
def test_the_values_of_the_sweep_are_refused_for_every_number(setting: Setting, raw: str) -> None:
    whole = isinstance(setting.parse, WholeNumber)
    problem = problem_for(setting.name, raw)
    if whole and "e" in raw:
        assert "is not a whole number" in problem
    else:
        assert "is above the maximum" in problem


@pytest.mark.parametrize("raw", ["1_0", "1_000", "١٢", "１２", "٣.٥", "1_0.5", "0x10", "½"])
@pytest.mark.parametrize("setting", NUMERIC, ids=IDS)
def test_only_ascii_digits_make_a_number(setting: Setting, raw: str) -> None:
    kind = "is not a whole number" if isinstance(setting.parse, WholeNumber) else "is not a number"
    assert f"{setting.name}={raw!r} {kind}; expected " in problem_for(setting.name, raw)


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("CACHE_DEFAULT_TTL", "1e308", "CACHE_DEFAULT_TTL='1e308' is above the maximum 315360000; expected a number greater than 0 and at most 315360000 (10 years)"),
        ("CACHE_SOCKET_TIMEOUT", "1e308", "CACHE_SOCKET_TIMEOUT='1e308' is above the maximum 2147483; expected a number greater than 0 and at most 2147483 (24.8 days)"),
        ("OUTBOX_RETENTION_HOURS", "1e8", "OUTBOX_RETENTION_HOURS='1e8' is above the maximum 1000000; expected a number from 0 to 1000000 (114 years)"),
        ("OUTBOX_POLL_INTERVAL", "1e308", "OUTBOX_POLL_INTERVAL='1e308' is above the maximum 2147483; expected a number greater than 0 and at most 2147483 (24.8 days)"),
        ("LLM_TIMEOUT", "1e308", "LLM_TIMEOUT='1e308' is above the maximum 2147483; expected a number greater than 0 and at most 2147483 (24.8 days)"),
        ("DB_POOL_TIMEOUT", "1e308", "DB_POOL_TIMEOUT='1e308' is above the maximum 2147483; expected a number greater than 0 and at most 2147483 (24.8 days)"),
        ("CACHE_DEFAULT_TTL", "1e20", "CACHE_DEFAULT_TTL='1e20' is above the maximum 315360000; expected a number greater than 0 and at most 315360000 (10 years)"),
        ("LLM_CACHE_TTL", "99999999999999999999", "LLM_CACHE_TTL='99999999999999999999' is above the maximum 315360000; expected a whole number from 0 to 315360000 (10 years)"),
    ],
)
def test_the_values_of_issue_11_are_each_a_clear_error(name: str, raw: str, expected: str) -> None:
    assert problem_for(name, raw) == expected
