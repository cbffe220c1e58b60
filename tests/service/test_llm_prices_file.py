"""LLM_PRICES_FILE adds to or overrides the shipped price table; a file that cannot be used is a ConfigurationError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modules.infrastructure.infrastructure.llm_clients.factory import load_prices
from modules.infrastructure.module_api import ConfigurationError, InfrastructureService, Prompt, PromptContext
from scripts.benchmarks.instant_llm import InstantServer  # answers 12 prompt and 9 completion tokens


def write(folder: Path, data: Any) -> str:
    path = folder / "prices.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def test_load_prices_overlays_the_file_on_the_shipped_table(tmp_path: Path) -> None:
    shipped = load_prices(None)
    table = load_prices(write(tmp_path, {"version": "ops-1", "models": {"gpt-4o-mini": {"input": 9, "output": 9}, "in-house": {"input": 1, "output": 2}}}))
    assert table.version == f"{shipped.version}+ops-1"
    assert (table.prices["gpt-4o-mini"].input, table.prices["in-house"].output) == (9.0, 2.0)
    assert set(shipped.prices) < set(table.prices)
    assert all(table.prices[name] == price for name, price in shipped.prices.items() if name != "gpt-4o-mini")


SNAPSHOTS = {
    "claude-3-haiku-20240307": "claude-3-haiku",
    "claude-3-5-haiku-20241022": "claude-3-5-haiku",
    "claude-3-7-sonnet-20250219": "claude-3-7-sonnet",
    "claude-sonnet-4-20250514": "claude-sonnet-4",
    "claude-opus-4-20250514": "claude-opus-4",
    "claude-opus-4-1-20250805": "claude-opus-4-1",
    "claude-sonnet-4-5-20250929": "claude-sonnet-4-5",
    "claude-haiku-4-5-20251001": "claude-haiku-4-5",
    "claude-opus-4-5-20251101": "claude-opus-4-5",
    "gpt-4o-mini-2024-07-18": "gpt-4o-mini",
    "gpt-4.1-2025-04-14": "gpt-4.1",
    "gpt-5-2025-08-07": "gpt-5",
    "o3-2025-04-16": "o3",
}


@pytest.mark.parametrize(("snapshot", "base"), SNAPSHOTS.items())
def test_the_shipped_table_prices_each_dated_snapshot_as_its_model(snapshot: str, base: str) -> None:
    prices = load_prices(None)
    assert prices.price(snapshot) is prices.prices[base]


def test_the_shipped_table_knows_what_the_module_calls() -> None:
    prices = load_prices(None)
    assert prices.price("gpt-4o-2024-05-13") != prices.price("gpt-4o")  # that snapshot is dearer: listed on its own
    assert prices.price("claude-3-5-haiku-latest") == prices.price("claude-3-5-haiku")
    for model in ("text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002"):
        assert prices.prices[model].input > 0 and prices.prices[model].output == 0
    assert prices.cost("omni-moderation-latest", 1000, 0) == 0.0


def call(module: str) -> float | None:
    InfrastructureService.execute_prompt(Prompt("Hi {name}", name="greet"), PromptContext({"name": "Ada"}, module=module))
    return InfrastructureService.get_llm_usage(module=module).cost_usd


def test_the_facade_prices_calls_from_the_file_over_the_shipped_table(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with InstantServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-prices")
        monkeypatch.setenv("LLM_PRICES_FILE", write(clean_env, {"version": "ops", "models": {"gpt-4o-mini": {"input": 1000, "output": 2000}}}))
        assert call("lessons") == pytest.approx((12 * 1000 + 9 * 2000) / 1_000_000)


def test_an_azure_deployment_is_priced_through_an_alias(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with InstantServer() as server:
        monkeypatch.setenv("LLM_PROVIDER", "azure")
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.base_url.removesuffix("/v1"))
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "test-azure-key")
        monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "prod-chat")
        monkeypatch.setenv("LLM_PRICES_FILE", write(clean_env, {"version": "ops", "models": {}, "aliases": {"prod-chat": "gpt-4o"}}))
        gpt_4o = load_prices(None).prices["gpt-4o"]
        assert call("lessons") == pytest.approx((12 * gpt_4o.input + 9 * gpt_4o.output) / 1_000_000)


BAD_FILES: list[tuple[str, str, str]] = [
    ("not JSON", "{prices: none", "not a usable price table: Expecting property name"),
    ("NaN", '{"version": "v", "models": {"m": {"input": NaN, "output": 1}}}', "model 'm': input is nan"),
    ("a number past float", '{"version": "v", "models": {"m": {"input": 1, "output": 1e999}}}', "model 'm': output is inf"),
    ("a negative price", '{"version": "v", "models": {"gpt-4o": {"input": -0.5, "output": 1}}}', "model 'gpt-4o': input is -0.5"),
    ("an alias to nothing priced", '{"version": "v", "models": {}, "aliases": {"dep": "gpt-99"}}', "alias 'dep' names model 'gpt-99', which has no price"),
    ("nested past the parser", "[" * 100_000 + "]" * 100_000, "not a usable price table"),
]


@pytest.mark.parametrize(("text", "problem"), [(t, p) for _, t, p in BAD_FILES], ids=[name for name, _, _ in BAD_FILES])
def test_a_malformed_file_is_a_configuration_error_naming_the_setting_and_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError) as raised:
        load_prices(path)
    assert f"LLM_PRICES_FILE={path}" in str(raised.value) and problem in str(raised.value)


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_bytes(b'{"version": "\xff"}')
    with pytest.raises(ConfigurationError, match="LLM_PRICES_FILE=.*not a usable price table.*utf-8"):
        load_prices(str(path))


@pytest.mark.parametrize("where", ["missing", "a directory"])
def test_a_file_that_cannot_be_read_is_a_configuration_error(tmp_path: Path, where: str) -> None:
    path = tmp_path / "absent.json" if where == "missing" else tmp_path
    with pytest.raises(ConfigurationError, match=r"LLM_PRICES_FILE=.* cannot be read \((No such file or directory|Is a directory)\)"):
        load_prices(str(path))


def test_the_facade_refuses_a_bad_file_at_the_first_llm_call(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-prices")
    monkeypatch.setenv("LLM_PRICES_FILE", write(clean_env, {"version": "v", "models": {"gpt-4o-mini": {"input": "free", "output": 0}}}))
    with pytest.raises(ConfigurationError, match="LLM_PRICES_FILE=.*model 'gpt-4o-mini': input is 'free', not a number"):
        InfrastructureService.execute_prompt(Prompt("Hi"), PromptContext(module="lessons"))
