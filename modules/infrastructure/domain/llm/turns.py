"""``Turn``: what one call to the model sends, built from a one-shot prompt or from a conversation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modules.infrastructure.domain.errors import LLMBadRequestError
from modules.infrastructure.domain.llm.conversation import Message, check_history
from modules.infrastructure.domain.llm.prompts import check_unicode, render_messages
from modules.infrastructure.domain.llm.templates import render
from modules.infrastructure.domain.llm.tool_functions import check_tools
from modules.infrastructure.domain.llm.tools import Tool, check_tool_choice
from modules.infrastructure.domain.llm.values import CompletionRequest, Prompt


@dataclass(frozen=True)
class Turn:
    """The wire messages, parameters and tools of one call, and the prompt's name and version for usage."""

    messages: list[dict[str, Any]]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None
    version: str | None = None
    tools: tuple[Tool, ...] = ()
    tool_choice: str | None = None

    def request(self, module: str | None) -> CompletionRequest:
        return CompletionRequest(self.messages, self.parameters, module, self.name, self.tools, self.tool_choice)


def prompt_turn(prompt: Prompt, variables: Mapping[str, Any]) -> Turn:
    """A one-shot prompt: its system text and template, rendered."""
    return Turn(list(render_messages(prompt, variables)), dict(prompt.parameters), prompt.name, prompt.version)


def chat_turn(
    history: object, prompt: Prompt | None, variables: Mapping[str, Any], tools: object = (), tool_choice: object = None
) -> Turn:
    """A conversation (see ``conversation_messages``) with the tools the model may call. Raises
    ``LLMBadRequestError`` before any request."""
    messages = [message.to_wire() for message in conversation_messages(history, prompt, variables)]
    declared = check_tools(tools)
    choice = check_tool_choice(tool_choice, declared)
    for position, message in enumerate(messages, start=1):
        check_unicode(message["content"], f"Message {position} of the conversation")
    if prompt is None:
        return Turn(messages, {}, None, None, declared, choice)
    return Turn(messages, dict(prompt.parameters), prompt.name, prompt.version, declared, choice)


def conversation_messages(history: object, prompt: Prompt | None, variables: Mapping[str, Any]) -> tuple[Message, ...]:
    """``prompt``'s system text first, then the history, then ``prompt``'s template rendered as the new user
    message (none when the template is ``""``)."""
    if prompt is not None and not isinstance(prompt, Prompt):
        raise LLMBadRequestError(f"The new turn's prompt must be a Prompt or None, not {type(prompt).__name__}")
    messages = check_history(history, may_be_empty=prompt is not None and bool(prompt.template))
    if prompt is None:
        return messages
    system = (Message.system(render(prompt.system, variables, "system prompt")),) if prompt.system else ()
    user = (Message.user(render(prompt.template, variables, "template")),) if prompt.template else ()
    return system + messages + user
