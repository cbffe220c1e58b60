"""``@InfrastructureService.cached``: keys from templates or plain arguments, and the bad uses refused where they happen."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from modules.infrastructure.module_api import CacheError, InfrastructureService, InvalidArgumentError
from modules.infrastructure.module_api.testing import fake_infrastructure

S = InfrastructureService


@pytest.fixture(autouse=True)
def stack() -> Iterator[None]:
    with fake_infrastructure():
        yield


@dataclass(frozen=True)
class User:
    id: int


def test_a_template_key_computes_once_per_argument_value() -> None:
    calls: list[int] = []

    @S.cached("lessons", ttl=60, key="lesson:{lesson_id}")
    def lesson(lesson_id: int) -> dict[str, Any]:
        calls.append(lesson_id)
        return {"id": lesson_id}

    assert [lesson(1), lesson(1), lesson(lesson_id=2), lesson(2)] == [{"id": 1}, {"id": 1}, {"id": 2}, {"id": 2}]
    assert calls == [1, 2]
    assert lesson.cache_key(1) == "lesson:1"
    assert S.get_cache("lessons").get_json("lesson:1") == {"id": 1}
    assert lesson.__name__ == "lesson" and lesson.invalidate(1) is True and lesson.invalidate(1) is False
    lesson(1)
    assert calls == [1, 2, 1]


def test_a_template_reads_attributes_of_an_argument() -> None:
    @S.cached("profiles", key="user:{user.id}:{day}")
    def profile(user: User, day: date) -> str:
        return f"{user.id} on {day}"

    assert profile(User(7), date(2026, 12, 4)) == "7 on 2026-12-04"
    assert profile.cache_key(User(7), date(2026, 12, 4)) == "user:7:2026-12-04"


def test_without_a_template_plain_arguments_and_defaults_make_the_key() -> None:
    calls: list[tuple[Any, ...]] = []

    @S.cached("search", ttl=30)
    def search(query: str, tags: tuple[str, ...] = (), page: int = 1) -> list[str]:
        calls.append((query, tags, page))
        return [query]

    search("joins", ("sql",))
    search("joins", tags=("sql",), page=1)  # the same call, written otherwise: the same key
    search("joins", ("sql",), 2)
    assert len(calls) == 2
    assert search.cache_key("joins", ("sql",)) == search.cache_key(query="joins", tags=("sql",))
    assert search.cache_key("joins").startswith(f"{__name__}.test_without_a_template_plain_arguments_and_defaults_make_the_key.<locals>.search:")
    assert search.cache_key("1") != search.cache_key(1)  # type: ignore[arg-type]


def test_a_method_needs_a_template_naming_its_instance() -> None:
    with pytest.raises(InvalidArgumentError, match="takes self: its results may differ between instances"):

        class Shared:
            @S.cached("catalogue", ttl=30)
            def price(self, sku: str) -> float:
                return 9.5

    class Catalogue:
        def __init__(self, tenant: str) -> None:
            self.tenant, self.calls = tenant, 0

        @S.cached("catalogue", ttl=30, key="price:{self.tenant}:{sku}")
        def price(self, sku: str) -> str:
            self.calls += 1
            return f"{self.tenant} {sku}"

    acme, other = Catalogue("acme"), Catalogue("other")
    assert [acme.price("a"), other.price("a"), acme.price("a")] == ["acme a", "other a", "acme a"]
    assert (acme.calls, other.calls) == (1, 1)


def test_keyword_arguments_in_any_order_make_one_key() -> None:
    @S.cached("search")
    def search(query: str, **options: str) -> list[str]:
        return [query, *sorted(options)]

    assert search.cache_key("q", a="1", b="2") == search.cache_key("q", b="2", a="1") != search.cache_key("q", a="2", b="1")
    assert search("q") == ["q"] and search("q", a="x") == ["q", "a"]


def test_a_huge_integer_argument_makes_a_key() -> None:
    @S.cached("numbers")
    def square(n: int) -> str:
        return "big"

    assert square(10**5000) == "big"


@pytest.mark.parametrize(
    ("template", "argument", "problem"),
    [("n:{n:d}", "text", "ValueError"), ("n:{n.missing}", 5, "AttributeError"), ("n:{n[3]}", (1,), "IndexError")],
)
def test_a_template_the_arguments_cannot_fill_is_an_invalid_argument_error(template: str, argument: Any, problem: str) -> None:
    @S.cached("numbers", key=template)
    def of(n: Any) -> int:
        return 1

    with pytest.raises(InvalidArgumentError, match=f"which these arguments cannot fill: {problem}"):
        of(argument)


def test_a_template_reading_an_attribute_does_not_need_the_whole_argument_hashable() -> None:
    @dataclass
    class Mutable:  # not frozen: unhashable
        id: int

    @S.cached("profiles", key="user:{user.id}")
    def profile(user: Mutable) -> int:
        return user.id

    assert profile(Mutable(4)) == 4


def test_static_and_class_methods_are_decorated_from_below() -> None:
    with pytest.raises(InvalidArgumentError, match="put @cached below @staticmethod"):
        S.cached("catalogue")(staticmethod(lambda sku: 1))  # type: ignore[arg-type]

    class Catalogue:
        @staticmethod
        @S.cached("catalogue", ttl=30)
        def price(sku: str) -> float:
            return 9.5

    assert Catalogue.price("a") == 9.5 == Catalogue().price("a")


def test_only_plain_functions_are_decorated() -> None:
    import functools

    def price(currency: str, item: str) -> str:
        return f"{item} in {currency}"

    class Repo:
        def __init__(self, tenant: str) -> None:
            self.tenant = tenant

        def get(self, key: str) -> str:
            return f"{self.tenant}:{key}"

        def __call__(self, key: str) -> str:
            return key

    for stateful in (functools.partial(price, "EUR"), Repo("a").get, Repo("a")):  # state the key could not see
        with pytest.raises(InvalidArgumentError, match="decorates a function \\(def\\)"):
            S.cached("catalogue")(stateful)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="a lambda has no name of its own"):
        S.cached("catalogue")(lambda item: item)
    assert S.cached("catalogue", key="item:{item}")(lambda item: item.upper())("book") == "BOOK"


def test_a_result_nested_deeper_than_json_goes_is_a_cache_error() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]

    @S.cached("deep")
    def nested() -> list[Any]:
        return deep

    with pytest.raises(CacheError, match="as JSON"):
        nested()


def test_errors_are_raised_and_not_cached() -> None:
    attempts: list[int] = []

    @S.cached("lessons", key="lesson:{lesson_id}")
    def lesson(lesson_id: int) -> int:
        attempts.append(lesson_id)
        if len(attempts) == 1:
            raise LookupError("not yet")
        return lesson_id

    with pytest.raises(LookupError):
        lesson(1)
    assert lesson(1) == 1 and len(attempts) == 2


@pytest.mark.parametrize("argument", [[1], {"a": 1}, {1, 2}])
def test_an_unhashable_argument_is_refused_when_called(argument: Any) -> None:
    @S.cached("lessons")
    def lesson(value: Any) -> int:
        return 1

    with pytest.raises(InvalidArgumentError, match="arguments must be hashable; 'value' is a"):
        lesson(argument)

    @S.cached("lessons", key="lesson:{value}")
    def templated(value: Any) -> int:
        return 1

    with pytest.raises(InvalidArgumentError, match="'value' is a"):
        templated(argument)


def test_an_object_without_a_stable_text_needs_a_template() -> None:
    @S.cached("profiles")
    def profile(user: User) -> int:
        return user.id

    with pytest.raises(InvalidArgumentError, match="give @cached a key such as '\\{user.id\\}'"):
        profile(User(1))


def test_a_result_json_cannot_hold_is_a_cache_error() -> None:
    @S.cached("lessons")
    def odd() -> object:
        return object()

    with pytest.raises(CacheError, match="as JSON"):
        odd()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"key": "lesson:{missing}"}, "names 'missing', which .*lesson does not take; its arguments: lesson_id"),
        ({"key": "lesson:{}"}, "a field without a name"),
        ({"key": "lesson:{0}"}, "a field without a name"),
        ({"key": "lesson:{lesson_id"}, "is not a template"),
        ({"key": ""}, "is a template such as"),
        ({"key": 5}, "is a template such as"),
        ({"lock_wait": 0}, "lock_wait must be a number of seconds above 0"),
        ({"lock_ttl": -1}, "lock_ttl must be"),
        ({"ttl": "60"}, "ttl must be a positive number"),
        ({"ttl": 5, "refresh_ahead": 6}, "must be shorter than ttl"),
    ],
)
def test_bad_options_are_refused_where_the_decorator_is_applied(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):

        @S.cached("lessons", **arguments)
        def lesson(lesson_id: int) -> int:
            return lesson_id


@pytest.mark.parametrize("namespace", ["llm", "", "a:b", 5, None])
def test_a_namespace_that_is_not_a_module_s_is_refused(namespace: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="namespace"):
        S.cached(namespace)


def test_an_async_function_or_a_template_on_varargs_is_refused() -> None:
    async def fetch(lesson_id: int) -> int:
        return lesson_id

    with pytest.raises(InvalidArgumentError, match="it is async"):
        S.cached("lessons")(fetch)

    def many(*ids: int) -> int:
        return 0

    with pytest.raises(InvalidArgumentError, match="names \\*ids"):
        S.cached("lessons", key="l:{ids}")(many)


def test_keys_of_two_functions_do_not_collide_without_templates() -> None:
    @S.cached("shared")
    def first(x: int) -> str:
        return "first"

    @S.cached("shared")
    def second(x: int) -> str:
        return "second"

    assert (first(1), second(1)) == ("first", "second")


def test_uuid_and_date_arguments_make_stable_keys() -> None:
    @S.cached("ids")
    def of(value: object) -> str:
        return str(value)

    token = uuid.UUID(int=5)
    assert of.cache_key(token) == of.cache_key(uuid.UUID(int=5)) != of.cache_key(str(token))
