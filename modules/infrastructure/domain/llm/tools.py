"""Tools a model may call: a name, a description and a JSON schema of the arguments, declared here or read from a
plain function (``tool_functions.tool_from_function``), and the caller's ``tool_choice`` among them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modules.infrastructure.domain.errors import LLMBadRequestError
from modules.infrastructure.domain.llm.tool_schemas import plain_schema, schema_problem

_NAME = re.compile(r"[A-Za-z0-9_\-]{1,64}")  # what the chat APIs accept as a function name
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
        # A copy of its own, as checked: changing the caller's mapping afterwards changes nothing here.
        object.__setattr__(self, "parameters", plain_schema(self.parameters))

    def to_wire(self) -> dict[str, Any]:
        """The declaration as the OpenAI-style chat APIs take it."""
        return {"type": "function", "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}


def tool_problem(tool: Tool) -> str | None:
    """Why the declaration cannot be sent, or None."""
    name: object = tool.name
    description: object = tool.description
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return "its name must be 1 to 64 letters, digits, '_' or '-'"
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        return f"its description must be text of at most {MAX_DESCRIPTION} characters"
    return schema_problem(tool.parameters, "parameters")


def check_tool_choice(choice: object, tools: Sequence[Tool]) -> str | None:
    """``choice`` when it is None, one of ``auto``, ``none``, ``required``, or the name of a declared tool."""
    if choice is None:
        return None
    if not isinstance(choice, str):
        raise LLMBadRequestError(
            f"tool_choice takes 'auto', 'none', 'required' or a tool's name (text), not {type(choice).__name__}; "
            "for one tool, pass its name rather than OpenAI's {'type': 'function', ...} form"
        )
    if not tools:
        raise LLMBadRequestError("tool_choice was given without tools; declare the tools it chooses from")
    if choice in TOOL_CHOICES or choice in {tool.name for tool in tools}:
        return str(choice)
    raise LLMBadRequestError(
        f"tool_choice {choice!r:.80} is neither one of {', '.join(TOOL_CHOICES)} nor a declared tool ({', '.join(t.name for t in tools)})"
    )
