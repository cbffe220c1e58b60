"""Tools a model may call: a name, a description and a JSON schema of the arguments, declared or read from a function.

``tool_from_function(fn)`` reads the schema off a plain Python signature (str, int, float, bool,
lists, dicts, ``Literal`` choices, optional parameters), so a tool is usually one decorated-free function.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from modules.infrastructure.domain.errors import LLMBadRequestError

_NAME = re.compile(r"[A-Za-z0-9_\-]{1,64}")  # what the chat APIs accept as a function name
_SCALARS: dict[object, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
MAX_DESCRIPTION = 1024


@dataclass(frozen=True)
class Tool:
    """A tool declaration: ``parameters`` is the JSON schema of its arguments (an object schema)."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})

    def __post_init__(self) -> None:
        problem = tool_problem(self)
        if problem:
            raise LLMBadRequestError(f"Tool {self.name!r:.80} cannot be declared: {problem}")

    def to_wire(self) -> dict[str, Any]:
        """The declaration as the OpenAI-style chat APIs take it."""
        return {"type": "function", "function": {"name": self.name, "description": self.description, "parameters": dict(self.parameters)}}


def tool_problem(tool: Tool) -> str | None:
    """Why the declaration cannot be sent, or None."""
    name: object = tool.name
    description: object = tool.description
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return "its name must be 1 to 64 letters, digits, '_' or '-'"
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        return f"its description must be text of at most {MAX_DESCRIPTION} characters"
    return schema_problem(tool.parameters, "parameters")


def schema_problem(schema: object, where: str) -> str | None:
    """Why ``schema`` is not a JSON schema of arguments: an object schema whose properties are schemas, or None."""
    if not isinstance(schema, Mapping):
        return f"{where} must be a JSON schema (a mapping), not {type(schema).__name__}"
    if schema.get("type") != "object":
        return f"{where} must be an object schema ({{'type': 'object', 'properties': {{...}}}})"
    properties = schema.get("properties", {})
    if not isinstance(properties, Mapping) or not all(isinstance(k, str) and isinstance(v, Mapping) for k, v in properties.items()):
        return f"{where}.properties must map each argument's name to its schema"
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) and r in properties for r in required):
        return f"{where}.required must list names of its properties"
    return None


def tool_from_function(function: Callable[..., Any], *, name: str | None = None, description: str | None = None) -> Tool:
    """A ``Tool`` whose schema comes from ``function``'s parameters and whose description from its docstring."""
    if not callable(function):
        raise LLMBadRequestError(f"tool_from_function takes a function, not {type(function).__name__}")
    try:
        signature = inspect.signature(function)
        hints = typing.get_type_hints(function)
    except (TypeError, ValueError, NameError) as exc:
        raise LLMBadRequestError(f"The signature of {function!r:.80} cannot be read as a tool: {exc}") from exc
    properties: dict[str, Any] = {}
    required: list[str] = []
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD, parameter.POSITIONAL_ONLY):
            raise LLMBadRequestError(f"Tool parameter {parameter.name!r} must be a named parameter (no *args, **kwargs or /)")
        annotation = hints.get(parameter.name, Any)
        properties[parameter.name] = _schema_of(annotation, parameter.name)
        if parameter.default is parameter.empty and not _is_optional(annotation):
            required.append(parameter.name)
    doc = inspect.getdoc(function) or ""
    summary = description if description is not None else doc.split("\n\n", 1)[0].replace("\n", " ")
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    return Tool(str(name or getattr(function, "__name__", "")), summary, schema)


def _schema_of(annotation: object, parameter: str) -> dict[str, Any]:
    if annotation in _SCALARS:
        return {"type": _SCALARS[annotation]}
    if annotation is Any:
        return {}
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal and arguments and all(isinstance(a, str | int | float | bool) for a in arguments):
        return {"enum": list(arguments)}
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple, set, frozenset):
        item = arguments[0] if arguments else Any
        return {"type": "array", "items": _schema_of(item, parameter)}
    if origin is dict or annotation is dict:
        return {"type": "object"}
    if origin in (typing.Union, types.UnionType):
        present = [a for a in arguments if a is not type(None)]
        if len(present) == 1:
            return _schema_of(present[0], parameter)
        return {"anyOf": [_schema_of(a, parameter) for a in present]}
    raise LLMBadRequestError(
        f"Tool parameter {parameter!r} has a type a JSON schema cannot state here ({annotation!r:.80}); "
        "use str, int, float, bool, list[...], dict, Literal[...] or Optional[...], or declare the Tool yourself"
    )


def _is_optional(annotation: object) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in typing.get_args(annotation)
