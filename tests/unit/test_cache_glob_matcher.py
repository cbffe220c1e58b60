"""The glob matcher on patterns that make a backtracking regular expression take exponential time: answered at once."""

from __future__ import annotations

import pytest

from modules.infrastructure.domain.cache.glob import compile_glob


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("a*" * 30 + "b", "a" * 200, False),  # a regex would try every way to split 200 a's over 30 stars
        ("a*" * 30 + "b", "a" * 200 + "b", True),
        ("*" * 50 + "x" + "*?" * 20, "y" * 500 + "x" + "z" * 20, True),
        ("[a-c]*[a-c]*[a-c]*d", "abc" * 300, False),
    ],
)
def test_pathological_patterns_are_answered_without_backtracking(pattern: str, key: str, matches: bool) -> None:
    assert compile_glob(pattern).fullmatch(key.encode()) is matches
