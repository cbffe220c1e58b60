"""``RABBITMQ_URL`` is read as pika will read it: a bad query parameter is a ``ConfigurationError`` at start-up.

The rules are checked against pika itself: every URL the parser accepts, ``pika.URLParameters``
takes; every URL pika refuses, the parser refuses too (and names why, without the password).
"""

from __future__ import annotations

import itertools

import pika
import pytest

from modules.infrastructure.domain.config.amqp_url import QUERY_PARAMETERS, amqp_url
from modules.infrastructure.domain.config.configuration import Configuration
from modules.infrastructure.domain.config.parsers import InvalidValue
from modules.infrastructure.domain.errors import ConfigurationError

BASE = "amqp://app:s3cret-pw@mq.internal:5672/%2F"
VALUES = ["abc", "-1", "0", "1", "30", "1_0", "１", "nan", "inf", "2.5", "4096", "70000", "None", "{}", "[1]", "{'a': 1}", "en_US"]


def accepted_by_pika(url: str) -> bool:
    try:
        pika.URLParameters(url)
    except Exception:
        return False
    return True


def accepted_by_us(url: str) -> bool:
    try:
        amqp_url(url)
    except InvalidValue:
        return False
    return True


CASES = [f"{BASE}?{name}={value}" for name, value in itertools.product(QUERY_PARAMETERS, VALUES)]
CASES += [f"{BASE}?heartbeat=1&heartbeat=2", f"{BASE}?bogus=1", "amqp://app@mq.internal/", "amqps://h/?ssl_options=None"]


@pytest.mark.parametrize("url", CASES)
def test_what_the_parser_accepts_pika_accepts_and_what_pika_refuses_the_parser_refuses(url: str) -> None:
    ours, theirs = accepted_by_us(url), accepted_by_pika(url)
    assert not ours or theirs, "accepted here, refused by pika"
    assert ours or not theirs or _stricter_on_purpose(url), "refused here, taken by pika"


def _stricter_on_purpose(url: str) -> bool:
    """Values pika takes that no connection can use: 1_0 and other digits, nan/inf, negative delays, heartbeat past 16 bits."""
    value = url.rsplit("=", 1)[1]
    return value in {"1_0", "１", "nan", "inf", "70000", "-1"}


def test_every_parameter_pika_reads_is_known() -> None:
    setters = {name.removeprefix("_set_url_") for name in dir(pika.URLParameters) if name.startswith("_set_url_")}
    assert set(QUERY_PARAMETERS) == setters


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("heartbeat=abc", "has a query parameter heartbeat that is not a whole number"),
        ("heartbeat=70000", "has a query parameter heartbeat that is above the maximum 65535"),
        ("frame_max=100", "has a query parameter frame_max that is below the minimum 4096"),
        ("socket_timeout=0", "has a query parameter socket_timeout that must be greater than 0"),
        ("client_properties=abc", "has a query parameter client_properties that is not a Python literal"),
        ("tcp_options=[1]", "has a query parameter tcp_options that is a list"),
        ("ssl_options={}", "has a query parameter ssl_options that names no CA certificates"),
        ("bogus=1", "has an unknown query parameter 'bogus'"),
        ("heartbeat=1&heartbeat=2", "gives the query parameter 'heartbeat' 2 times"),
    ],
)
def test_a_bad_query_parameter_is_named_with_what_it_should_be(query: str, problem: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        amqp_url(f"{BASE}?{query}")
    assert caught.value.problem == problem
    assert "s3cret-pw" not in str(caught.value)


@pytest.mark.parametrize("url", [BASE, f"{BASE}?heartbeat=30&locale=de_DE", "amqps://mq/?ssl_options={'cafile': '/ca.pem'}", "amqp://mq", "amqp://:pw@mq/"])
def test_good_urls_are_returned_as_given(url: str) -> None:
    assert amqp_url(f"  {url} ") == url


def test_a_user_without_a_password_is_refused_as_pika_cannot_read_it() -> None:
    with pytest.raises(InvalidValue, match="has a user name but no password"):
        amqp_url("amqp://app@mq/")


@pytest.mark.parametrize("query", ["heartbeat=abc", "bogus=1", "ssl_options=oops"])
def test_rabbitmq_url_with_a_bad_query_is_a_configuration_error_naming_it_without_the_password(query: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Configuration({"RABBITMQ_URL": f"{BASE}?{query}"}).load_from_environment()
    [problem] = caught.value.problems
    assert problem.startswith("RABBITMQ_URL='amqp://app:****@mq.internal:5672/%2F?")
    assert "s3cret-pw" not in str(caught.value)


def test_a_bad_node_among_several_is_named_by_its_place() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Configuration({"RABBITMQ_URL": f"{BASE},{BASE}?heartbeat=abc"}).load_from_environment()
    assert "has an item 2 of 2 that has a query parameter heartbeat that is not a whole number" in caught.value.problems[0]
