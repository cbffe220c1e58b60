"""A multiple-choice question, and the strict check that turns a model's JSON reply into one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MIN_OPTIONS, MAX_OPTIONS = 2, 6
MAX_TEXT, MAX_OPTION = 300, 120
# "1. Paris", "b) Rome", "(C) Oslo": a numbering the model added, not part of the option.
_NUMBERING = re.compile(r"^\(?(?:[A-Fa-f]|[1-6])[.)]\s+")


class InvalidQuestion(ValueError):
    """A reply that is not a usable question; the message says what is wrong with it."""


@dataclass(frozen=True)
class MultipleChoiceQuestion:
    """Question text, 2 to 6 different options, and the index of the correct one."""

    text: str
    options: tuple[str, ...]
    answer_index: int

    @property
    def answer(self) -> str:
        return self.options[self.answer_index]


def parse_question(data: Any) -> MultipleChoiceQuestion:
    """``{"question": str, "options": [str, ...], "answer": index or option text}`` as a question.

    Whitespace and numbering are stripped and empty or repeated options dropped (the correct one
    is kept); nothing is ever added. Raises ``InvalidQuestion`` saying what is wrong.
    """
    if not isinstance(data, dict):
        raise InvalidQuestion(f"expected a JSON object with question, options and answer, got {type(data).__name__}")
    text = _text(data.get("question"), "question", MAX_TEXT)
    if not text.endswith("?"):
        raise InvalidQuestion(f"question must be a question ending with '?', got {text!r}")
    raw = data.get("options")
    if not isinstance(raw, list) or not all(isinstance(option, str) for option in raw):
        raise InvalidQuestion("options must be a list of strings")
    correct = _clean(_correct_option(data.get("answer"), raw))
    if not correct:
        raise InvalidQuestion("the option marked correct is empty")
    options = _distinct([_clean(option) for option in raw])
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise InvalidQuestion(f"needs {MIN_OPTIONS} to {MAX_OPTIONS} different options, got {len(options)}: {options}")
    for option in options:
        _text(option, "each option", MAX_OPTION)
    return MultipleChoiceQuestion(text, tuple(options), [o.casefold() for o in options].index(correct.casefold()))


def _correct_option(answer: Any, options: list[str]) -> str:
    """The correct option's text, from an index into ``options`` or the option itself."""
    if isinstance(answer, int) and not isinstance(answer, bool):
        if 0 <= answer < len(options):
            return options[answer]
        raise InvalidQuestion(f"answer {answer} is not an index of the {len(options)} options")
    if isinstance(answer, str) and _clean(answer).casefold() in {_clean(o).casefold() for o in options}:
        return answer
    raise InvalidQuestion(f"answer must be the index of the correct option or one of the options, got {answer!r}")


def _clean(option: str) -> str:
    return _NUMBERING.sub("", option.strip()).strip()


def _distinct(options: list[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for option in options:
        if option and option.casefold() not in seen:
            seen.add(option.casefold())
            kept.append(option)
    return kept


def _text(value: Any, what: str, longest: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidQuestion(f"{what} must be non-empty text, got {value!r}")
    if len(value.strip()) > longest:
        raise InvalidQuestion(f"{what} is {len(value.strip())} characters long; at most {longest} are allowed")
    return value.strip()
