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
MAX_HASHES = 2  # five took RabbitMQ 0.65 s to route a 30-word event type, eight never finished on 61 words
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
    def _words(self) -> tuple[str, ...]:
        return tuple(self.text.split("."))

    def matches(self, event_type: str) -> bool:
        if self.is_exact:
            return event_type == self.text
        return _matches(self._words, event_type.split("."))

    @cached_property
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
    words = text.split(".")
    if any(a == b == "#" for a, b in zip(words, words[1:])):
        return "'#.#' means what '#' means: write '#' once"
    if words.count("#") > MAX_HASHES:
        return f"it has more than {MAX_HASHES} '#' words (RabbitMQ's routing time grows as the event type's length to their power)"
    for position, word in enumerate(words, start=1):
        if word in _WILDCARDS:
            continue
        if not word:
            return f"word {position} is empty (two dots in a row, or a dot at an end)"
        if not _WORD.fullmatch(word):
            return f"word {position} ({word[:40]!r}) may hold only letters, digits, '_' and '-', or be '*' or '#' alone"
    return None


def _matches(pattern: tuple[str, ...], words: list[str]) -> bool:
    """Whether the words of an event type match the pattern's, as RabbitMQ's topic exchange decides.

    One pass per pattern word over the event's words (time proportional to their product), where a
    regular expression could backtrack exponentially on patterns such as ``#.#.#.#.x``.
    """
    # reached[j]: the pattern words so far can match the first j words of the event type.
    reached = [True] + [False] * len(words)
    for word in pattern:
        if word == "#":
            seen = False
            for j in range(len(words) + 1):
                seen = seen or reached[j]
                reached[j] = seen
        else:
            for j in range(len(words), 0, -1):
                reached[j] = reached[j - 1] and (word == "*" or word == words[j - 1])
            reached[0] = False
    return reached[len(words)]
