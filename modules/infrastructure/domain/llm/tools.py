"""Tools a model may call: a name, a description and a JSON schema of the arguments, declared or read from a function.

``tool_from_function(fn)`` reads the schema off a plain Python signature (str, int, float, bool,
lists, dicts, ``Literal`` choices, optional parameters), so a tool is usually one decorated-free function.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modules.infrastructure.domain.errors import LLMBadRequestError

_NAME = re.compile(r"[A-Za-z0-9_\-]{1,64}")  # what the chat APIs accept as a function name
_SCALARS: dict[object, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
MAX_DESCRIPTION = 1024


TOOL_CHOICES = ("auto", "none", "required")


@dataclass(frozen=True)
class Tool:
    """A tool declaration: ``parameters`` is the JSON schema of its arguments (an object schema).

    ``function`` is what the tool loop runs for it (``tool_from_function`` sets it); never sent.
    """

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    function: Callable[..., Any] | None = field(default=None, compare=False, repr=False)

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


def arguments_problem(tool: Tool, arguments: Mapping[str, Any]) -> str | None:
    """Why ``arguments`` break ``tool``'s schema (the first error, with where it is), or None."""
    validator = _validator(json.dumps(tool.parameters, sort_keys=True))
    error = next(iter(validator.iter_errors(dict(arguments))), None)
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path)
    return f"{error.message[:300]}{f' (at {where})' if where else ''}"


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


def check_tool_choice(choice: object, tools: Sequence[Tool]) -> str | None:
    """``choice`` when it is None, one of ``auto``, ``none``, ``required``, or the name of a declared tool."""
    if choice is None:
        return None
    if not tools:
        raise LLMBadRequestError("tool_choice was given without tools; declare the tools it chooses from")
    if choice in TOOL_CHOICES or choice in {tool.name for tool in tools}:
        return str(choice)
    raise LLMBadRequestError(
        f"tool_choice {choice!r:.80} is neither one of {', '.join(TOOL_CHOICES)} nor a declared tool ({', '.join(t.name for t in tools)})"
    )


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
