"""Checks a price table's data (parsed JSON) field by field, so a bad file is refused with the model and the problem."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_PRICE = 10_000.0  # USD per million tokens: far above any list price (the dearest, o1-pro output, is 600)
REQUIRED_FIELDS = ("input", "output")
OPTIONAL_FIELDS = ("cached_input",)
EXPECTED = 'expected {"version": "...", "models": {"<model>": {"input": x, "output": y, "cached_input": z}}}'


def parse_version(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"version is {value!r}, not a non-empty string; {EXPECTED}")
    return value.strip()


def parse_models(value: Any) -> dict[str, tuple[float, float, float | None]]:
    """``{model: (input, output, cached_input or None)}``, every price checked."""
    if not isinstance(value, Mapping):
        raise ValueError(f"models is {_kind(value)}, not an object; {EXPECTED}")
    return {_model_name(name): _model_fields(name, fields) for name, fields in value.items()}


def parse_aliases(value: Any, models: Mapping[str, object]) -> dict[str, str]:
    """``{alias: model}`` (an Azure deployment name and the model it runs); an alias may not also be a model."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f'aliases is {_kind(value)}, not an object; expected {{"<deployment>": "<model>"}}')
    for alias, model in value.items():
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"alias {alias!r} names {model!r}, not a model name")
        if _model_name(alias) in models:
            raise ValueError(f"{alias!r} is both a model and an alias; keep one")
    return {_model_name(alias): model.strip() for alias, model in value.items()}


def _model_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"model name {name!r} is empty")
    return name.strip()


def _model_fields(name: str, fields: Any) -> tuple[float, float, float | None]:
    if not isinstance(fields, Mapping):
        raise ValueError(f"model {name!r}: its prices are {_kind(fields)}, not an object; {EXPECTED}")
    unknown = sorted(set(fields) - {*REQUIRED_FIELDS, *OPTIONAL_FIELDS})
    if unknown:
        raise ValueError(f"model {name!r}: unknown field {', '.join(map(repr, unknown))}; the fields are input, output, cached_input")
    missing = [f for f in REQUIRED_FIELDS if f not in fields]
    if missing:
        raise ValueError(f"model {name!r}: {' and '.join(missing)} missing; {EXPECTED}")
    cached = fields.get("cached_input")
    return (
        _price(name, "input", fields["input"]),
        _price(name, "output", fields["output"]),
        None if cached is None else _price(name, "cached_input", cached),
    )


def _price(model: str, field: str, value: Any) -> float:
    """A finite number from 0 to ``MAX_PRICE``; a boolean or a numeric string is refused, not converted."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"model {model!r}: {field} is {value!r}, not a number (USD per million tokens)")
    if not 0 <= value <= MAX_PRICE:  # NaN compares false, so it fails here too
        raise ValueError(f"model {model!r}: {field} is {value!r}; a price is a number from 0 to {MAX_PRICE:g} USD per million tokens")
    return float(value)


def _kind(value: Any) -> str:
    return "missing" if value is None else f"a {type(value).__name__}"
