"""``InfrastructureService.get_metrics(module)``: a sibling's own metrics in the same scrape, labelled with its name."""

from __future__ import annotations

import math

import pytest

from modules.infrastructure.module_api import InfrastructureService, InvalidArgumentError
from modules.infrastructure.module_api.testing import fake_infrastructure


def series(prefix: str) -> list[str]:
    return [line for line in InfrastructureService.metrics_text().splitlines() if line.startswith(prefix)]


def test_a_sibling_s_counter_gauge_and_histogram_are_in_the_scrape_with_its_module_label() -> None:
    with fake_infrastructure():
        billing = InfrastructureService.get_metrics("billing")
        billing.counter("invoices_sent", "Invoices sent", labels=("channel",)).inc(channel="email")
        billing.gauge("open_invoices", "Invoices not paid yet").set(7)
        billing.histogram("render_seconds", "Time to render an invoice", buckets=(0.1, 1)).observe(0.5)
        assert series("invoices_sent_total") == ['invoices_sent_total{channel="email",module="billing"} 1.0']
        assert series("open_invoices") == ['open_invoices{module="billing"} 7.0']
        assert 'render_seconds_bucket{le="1.0",module="billing"} 1.0' in series("render_seconds_bucket")
        assert "# HELP invoices_sent_total Invoices sent" in InfrastructureService.metrics_text()


def test_two_modules_share_a_family_under_their_own_module_label() -> None:
    with fake_infrastructure():
        InfrastructureService.get_metrics("billing").counter("jobs_done", "Jobs done").inc()
        InfrastructureService.get_metrics("shop").counter("jobs_done", "Jobs done").inc(3)
        assert series("jobs_done_total") == ['jobs_done_total{module="billing"} 1.0', 'jobs_done_total{module="shop"} 3.0']


def test_declaring_a_metric_again_alike_is_the_same_metric_but_another_shape_is_an_error() -> None:
    with fake_infrastructure():
        metrics = InfrastructureService.get_metrics("billing")
        metrics.counter("sent", "Sent", labels=("channel",)).inc(channel="sms")
        metrics.counter("sent", "Sent", labels=("channel",)).inc(channel="sms")
        assert series("sent_total") == ['sent_total{channel="sms",module="billing"} 2.0']
        with pytest.raises(InvalidArgumentError, match="already declared as a counter"):
            metrics.gauge("sent", "Sent")
        with pytest.raises(InvalidArgumentError, match="already declared"):
            metrics.counter("sent", "Sent", labels=("region",))


def test_a_name_whose_series_would_clash_with_another_family_s_is_refused() -> None:
    with fake_infrastructure():
        metrics = InfrastructureService.get_metrics("billing")
        metrics.histogram("took", "Time taken").observe(1)
        with pytest.raises(InvalidArgumentError, match="clashes with one in the scrape"):
            metrics.gauge("took_count", "A gauge named like the histogram's count")


def test_label_values_like_ids_or_secrets_are_redacted_and_odd_ones_invalid() -> None:
    with fake_infrastructure():
        logins = InfrastructureService.get_metrics("accounts").counter("logins", "Logins", labels=("user",))
        logins.inc(user="user_1234567")
        logins.inc(user="sk_live_AbCdEfGh12345678XyZ")
        logins.inc(user="two words")
        assert series("logins_total") == ['logins_total{module="accounts",user="redacted"} 2.0', 'logins_total{module="accounts",user="invalid"} 1.0']


@pytest.mark.parametrize("call", [
    lambda m: m.counter("sent", "Sent", labels=("channel",)).inc(),
    lambda m: m.counter("sent", "Sent", labels=("channel",)).inc(channel="a", other="b"),
    lambda m: m.counter("sent", "Sent", labels=("channel",)).inc(-1, channel="a"),
    lambda m: m.counter("sent", "Sent", labels=("channel",)).inc(math.nan, channel="a"),
    lambda m: m.gauge("depth", "Depth").set("7"),
    lambda m: m.gauge("depth", "Depth").set(math.inf),
    lambda m: m.histogram("took", "Took").observe(True),
], ids=["missing label", "unknown label", "negative count", "NaN", "text", "infinity", "a bool"])
def test_a_bad_record_is_refused_and_leaves_no_series(call: object) -> None:
    with fake_infrastructure():
        metrics = InfrastructureService.get_metrics("billing")
        with pytest.raises(InvalidArgumentError):
            call(metrics)  # type: ignore[operator]
        assert series("sent_total") == [] and series("depth") == [] and series("took_count") == []


