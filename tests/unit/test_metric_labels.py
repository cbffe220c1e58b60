"""Metric label values stay name-like and bounded, whatever a caller passes."""

from __future__ import annotations

from modules.infrastructure.infrastructure.metrics.labels import LabelGuard


def test_name_like_values_pass_and_empty_ones_are_unknown() -> None:
    guard = LabelGuard()
    assert [guard(v) for v in ("lessons", "gpt-4o-mini", "replica-1", None, "")] == ["lessons", "gpt-4o-mini", "replica-1", "unknown", "unknown"]


def test_text_and_overlong_values_are_invalid() -> None:
    guard = LabelGuard()
    assert guard("Summarise this memo") == "invalid"
    assert guard("a" * 65) == "invalid"
    assert guard('x"} 1\nfake_metric') == "invalid"


def test_past_the_limit_new_values_are_other_and_known_ones_stay() -> None:
    guard = LabelGuard(limit=2)
    assert [guard("a"), guard("b"), guard("c"), guard("a")] == ["a", "b", "other", "a"]
