"""Event patterns mean what RabbitMQ's topic bindings mean: ``*`` one word, ``#`` zero or more."""

from __future__ import annotations

import pytest

from modules.infrastructure.domain.messaging.event_patterns import EventPattern, pattern_problem
from modules.infrastructure.module_api import MessagingError

CASES = [
    ("content.created", "content.created", True),
    ("content.created", "content.updated", False),
    ("content.*", "content.created", True),
    ("content.*", "content.question.created", False),
    ("content.*", "content", False),
    ("content.#", "content", True),
    ("content.#", "content.created", True),
    ("content.#", "content.question.created", True),
    ("content.#", "contents.created", False),
    ("#", "anything.at.all", True),
    ("#", "one", True),
    ("*", "one", True),
    ("*", "one.two", False),
    ("#.created", "created", True),
    ("#.created", "content.question.created", True),
    ("#.created", "content.createdx", False),
    ("*.question.*", "content.question.created", True),
    ("*.question.*", "question.created", False),
    ("a.#.z", "a.z", True),
    ("a.#.z", "a.b.c.z", True),
    ("a.#.z", "a.b.c", False),
    ("a.*.#", "a", False),
    ("a.*.#", "a.b", True),
    ("a.*.#", "a.b.c.d", True),
    ("#.a.#", "a", True),
    ("#.a.#", "x.a.y.z", True),
    ("lesson-1.done_ok", "lesson-1.done_ok", True),
    # Event types publish_event accepts that are not dotted words: empty words and spaces are words to RabbitMQ too.
    ("a.*.b", "a..b", True),
    ("a.#.b", "a..b", True),
    ("*.b", ".b", True),
    ("a.*", "a.", True),
    ("*", "a b", True),
    ("a.*.c", "a..b", False),
    ("#.x.#", ".".join(["w"] * 120), False),
]


@pytest.mark.parametrize(("pattern", "event_type", "expected"), CASES, ids=[f"{p} ~ {t}" for p, t, _ in CASES])
def test_a_pattern_matches_as_a_topic_binding_does(pattern: str, event_type: str, expected: bool) -> None:
    assert EventPattern(pattern).matches(event_type) is expected


def test_a_pattern_without_a_wildcard_is_exact() -> None:
    assert EventPattern("content.created").is_exact and not EventPattern("content.*").is_exact


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("", "empty"),
        ("content..created", "word 2 is empty"),
        (".content", "word 1 is empty"),
        ("content.", "word 2 is empty"),
        ("content.cr*ated", "word 2"),
        ("content.**", "word 2"),
        ("#.#", "write '#' once"),
        ("a.#.#.b", "write '#' once"),
        ("#.a.#.b.#", "more than 2 '#' words"),
        ("content/created", "word 1"),
        ("content.created\n", "word 2"),
        ("contént.created", "word 1"),
        ("a" * 256, "longer than 255 bytes"),
        (None, "not NoneType"),
        (7, "not int"),
    ],
)
def test_a_malformed_pattern_is_a_messaging_error_naming_it(pattern: object, reason: str) -> None:
    assert reason in (pattern_problem(pattern) or "")
    with pytest.raises(MessagingError, match="is not valid"):
        EventPattern(pattern)  # type: ignore[arg-type]
