"""The pure half of repository queries: filter and sort parsing, page arithmetic and the cursor codec."""

from __future__ import annotations

import base64
import uuid
from datetime import date, datetime, time, timezone
from decimal import Decimal

import pytest

from modules.infrastructure.domain.database.cursor import decode_cursor, encode_cursor, query_fingerprint
from modules.infrastructure.domain.database.query import Condition, SortKey, parse_filters, parse_order_by
from modules.infrastructure.module_api import CursorPage, DatabaseQueryError, InvalidCursorError, Page

KINDS = {"id": "integer", "title": "text", "a__b": "text", "price": "number", "at": "datetime", "flag": "bool"}


def test_filters_parse_into_conditions() -> None:
    conditions = parse_filters("M", {"id": 1, "price__gte": Decimal("2.5"), "a__b": "x", "id__in": {3, 1}}, KINDS)
    assert conditions == (
        Condition("id", "eq", 1),
        Condition("price", "gte", Decimal("2.5")),
        Condition("a__b", "eq", "x"),  # a column whose name holds "__" is taken whole
        Condition("id", "in", (1, 3)),  # a set in a stable order, so the cursor fingerprint is too
    )


def test_order_by_ends_with_the_primary_key_once() -> None:
    assert parse_order_by("M", "-at", KINDS, ["id"]) == (SortKey("at", True), SortKey("id"))
    assert parse_order_by("M", ("-id", "title"), KINDS, ["id"]) == (SortKey("id", True), SortKey("title"))
    assert parse_order_by("M", None, KINDS, ["id"]) == (SortKey("id"),)


def test_an_unknown_operator_names_the_known_ones() -> None:
    with pytest.raises(DatabaseQueryError, match=r"M.id: unknown operator 'startswith'; known operators: eq, ne, in"):
        parse_filters("M", {"id__startswith": 1}, KINDS)


@pytest.mark.parametrize(
    "value",
    [datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc), datetime(2026, 1, 2), date(2026, 1, 2), time(3, 4), Decimal("1.10"),
     uuid.UUID(int=5), 2**62, -1.5, "text \x01 é", True],
)
def test_cursor_values_round_trip_with_their_type(value: object) -> None:
    kind = {datetime: "datetime", date: "date", time: "time", Decimal: "number", uuid.UUID: "uuid", int: "integer",
            float: "number", str: "text", bool: "bool"}[type(value)]
    cursor = encode_cursor([value, 7], False, "f")
    decoded = decode_cursor(cursor, [kind, "integer"], "f")
    assert decoded.values == (value, 7) and type(decoded.values[0]) is type(value) and decoded.backwards is False


@pytest.mark.parametrize(
    ("values", "kinds", "words"),
    [
        (["x"], ["datetime"], "malformed"),
        (["x"], ["integer"], "not a integer"),
        ([True], ["integer"], "not a integer"),
        ([1], ["bool"], "not a bool"),
        ([1], ["text"], "not a text"),
        (["1.x"], ["number"], "malformed"),
        ([1, 2], ["integer"], "holds 2 sort values"),
        # Values of the right type that no filter could hold: a forger can recompute the digest.
        ([2**70], ["integer"], "not one a integer column holds"),
        ([float("nan")], ["number"], "not one a number column holds"),
        ([float("inf")], ["number"], "not one a number column holds"),
        (["sNaN"], ["number"], "not one a number column holds"),
        (["Infinity"], ["number"], "not one a number column holds"),
        (["a\x00b"], ["text"], "not one a text column holds"),
        (["0001-01-01T00:30:00+01:00"], ["datetime"], "not one a datetime column holds"),
    ],
)
def test_a_cursor_with_a_valid_digest_but_wrong_values_is_refused(values: list[object], kinds: list[str], words: str) -> None:
    with pytest.raises(InvalidCursorError, match=words):
        decode_cursor(encode_cursor(values, False, "f"), kinds, "f")


def test_the_fingerprint_follows_model_sort_and_filters() -> None:
    base = query_fingerprint("M", [SortKey("id")], [Condition("id", "gt", 1)])
    assert base == query_fingerprint("M", [SortKey("id")], [Condition("id", "gt", 1)])
    assert base != query_fingerprint("N", [SortKey("id")], [Condition("id", "gt", 1)])
    assert base != query_fingerprint("M", [SortKey("id", True)], [Condition("id", "gt", 1)])
    assert base != query_fingerprint("M", [SortKey("id")], [Condition("id", "gt", 2)])
    with pytest.raises(InvalidCursorError, match="another query"):
        decode_cursor(encode_cursor([1], False, base), ["integer"], query_fingerprint("N", [SortKey("id")], []))


def test_page_arithmetic() -> None:
    page = Page(items=[1, 2], total=12, page=3, size=5)
    assert (page.offset, page.pages, page.has_next, page.has_previous) == (10, 3, False, True)
    assert Page(items=[1] * 5, total=12, page=2, size=5).has_next
    assert Page(items=[], total=0, page=1, size=5).pages == 0
    assert not CursorPage(items=[], next_cursor=None, previous_cursor=None).has_next


def test_a_cursor_nested_past_the_json_parser_s_depth_is_refused() -> None:
    deep = '{"v":' + "[" * 100_000 + "]" * 100_000 + ',"b":false,"h":"x"}'
    cursor = base64.urlsafe_b64encode(deep.encode()).decode()[:4000]  # under the length limit, still too deep
    nested = base64.urlsafe_b64encode(('{"v":' + "[" * 1000 + "]" * 1000 + ',"b":false,"h":"x"}').encode()).decode()
    for crafted in (cursor, nested):
        with pytest.raises(InvalidCursorError, match="not base64 JSON"):
            decode_cursor(crafted, ["integer"], "f")
