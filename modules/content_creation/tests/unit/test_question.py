"""content_creation's check of a model's reply: strict on shape, light normalisation, nothing invented."""

from __future__ import annotations

import pytest

from modules.content_creation.domain.question import InvalidQuestion, MultipleChoiceQuestion, parse_question


def reply(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {"question": "Which planet is largest?", "options": ["Jupiter", "Mars", "Venus"], "answer": 0}
    data.update(changes)
    return data


def test_a_well_formed_reply_is_taken_as_it_is() -> None:
    assert parse_question(reply()) == MultipleChoiceQuestion("Which planet is largest?", ("Jupiter", "Mars", "Venus"), 0)


def test_the_answer_may_be_the_option_itself() -> None:
    question = parse_question(reply(answer=" mars "))
    assert (question.answer_index, question.answer) == (1, "Mars")


def test_whitespace_numbering_empty_and_repeated_options_are_dropped_keeping_the_correct_one() -> None:
    question = parse_question(reply(options=[" 1. Venus", "", "b) Jupiter", "venus", "Jupiter "], answer=3))
    assert question.options == ("Venus", "Jupiter")
    assert question.answer == "Venus"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (["not", "an", "object"], "expected a JSON object"),
        (reply(question="  "), "question must be non-empty text"),
        (reply(question="Jupiter"), "ending with '?'"),
        (reply(question="W" * 300 + "?"), "at most 300"),
        (reply(options="Jupiter, Mars"), "options must be a list of strings"),
        (reply(options=["Jupiter", 2]), "options must be a list of strings"),
        (reply(options=["Jupiter", "jupiter "]), "needs 2 to 6 different options, got 1"),
        (reply(options=[f"planet {n}" for n in range(7)]), "got 7"),
        (reply(options=["Jupiter", "M" * 121]), "at most 120"),
        (reply(answer=3), "answer 3 is not an index of the 3 options"),
        (reply(answer=-1), "not an index"),
        (reply(answer=True), "answer must be the index"),
        (reply(answer="Pluto"), "answer must be the index"),
        (reply(options=["", "Mars", "Venus"]), "the option marked correct is empty"),
    ],
)
def test_a_reply_of_the_wrong_shape_says_what_is_wrong(data: object, problem: str) -> None:
    with pytest.raises(InvalidQuestion, match=problem.replace("?", r"\?").replace("(", r"\(")):
        parse_question(data)
