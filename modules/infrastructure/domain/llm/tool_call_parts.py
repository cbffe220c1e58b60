"""Tool calls read from a provider's answer: arguments parsed from their JSON text, and calls streamed in parts."""

from __future__ import annotations

import json
from collections.abc import Callable

from modules.infrastructure.domain.llm.conversation import MAX_ID, ToolCall

MAX_ARGUMENTS = 1_000_000  # characters of one call's arguments: more is not an answer to believe


def parsed_call(call_id: object, name: object, arguments: object, malformed: Callable[[str], Exception]) -> ToolCall:
    """The call with its arguments parsed; arguments that are not a JSON object give a call with ``error`` set
    (the model's mistake, which it can correct). An id or name that is not text raises ``malformed(what)``."""
    if not (isinstance(call_id, str) and 0 < len(call_id) <= MAX_ID and isinstance(name, str) and 0 < len(name) <= MAX_ID):
        raise malformed(f"a tool call without a usable id and name ({str(call_id)[:40]!r}, {str(name)[:40]!r})")
    if isinstance(arguments, dict):
        return ToolCall(call_id, name, arguments)
    if not isinstance(arguments, str):
        raise malformed(f"tool call {call_id!r} whose arguments are neither JSON text nor an object")
    if len(arguments) > MAX_ARGUMENTS:
        return ToolCall(call_id, name, {}, f"the arguments are {len(arguments):,} characters, over {MAX_ARGUMENTS:,}")
    try:
        value = json.loads(arguments or "{}")
    except (ValueError, RecursionError) as exc:
        return ToolCall(call_id, name, {}, f"the arguments are not JSON ({str(exc)[:120]}): {arguments[:200]!r}")
    if not isinstance(value, dict):
        return ToolCall(call_id, name, {}, f"the arguments are JSON but not an object: {arguments[:200]!r}")
    return ToolCall(call_id, name, value)


class ToolCallParts:
    """Tool calls as a stream sends them: the id and name first, the arguments' JSON text in pieces, by index."""

    def __init__(self) -> None:
        self._calls: dict[int, list[str]] = {}  # index -> [id, name, arguments text]
        self._conflicts: set[int] = set()

    def add(self, index: int, call_id: str | None = None, name: str | None = None, arguments: str | None = None) -> None:
        parts = self._calls.setdefault(index, ["", "", ""])
        if call_id and parts[0] and call_id != parts[0]:
            self._conflicts.add(index)  # a second call under one index: pieces that cannot be told apart
        parts[0] = call_id or parts[0]
        parts[1] = name or parts[1]
        if arguments and len(parts[2]) <= MAX_ARGUMENTS:
            parts[2] += arguments

    def calls(self, malformed: Callable[[str], Exception]) -> tuple[ToolCall, ...]:
        """The finished calls in index order; ``malformed`` raised for an index that carried two ids."""
        if self._conflicts:
            raise malformed(f"a stream that sent two tool calls under index {min(self._conflicts)}")
        finished = (self._calls[index] for index in sorted(self._calls))
        return tuple(parsed_call(call_id, name, arguments, malformed) for call_id, name, arguments in finished)

    def __len__(self) -> int:
        return len(self._calls)
