"""What a sibling module may declare as a metric, and which label values are kept."""

from __future__ import annotations

import math

import pytest

from modules.infrastructure.domain.errors import InvalidArgumentError
from modules.infrastructure.domain.metrics.declarations import MetricDeclaration, declaration
from modules.infrastructure.domain.metrics.label_values import looks_like_an_id_or_secret


def test_a_declaration_keeps_its_kind_name_help_labels_and_buckets() -> None:
    declared = declaration("histogram", "render_seconds", " Time to render ", ("format",), (0.1, 1, 10))
    assert declared == MetricDeclaration("histogram", "render_seconds", "Time to render", ("format",), (0.1, 1.0, 10.0))
    assert declaration("counter", "sent", "Sent", "channel").labels == ("channel",)


@pytest.mark.parametrize("name", ["", "Sent", "1sent", "sent-count", "sent_total", "build_info", "x" * 101, None, 5])
def test_a_name_prometheus_would_refuse_or_alter_is_refused(name: object) -> None:
    with pytest.raises(InvalidArgumentError, match="lower-case letters"):
        declaration("counter", name, "help")


def test_a_name_of_the_infrastructure_s_own_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="collide with the infrastructure's own"):
        declaration("counter", "infrastructure_llm_calls", "help")


@pytest.mark.parametrize("documentation", ["", "   ", None, "x" * 301])
def test_a_metric_needs_a_description(documentation: object) -> None:
    with pytest.raises(InvalidArgumentError, match="description"):
        declaration("gauge", "queue_depth", documentation)


@pytest.mark.parametrize("labels", [("module",), ("le",), ("Channel",), ("a", "a"), tuple("abcdefghi"), (1,), 5])
def test_labels_that_clash_repeat_or_are_not_names_are_refused(labels: object) -> None:
    with pytest.raises(InvalidArgumentError, match="label"):
        declaration("counter", "sent", "Sent", labels)


@pytest.mark.parametrize("buckets", [(), (1, 0.5), (1, 1), (math.inf,), (math.nan,), ("1",), (True,), tuple(range(41)), "1,2"])
def test_histogram_buckets_are_finite_and_increasing(buckets: object) -> None:
    with pytest.raises(InvalidArgumentError, match="buckets"):
        declaration("histogram", "render_seconds", "Time", (), buckets)


def test_only_a_histogram_takes_buckets() -> None:
    with pytest.raises(InvalidArgumentError, match="only a histogram"):
        declaration("counter", "sent", "Sent", (), (1, 2))


@pytest.mark.parametrize("value", ["user_1234567", "3f2a9c1e-1111-4222-8333-444455556666", "deadbeefdeadbeef00", "sk_live_AbCdEfGh12345678XyZ"])
def test_ids_and_secret_like_tokens_are_recognised(value: str) -> None:
    assert looks_like_an_id_or_secret(value)


@pytest.mark.parametrize("value", ["email", "pro_plan", "v1.2.3", "2024", "eu-west-1", "IntegrationServerError", "GET"])
def test_ordinary_label_values_are_kept(value: str) -> None:
    assert not looks_like_an_id_or_secret(value)
