"""Event-type patterns a listener subscribes with, in RabbitMQ's topic syntax, so one pattern means the same in process and on the broker.

An event type is words joined by dots (``content.question.created``). In a pattern, ``*`` stands for
exactly one word and ``#`` for zero or more words: ``content.*`` matches ``content.created`` but
not ``content.question.created``; ``content.#`` matches both, and ``content`` itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from modules.infrastructure.domain.errors import MessagingError

MAX_PATTERN_BYTES = 255  # a binding key is an AMQP short string
_WORD = re.compile(r"[A-Za-z0-9_\-]+")
_WILDCARDS = ("*", "#")


@dataclass(frozen=True)
class EventPattern:
    """A checked pattern; ``matches(event_type)`` says whether an event of that type goes to its listener."""

    text: str

    def __post_init__(self) -> None:
        problem = pattern_problem(self.text)
        if problem:
            raise MessagingError(f"Event pattern {self.text!r} is not valid: {problem}")

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        return re.compile(_regex_source(self.text.split(".")))

    def matches(self, event_type: str) -> bool:
        return self._regex.fullmatch(event_type) is not None

    @property
    def is_exact(self) -> bool:
        """No wildcard: the pattern is one event type."""
        return not any(word in _WILDCARDS for word in self.text.split("."))


def pattern_problem(text: object) -> str | None:
    """Why ``text`` is not a pattern (words of letters, digits, ``_`` or ``-``, or ``*`` / ``#``, joined by dots), else None."""
    if not isinstance(text, str):
        return f"a pattern is text such as 'content.*', not {type(text).__name__}"
    if not text:
        return "it is empty"
    if len(text.encode("utf-8", "replace")) > MAX_PATTERN_BYTES:
        return f"it is longer than {MAX_PATTERN_BYTES} bytes"
    for position, word in enumerate(text.split("."), start=1):
        if word in _WILDCARDS:
            continue
        if not word:
            return f"word {position} is empty (two dots in a row, or a dot at an end)"
        if not _WORD.fullmatch(word):
            return f"word {position} ({word[:40]!r}) may hold only letters, digits, '_' and '-', or be '*' or '#' alone"
    return None


def _regex_source(words: list[str]) -> str:
    """The regular expression of a topic pattern's words; ``#`` may also swallow the dot next to it."""
    if not words:
        return ""
    head, rest = words[0], words[1:]
    if head == "#":
        if not rest:
            return r"(?:[^.]+(?:\.[^.]+)*)?"
        return r"(?:[^.]+\.)*" + _regex_source(rest)
    word = r"[^.]+" if head == "*" else re.escape(head)
    if not rest:
        return word
    if rest == ["#"]:
        return word + r"(?:\.[^.]+)*"
    return word + r"\." + _regex_source(rest)
