"""Listeners: checked at registration, identified by module and name, retried with a bounded, jittered backoff."""

from __future__ import annotations

import math

import pytest

from modules.infrastructure.domain.messaging.listeners import ListenerRegistry, ListenerRetry, new_listener
from modules.infrastructure.module_api import Envelope, MessagingError


def on_question(event: Envelope) -> None:
    pass


def test_the_name_defaults_to_the_handler_s_qualified_name() -> None:
    listener = new_listener("content.*", on_question, module="analytics")
    assert listener.identity == "analytics.on_question"
    assert new_listener("content.*", on_question, module="analytics", name="questions").identity == "analytics.questions"


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ({"module": ""}, "module must be your module's name"),
        ({"module": "a.b"}, "module must be your module's name"),
        ({"module": 7}, "module must be your module's name"),
        ({"handler": "print"}, "handler must be a function"),
        ({"handler": None}, "handler must be a function"),
        ({"name": "has space"}, "is not valid"),
        ({"name": ""}, "is not valid"),
        ({"name": 3}, "is not valid"),
        ({"pattern": "content..x"}, "word 2 is empty"),
        ({"pattern": None}, "not NoneType"),
        ({"retry": {"attempts": 3}}, "must be a ListenerRetry"),
    ],
)
def test_a_listener_that_cannot_work_is_refused_at_registration(arguments: dict[str, object], reason: str) -> None:
    given: dict[str, object] = {"pattern": "content.*", "handler": on_question, "module": "analytics"} | arguments
    with pytest.raises(MessagingError, match=reason):
        new_listener(given.pop("pattern"), given.pop("handler"), **given)  # type: ignore[arg-type]


def test_a_second_listener_with_the_same_identity_is_refused_and_the_first_kept() -> None:
    registry = ListenerRegistry()
    first = new_listener("content.*", on_question, module="analytics")
    registry.register(first)
    with pytest.raises(MessagingError, match="'analytics.on_question' is already registered"):
        registry.register(new_listener("billing.#", on_question, module="analytics"))
    registry.register(new_listener("billing.#", on_question, module="billing"))
    assert [listener.identity for listener in registry.all()] == ["analytics.on_question", "billing.on_question"]
    assert registry.matching("content.created") == [first]
    assert registry.matching("billing.invoice.paid")[0].module == "billing"
    assert registry.matching("other.event") == []


def test_the_retry_waits_grow_by_the_factor_up_to_the_cap_with_jitter_between_half_and_all() -> None:
    retry = ListenerRetry(base_seconds=2, factor=3, cap_seconds=30, attempts=6)
    assert [retry.delay(n, rand=lambda: 1.0) for n in range(1, 6)] == [2, 6, 18, 30, 30]
    assert [retry.delay(n, rand=lambda: 0.0) for n in range(1, 4)] == [1, 3, 9]
    assert ListenerRetry(cap_seconds=60).delay(10_000) <= 60


@pytest.mark.parametrize(
    "settings",
    [
        {"base_seconds": 0},
        {"base_seconds": math.nan},
        {"factor": 0.5},
        {"factor": "2"},
        {"cap_seconds": math.inf},
        {"attempts": 0},
        {"attempts": 2.5},
        {"attempts": True},
        {"attempts": 101},
    ],
)
def test_a_retry_policy_out_of_bounds_is_a_messaging_error_naming_the_field(settings: dict[str, object]) -> None:
    [field] = settings
    with pytest.raises(MessagingError, match=f"ListenerRetry.{field} must be"):
        ListenerRetry(**settings)  # type: ignore[arg-type]