@pytest.mark.parametrize("module", ["", "Billing", "two words", "infrastructure", None, 3, "x" * 65])
def test_a_module_name_that_is_not_a_package_s_is_refused(module: object) -> None:
    with pytest.raises(InvalidArgumentError, match="get_metrics"):
        InfrastructureService.get_metrics(module)  # type: ignore[arg-type]


def test_a_metric_kept_in_a_global_records_into_the_registry_in_use_after_a_reset() -> None:
    with fake_infrastructure():
        kept = InfrastructureService.get_metrics("billing").counter("kept", "Kept across resets")
        kept.inc()
    with fake_infrastructure():
        kept.inc(5)
        assert series("kept_total") == ['kept_total{module="billing"} 5.0']


def test_labels_named_like_the_value_s_parameter_can_be_recorded() -> None:
    with fake_infrastructure():
        metrics = InfrastructureService.get_metrics("billing")
        metrics.counter("paid", "Paid invoices", labels=("amount",)).inc(2, amount="large")
        metrics.gauge("level", "A level", labels=("value",)).set(3, value="high")
        assert series("paid_total") == ['paid_total{amount="large",module="billing"} 2.0']
        assert series("level") == ['level{module="billing",value="high"} 3.0']


def test_whole_numbers_and_bools_are_label_text_and_other_values_are_refused() -> None:
    with fake_infrastructure():
        tries = InfrastructureService.get_metrics("billing").counter("retried", "Retried jobs", labels=("tries", "cached"))
        tries.inc(tries=2, cached=False)
        with pytest.raises(InvalidArgumentError, match="label tries takes text"):
            tries.inc(tries=2.5, cached=False)
        assert series("retried_total") == ['retried_total{cached="false",module="billing",tries="2"} 1.0']


def test_numbers_too_large_for_a_float_are_refused_not_raised_raw() -> None:
    with fake_infrastructure():
        metrics = InfrastructureService.get_metrics("billing")
        with pytest.raises(InvalidArgumentError, match="finite number"):
            metrics.counter("huge", "Huge").inc(10**400)
        with pytest.raises(InvalidArgumentError, match="buckets"):
            metrics.histogram("wide", "Wide", buckets=(1, 10**400))


def test_one_module_s_many_label_values_do_not_use_up_another_s_budget() -> None:
    with fake_infrastructure():
        pages = InfrastructureService.get_metrics("analytics").counter("page_views", "Page views", labels=("page",))
        for number in range(1001):
            pages.inc(page=f"page_{number}")
        InfrastructureService.get_metrics("billing").counter("invoices", "Invoices", labels=("channel",)).inc(channel="email")
        assert series("invoices_total") == ['invoices_total{channel="email",module="billing"} 1.0']
        assert 'page_views_total{module="analytics",page="other"} 1.0' in series("page_views_total")


@pytest.mark.parametrize("name", ["up", "scrape_duration_seconds", "alerts_for_state"])
def test_names_prometheus_gives_its_own_series_are_refused(name: str) -> None:
    with fake_infrastructure(), pytest.raises(InvalidArgumentError, match="Prometheus gives its own series"):
        InfrastructureService.get_metrics("billing").gauge(name, "Mine")


@pytest.mark.parametrize("labels", [{"channel": 1}, {"channel"}, iter(["channel"])], ids=["dict", "set", "iterator"])
def test_labels_are_a_tuple_or_list(labels: object) -> None:
    with fake_infrastructure(), pytest.raises(InvalidArgumentError, match="tuple or list"):
        InfrastructureService.get_metrics("billing").counter("sent", "Sent", labels=labels)  # type: ignore[arg-type]
