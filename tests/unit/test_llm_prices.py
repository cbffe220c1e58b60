"""The price table: dated and aliased model ids, one table overlaid on another, and every malformed table refused."""

from __future__ import annotations

from typing import Any

import pytest

from modules.infrastructure.domain.llm.pricing import ModelPrice, PriceTable

BASE = {"version": "base-1", "models": {"gpt-4o": {"input": 2.5, "output": 10}, "claude-sonnet-4-5": {"input": 3, "output": 15, "cached_input": 0.3}}}


@pytest.mark.parametrize("model", ["claude-sonnet-4-5-20250929", "gpt-4o-2024-08-06", "gpt-4o-20240806"])
def test_a_dated_snapshot_in_either_style_is_priced_as_its_base_model(model: str) -> None:
    prices = PriceTable.from_data(BASE)
    base = "claude-sonnet-4-5" if model.startswith("claude") else "gpt-4o"
    assert prices.price(model) is prices.prices[base]


@pytest.mark.parametrize(
    "model",
    [
        "claude-sonnet-4-5-preview",  # a variant, not a snapshot
        "claude-sonnet-4-5-2025092",  # seven digits
        "claude-sonnet-4-5-20251399",  # no such month or day
        "claude-sonnet-4-5-19990101",  # not this century's id style
        "claude-sonnet-4-5-20250929-thinking",  # the date is not the end
        "gpt-4o-32768",
        "claude-sonnet-4",  # a different model, never a prefix match
    ],
)
def test_anything_but_a_trailing_snapshot_date_stays_unpriced(model: str) -> None:
    assert PriceTable.from_data(BASE).price(model) is None


def test_the_file_adds_models_and_overrides_shipped_ones_and_the_version_names_both() -> None:
    shipped = PriceTable.from_data(BASE)
    table = shipped.overlaid(PriceTable.from_data({"version": "ops-7", "models": {"gpt-4o": {"input": 2, "output": 8}, "my-model": {"input": 0, "output": 0}}}))
    assert table.version == "base-1+ops-7"
    assert table.price("gpt-4o") == ModelPrice(2.0, 8.0)
    assert table.price("gpt-4o-2024-08-06") == ModelPrice(2.0, 8.0)
    assert table.price("my-model") == ModelPrice(0.0, 0.0)
    assert table.price("claude-sonnet-4-5") == ModelPrice(3.0, 15.0, 0.3)
    assert shipped.price("my-model") is None  # the shipped table itself is unchanged


def test_an_alias_prices_an_azure_deployment_as_the_model_it_runs() -> None:
    overlay = PriceTable.from_data({"version": "ops", "models": {}, "aliases": {"prod-chat": "gpt-4o"}})
    table = PriceTable.from_data(BASE).overlaid(overlay)
    assert table.cost("prod-chat", 1_000_000, 1_000_000) == 12.5


def test_an_alias_to_an_unpriced_model_is_refused() -> None:
    overlay = PriceTable.from_data({"version": "ops", "models": {}, "aliases": {"prod-chat": "gpt-9"}})
    with pytest.raises(ValueError, match="alias 'prod-chat' names model 'gpt-9', which has no price"):
        PriceTable.from_data(BASE).overlaid(overlay)


BAD_TABLES: list[tuple[str, Any, str]] = [
    ("a list", [], "not a price table"),
    ("no version", {"models": {}}, "version is None"),
    ("an empty version", {"version": " ", "models": {}}, "version is ' '"),
    ("no models", {"version": "v"}, "models is missing"),
    ("models as a list", {"version": "v", "models": []}, "models is a list"),
    ("a model as a number", {"version": "v", "models": {"m": 3}}, "model 'm': its prices are a int"),
    ("a missing output", {"version": "v", "models": {"m": {"input": 1}}}, "model 'm': output missing"),
    ("an unknown field", {"version": "v", "models": {"m": {"input": 1, "output": 1, "inptu": 1}}}, "model 'm': unknown field 'inptu'"),
    ("a negative price", {"version": "v", "models": {"m": {"input": -1, "output": 1}}}, "model 'm': input is -1"),
    ("a price as text", {"version": "v", "models": {"m": {"input": "1.5", "output": 1}}}, "model 'm': input is '1.5', not a number"),
    ("a price as a boolean", {"version": "v", "models": {"m": {"input": 1, "output": True}}}, "model 'm': output is True, not a number"),
    ("a null price", {"version": "v", "models": {"m": {"input": None, "output": 1}}}, "model 'm': input is None, not a number"),
    ("NaN", {"version": "v", "models": {"m": {"input": float("nan"), "output": 1}}}, "model 'm': input is nan"),
    ("infinity", {"version": "v", "models": {"m": {"input": 1, "output": float("inf")}}}, "model 'm': output is inf"),
    ("an absurd price", {"version": "v", "models": {"m": {"input": 1, "output": 10**30}}}, "model 'm': output is 10000000"),
    ("an absurd cached price", {"version": "v", "models": {"m": {"input": 1, "output": 1, "cached_input": 1e6}}}, "model 'm': cached_input is 1000000.0"),
    ("an empty model name", {"version": "v", "models": {"": {"input": 1, "output": 1}}}, "model name '' is empty"),
    ("aliases as a list", {"version": "v", "models": {}, "aliases": ["x"]}, "aliases is a list"),
    ("an alias to a number", {"version": "v", "models": {}, "aliases": {"dep": 4}}, "alias 'dep' names 4"),
    ("an alias that is a model", {"version": "v", "models": {"m": {"input": 1, "output": 1}}, "aliases": {"m": "gpt-4o"}}, "'m' is both a model and an alias"),
]


@pytest.mark.parametrize(("data", "problem"), [(d, p) for _, d, p in BAD_TABLES], ids=[name for name, _, _ in BAD_TABLES])
def test_a_malformed_table_is_refused_naming_the_model_and_the_problem(data: Any, problem: str) -> None:
    with pytest.raises(ValueError) as raised:
        PriceTable.from_data(data)
    assert problem in str(raised.value)
