"""JSON schemas of tool arguments: checked as JSON Schema 2020-12 once per distinct schema (every ``$ref``
resolved within it), and arguments checked against them (the ``jsonschema`` package, loaded with the first
tool rather than at import).

A ``pattern`` runs on the model's arguments through Python's ``re``, which has no time bound: keep patterns
linear (no nested quantifiers such as ``(a+)+``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any, cast

MAX_DEPTH = 64  # levels of nesting in a schema: deeper is no schema a model can follow


class _NotPlain(ValueError):
    """A schema that is not plain JSON data (a key that is not text, nesting too deep)."""


def schema_problem(schema: object, where: str) -> str | None:
    """Why ``schema`` is not a JSON schema of arguments (valid JSON Schema 2020-12, of an object whose
    properties are schemas), or None."""
    if not isinstance(schema, Mapping):
        return f"{where} must be a JSON schema (a mapping), not {type(schema).__name__}"
    try:
        plain = plain_schema(schema)
        text = json.dumps(plain, allow_nan=False, sort_keys=True)
    except (_NotPlain, TypeError, ValueError, RecursionError) as exc:
        return f"{where} cannot be sent as JSON ({str(exc)[:160]})"
    if plain.get("type") != "object":
        return f"{where} must be an object schema ({{'type': 'object', 'properties': {{...}}}})"
    invalid = _schema_text_problem(text)
    if invalid:
        return f"{where} is not valid JSON Schema: {invalid}"
    properties = plain.get("properties", {})
    if not isinstance(properties, dict) or not all(isinstance(v, dict) for v in properties.values()):
        return f"{where}.properties must map each argument's name to its schema"
    required = plain.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) and r in properties for r in required):
        return f"{where}.required must list names of its properties"
    return None


def plain_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` as plain JSON data: mappings as dicts with text keys, sequences as lists."""
    return cast(dict[str, Any], _plain(schema, 0))


def _plain(value: object, depth: int) -> object:
    if depth > MAX_DEPTH:
        raise _NotPlain(f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise _NotPlain("a key that is not text")
        return {key: _plain(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item, depth + 1) for item in value]
    return value


@functools.lru_cache(maxsize=1024)
def _schema_text_problem(text: str) -> str | None:
    """Checked once per distinct schema: the check against the metaschema costs milliseconds."""
    from jsonschema import SchemaError  # loaded with the first tool, not at import
    from referencing.exceptions import Unresolvable

    try:
        validator = _validator(text)
        for reference in _references(validator.schema):
            validator._resolver.lookup(reference)  # noqa: SLF001 (jsonschema's own resolver, as validation uses it)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.path) or "the top level"
        return f"{exc.message[:200]} (at {where})"
    except Unresolvable as exc:
        return f"its $ref {str(exc)[:120]} cannot be resolved within the schema (remote schemas are not fetched)"
    return None


def _references(schema: object) -> list[str]:
    if isinstance(schema, dict):
        own = [schema["$ref"]] if isinstance(schema.get("$ref"), str) else []
        return own + [ref for value in schema.values() for ref in _references(value)]
    if isinstance(schema, list):
        return [ref for value in schema for ref in _references(value)]
    return []


@functools.lru_cache(maxsize=1024)
def _validator(text: str) -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def arguments_problem(schema: Mapping[str, Any], arguments: Mapping[str, Any]) -> str | None:
    """Why ``arguments`` break ``schema`` (the first error, with where it is), or None."""
    try:
        error = next(iter(_validator(json.dumps(schema, sort_keys=True)).iter_errors(dict(arguments))), None)
    except Exception as exc:  # the schema passed its check; a failure here must not escape raw to the caller
        return f"they could not be checked against the tool's schema ({type(exc).__name__}: {str(exc)[:160]})"
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path)
    return f"{error.message[:300]}{f' (at {where})' if where else ''}"
