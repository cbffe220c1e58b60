"""Tools read from plain functions: the JSON schema from the signature, the description from the docstring."""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from modules.infrastructure.domain.errors import LLMBadRequestError
from modules.infrastructure.domain.llm.tools import Tool

_SCALARS: dict[object, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def check_tools(tools: object) -> tuple[Tool, ...]:
    """``tools`` as ``Tool`` values (a plain function becomes one through ``tool_from_function``); names unique."""
    if isinstance(tools, str | bytes | Mapping) or not isinstance(tools, Sequence):
        raise LLMBadRequestError(f"tools must be a list of Tool or functions, not {type(tools).__name__}")
    checked = tuple(tool if isinstance(tool, Tool) else _tool_of(tool) for tool in tools)
    names = [tool.name for tool in checked]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise LLMBadRequestError(f"tools declares {', '.join(map(repr, repeated))} more than once; tool names are unique")
    return checked


def _tool_of(function: object) -> Tool:
    """``tool_from_function``, read once per function (a signature costs more than the rest of a call)."""
    try:
        return _read_tool(function)
    except TypeError:  # an unhashable callable: read each time
        return tool_from_function(function)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=1024)
def _read_tool(function: Callable[..., Any]) -> Tool:
    return tool_from_function(function)


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
    return Tool(str(name or getattr(function, "__name__", "")), summary, schema, function)


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
