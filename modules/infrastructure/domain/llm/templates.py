"""Prompt templates: ``{name}`` placeholders filled from variables, and nothing else.

``str.format`` also follows ``{x.attr}`` and ``{x[key]}`` (``{x.__init__.__globals__[...]}`` reaches a
module's globals, an API key among them), applies conversions (``{x!r}``) and format specs
(``{x:>100000000}`` builds a 100 MB string). Here a placeholder is a variable's name; anything
else is an ``LLMBadRequestError`` before a request is sent. ``{{`` and ``}}`` are literal braces.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from modules.infrastructure.domain.errors import LLMBadRequestError

_FORMATTER = string.Formatter()
LITERAL_BRACES = "write {{ and }} for a literal brace"


def placeholders(template: str, where: str) -> list[tuple[str, str | None]]:
    """``template`` as pieces of literal text, each followed by the variable it names (``None`` after the last).

    Raises ``LLMBadRequestError`` naming ``where`` (``"template"``, ``"system prompt"``) for anything but plain names.
    """
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        shown = template if len(template) <= 80 else template[:80] + "..."
        raise LLMBadRequestError(
            f"The {where} {shown!r} is not a valid template ({exc}); name every placeholder, e.g. {{text}}, and {LITERAL_BRACES}"
        ) from exc
    pieces: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parsed:
        if name is not None and (not name.isidentifier() or spec or conversion):
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise LLMBadRequestError(
                f"The {where} has the placeholder {shown[:80]!r}; a placeholder is a variable's name, like {{text}}, "
                f"without attributes, indexes, conversions or format specs: format the value before passing it, or {LITERAL_BRACES}"
            )
        pieces.append((literal, name))
    return pieces


def render(template: str, variables: Mapping[str, Any], where: str) -> str:
    """``template`` with each placeholder replaced by its variable as text; raises ``LLMBadRequestError``."""
    parts: list[str] = []
    for literal, name in placeholders(template, where):
        parts.append(literal)
        if name is None:
            continue
        if name not in variables:
            raise LLMBadRequestError(
                f"The {where} uses {{{name}}} but PromptContext.variables has no '{name}'; pass it, or {LITERAL_BRACES}"
            )
        try:
            parts.append(format(variables[name], ""))
        except Exception as exc:  # the variable's own __format__/__str__ failed
            raise LLMBadRequestError(f"PromptContext.variables['{name}'] cannot be turned into text ({type(exc).__name__}: {exc})") from exc
    return "".join(parts)
