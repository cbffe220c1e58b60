"""JSON schemas of tool arguments: checked as JSON Schema 2020-12 once per distinct schema, and arguments checked
against them (the ``jsonschema`` package, loaded with the first tool rather than at import)."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any


def schema_problem(schema: object, where: str) -> str | None:
    """Why ``schema`` is not a JSON schema of arguments (valid JSON Schema 2020-12, of an object whose
    properties are schemas), or None."""
    if not isinstance(schema, Mapping):
        return f"{where} must be a JSON schema (a mapping), not {type(schema).__name__}"
    if schema.get("type") != "object":
        return f"{where} must be an object schema ({{'type': 'object', 'properties': {{...}}}})"
    invalid = _invalid_schema(schema)
    if invalid:
        return f"{where} is not valid JSON Schema: {invalid}"
    properties = schema.get("properties", {})
    if not isinstance(properties, Mapping) or not all(isinstance(k, str) and isinstance(v, Mapping) for k, v in properties.items()):
        return f"{where}.properties must map each argument's name to its schema"
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) and r in properties for r in required):
        return f"{where}.required must list names of its properties"
    return None


def _invalid_schema(schema: Mapping[str, Any]) -> str | None:
    try:
        text = json.dumps(schema, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError, RecursionError) as exc:
        return f"it cannot be sent as JSON ({type(exc).__name__}: {str(exc)[:120]})"
    return _schema_text_problem(text)


@functools.lru_cache(maxsize=1024)
def _schema_text_problem(text: str) -> str | None:
    """Checked once per distinct schema: the check against the metaschema costs milliseconds."""
    from jsonschema import SchemaError  # loaded with the first tool, not at import

    try:
        _validator(text)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.path) or "the top level"
        return f"{exc.message[:200]} (at {where})"
    return None


@functools.lru_cache(maxsize=1024)
def _validator(text: str) -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def arguments_problem(schema: Mapping[str, Any], arguments: Mapping[str, Any]) -> str | None:
    """Why ``arguments`` break ``schema`` (the first error, with where it is), or None."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    error = next(iter(validator.iter_errors(dict(arguments))), None)
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path)
    return f"{error.message[:300]}{f' (at {where})' if where else ''}"
