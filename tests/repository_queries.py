"""One repository-query scenario run on SQLite (tests/service) and on the real PostgreSQL (tests/integration).

``Product`` rows are built in Python too, so every filter's expected ids come from plain Python,
not from another query.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from modules.infrastructure.module_api import (
    Base,
    BaseRepository,
    CursorPage,
    DatabaseQueryError,
    InfrastructureService,
    InvalidCursorError,
    NotFoundError,
)

START = datetime(2026, 1, 1, 12, 0, 0)
TITLES = ["100% cotton", "snake_case", "back\\slash", "Plain", "SQL basics", "sql joins", "Advanced SQL", "slash/ok"]


class Product(Base):
    __tablename__ = "test_query_products"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(100))
    rating: Mapped[float] = mapped_column(Float)
    stock: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    released: Mapped[date] = mapped_column(Date)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    tags: Mapped[list[str]] = mapped_column(JSON)


class ProductRepository(BaseRepository[Product]):
    model = Product


def product_rows(count: int = 40) -> list[dict[str, Any]]:
    """Rows with repeating values, so sorts need their tie-breaker and filters match several rows."""
    return [
        {
            "id": n,
            "title": f"{TITLES[n % len(TITLES)]} {n // len(TITLES)}",
            "rating": (n * 7 % 11) / 2,
            "stock": n * 13 % 9 - 2,
            "active": n % 3 != 0,
            "created_at": START + timedelta(hours=n * 5 % 17),
            "released": date(2026, 1, 1) + timedelta(days=n % 6),
            "deleted_at": START + timedelta(days=n) if n % 4 == 0 else None,
            "tags": [f"t{n % 2}"],
        }
        for n in range(1, count + 1)
    ]


def create_products(rows: list[dict[str, Any]]) -> None:
    with InfrastructureService.get_database_session() as db:
        Base.metadata.drop_all(db.connection(), tables=[Product.__table__])
        Base.metadata.create_all(db.connection(), tables=[Product.__table__])
        db.add_all([Product(**row) for row in rows])


# filter -> the Python predicate of the rows it keeps
FILTERS: list[tuple[dict[str, Any], Callable[[dict[str, Any]], bool]]] = [
    ({"stock": 3}, lambda r: r["stock"] == 3),
    ({"stock__eq": 3}, lambda r: r["stock"] == 3),
    ({"stock__ne": 3}, lambda r: r["stock"] != 3),
    ({"id__in": [1, 5, 9, 999]}, lambda r: r["id"] in (1, 5, 9)),
    ({"id__in": []}, lambda r: False),
    ({"id__in": (2, 3)}, lambda r: r["id"] in (2, 3)),
    ({"id__in": list(range(10_000, 0, -1))}, lambda r: True),  # the most taken: within SQLite's 32,766 parameters
    ({"title__in": {"Plain 0", "Plain 1"}}, lambda r: r["title"] in ("Plain 0", "Plain 1")),
    ({"id__not_in": [1, 2, 3]}, lambda r: r["id"] not in (1, 2, 3)),
    ({"rating__lt": 2.5}, lambda r: r["rating"] < 2.5),
    ({"rating__lte": 2.5}, lambda r: r["rating"] <= 2.5),
    ({"stock__gt": 0}, lambda r: r["stock"] > 0),
    ({"stock__gte": 0}, lambda r: r["stock"] >= 0),
    ({"stock__between": (0, 3)}, lambda r: 0 <= r["stock"] <= 3),
    ({"created_at__between": [START, START + timedelta(hours=6)]}, lambda r: START <= r["created_at"] <= START + timedelta(hours=6)),
    ({"created_at__gte": START + timedelta(hours=10)}, lambda r: r["created_at"] >= START + timedelta(hours=10)),
    ({"released__lt": date(2026, 1, 3)}, lambda r: r["released"] < date(2026, 1, 3)),
    ({"title__lt": "S"}, lambda r: r["title"] < "S"),
    ({"deleted_at__isnull": True}, lambda r: r["deleted_at"] is None),
    ({"deleted_at__isnull": False}, lambda r: r["deleted_at"] is not None),
    ({"deleted_at": None}, lambda r: r["deleted_at"] is None),
    ({"deleted_at__ne": None}, lambda r: r["deleted_at"] is not None),
    ({"tags__isnull": False}, lambda r: True),
    ({"active": True}, lambda r: r["active"]),
    ({"active__ne": True}, lambda r: not r["active"]),
    ({"title__icontains": "sql"}, lambda r: "sql" in r["title"].lower()),
    ({"title__icontains": "%"}, lambda r: "%" in r["title"]),
    ({"title__icontains": "_"}, lambda r: "_" in r["title"]),
    ({"title__icontains": "\\"}, lambda r: "\\" in r["title"]),
    ({"title__icontains": "/"}, lambda r: "/" in r["title"]),
    ({"title__icontains": "e_c"}, lambda r: "e_c" in r["title"].lower()),
    ({"title__istartswith": "SQL"}, lambda r: r["title"].lower().startswith("sql")),
    ({"title__istartswith": "100%"}, lambda r: r["title"].startswith("100%")),
    ({"title__istartswith": "_"}, lambda r: r["title"].startswith("_")),
    ({"stock__gte": 0, "active": True, "title__icontains": "s"}, lambda r: r["stock"] >= 0 and r["active"] and "s" in r["title"].lower()),
]

SORTS: list[tuple[Any, Callable[[dict[str, Any]], Any]]] = [
    (None, lambda r: r["id"]),
    ("-id", lambda r: -r["id"]),
    (("-rating", "title"), lambda r: (-r["rating"], r["title"], r["id"])),
    (("stock", "-created_at"), lambda r: (r["stock"], -r["created_at"].timestamp(), r["id"])),
    (("active", "-released"), lambda r: (r["active"], -r["released"].toordinal(), r["id"])),
    (["created_at", "rating"], lambda r: (r["created_at"], r["rating"], r["id"])),
]


def ids(products: list[Product]) -> list[int]:
    return [p.id for p in products]


def check_every_filter(rows: list[dict[str, Any]], filters: dict[str, Any], keep: Callable[[dict[str, Any]], bool]) -> None:
    expected = [r["id"] for r in rows if keep(r)]
    with InfrastructureService.get_database_session(read_only=True) as db:
        repo = ProductRepository(db)
        assert ids(repo.get_all(limit=1000, **filters)) == expected, filters
        assert repo.count(**filters) == len(expected), filters
        assert repo.exists(**filters) is bool(expected), filters


def check_sorting(rows: list[dict[str, Any]], order_by: Any, key: Callable[[dict[str, Any]], Any]) -> None:
    expected = [r["id"] for r in sorted(rows, key=key)]
    with InfrastructureService.get_database_session(read_only=True) as db:
        assert ids(ProductRepository(db).get_all(limit=1000, order_by=order_by)) == expected


def check_pages(rows: list[dict[str, Any]]) -> None:
    active = [r["id"] for r in rows if r["active"]]
    with InfrastructureService.get_database_session(read_only=True) as db:
        repo = ProductRepository(db)
        seen: list[int] = []
        number = 1
        while True:
            page = repo.get_page(number, 7, active=True)
            assert page.total == len(active) and page.pages == -(-len(active) // 7) and page.page == number
            seen += ids(page.items)
            if not page.has_next:
                break
            number += 1
        assert seen == active and number == page.pages
        beyond = repo.get_page(number + 3, 7, active=True)
        assert beyond.items == [] and beyond.total == len(active) and not beyond.has_next
        empty = repo.get_page(1, 7, id__in=[])
        assert empty.total == 0 and empty.pages == 0 and not empty.has_next


def walk_cursor(repo: ProductRepository, per_page: int, order_by: Any, filters: dict[str, Any]) -> tuple[list[int], list[CursorPage[Product]]]:
    """Every row by following ``next_cursor`` from the first page."""
    pages = [repo.get_cursor_page(None, per_page, order_by=order_by, **filters)]
    while pages[-1].next_cursor is not None:
        pages.append(repo.get_cursor_page(pages[-1].next_cursor, per_page, order_by=order_by, **filters))
        assert len(pages) < 1000
    return [i for page in pages for i in ids(page.items)], pages


def check_cursor_walk(order_by: Any, filters: dict[str, Any], per_page: int) -> None:
    with InfrastructureService.get_database_session(read_only=True) as db:
        repo = ProductRepository(db)
        offset_walk = ids(repo.get_all(limit=1000, order_by=order_by, **filters))
        forward, pages = walk_cursor(repo, per_page, order_by, filters)
        assert forward == offset_walk
        assert pages[0].previous_cursor is None and all(p.previous_cursor for p in pages[1:])
        # Back from the last page with previous_cursor: the same pages, in reverse.
        back = [pages[-1]]
        while back[-1].previous_cursor is not None:
            back.append(repo.get_cursor_page(back[-1].previous_cursor, per_page, order_by=order_by, **filters))
            assert len(back) <= len(pages)
        assert [ids(p.items) for p in reversed(back)] == [ids(p.items) for p in pages]
        # Forward again from a page reached backwards.
        if len(back) > 1 and back[1].next_cursor:
            assert ids(repo.get_cursor_page(back[1].next_cursor, per_page, order_by=order_by, **filters).items) == ids(pages[-1].items)


def check_get_one() -> None:
    with InfrastructureService.get_database_session(read_only=True) as db:
        repo = ProductRepository(db)
        assert repo.get_one(id=3).id == 3
        assert repo.get_one(title="Plain 0", active=False).id == 3
        with pytest.raises(NotFoundError, match=r"no Product matches the filters on id"):
            repo.get_one(id=999)
        with pytest.raises(DatabaseQueryError, match="more than one Product"):
            repo.get_one(active=True)
        assert repo.exists(id=3) and not repo.exists(id=999)


@contextmanager
def no_statements() -> Iterator[tuple[ProductRepository, list[str]]]:
    """A repository and the list of statements its session sends while the block runs (should stay empty)."""
    with InfrastructureService.get_database_session() as db:
        sent: list[str] = []
        session: Session = db.session
        bind = session.get_bind()

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            sent.append(statement)

        event.listen(bind, "before_cursor_execute", record)
        try:
            yield ProductRepository(db), sent
        finally:
            event.remove(bind, "before_cursor_execute", record)


def tampered(cursor: str, change: Callable[[dict[str, Any]], None]) -> str:
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    change(payload)
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


# (call, words the message must hold, the error class)
BAD_CALLS: list[tuple[str, Callable[[ProductRepository], object], tuple[str, ...]]] = [
    ("unknown column", lambda r: r.get_all(colour="red"), ("no column colour",)),
    ("unknown operator", lambda r: r.get_all(stock__like=3), ("Product.stock", "unknown operator 'like'")),
    ("unknown column with operator", lambda r: r.count(colour__in=[1]), ("no column colour",)),
    ("contains on an integer", lambda r: r.get_all(stock__icontains="3"), ("Product.stock", "icontains", "integer")),
    ("startswith on a date", lambda r: r.get_all(released__istartswith="2026"), ("released", "istartswith", "date")),
    ("comparison on a bool", lambda r: r.get_all(active__gt=False), ("Product.active", "'gt'", "bool")),
    ("comparison on JSON", lambda r: r.get_all(tags__lt=["a"]), ("Product.tags", "'lt'", "json")),
    ("equality on JSON", lambda r: r.get_all(tags=["t0"]), ("Product.tags", "'eq'", "json")),
    ("text for an integer", lambda r: r.get_all(stock="3"), ("Product.stock__eq", "whole number", "str '3'")),
    ("bool for an integer", lambda r: r.count(stock__gte=True), ("Product.stock__gte", "whole number", "bool")),
    ("integer past 64 bits", lambda r: r.count(stock=2**64), ("Product.stock", "64 bits")),
    ("integer for text", lambda r: r.get_all(title=5), ("Product.title__eq", "a str", "int 5")),
    ("text for a datetime", lambda r: r.get_all(created_at__gte="2026-01-01"), ("Product.created_at__gte", "datetime", "str")),
    ("datetime for a date", lambda r: r.get_all(released=START), ("Product.released__eq", "a date (not a datetime)")),
    ("text for a float", lambda r: r.get_all(rating__lt="2"), ("Product.rating__lt", "a finite number",)),
    ("NaN for a float", lambda r: r.get_all(rating__lt=float("nan")), ("Product.rating__lt", "a finite number",)),
    ("infinity for a float", lambda r: r.get_all(rating__lt=float("inf")), ("Product.rating__lt", "a finite number",)),
    ("Decimal NaN for a float", lambda r: r.get_all(rating=Decimal("NaN")), ("Product.rating", "a finite number",)),
    ("Decimal sNaN for a float", lambda r: r.get_all(rating__in=[Decimal("sNaN")]), ("Product.rating__in", "a finite number",)),
    ("Decimal infinity for a float", lambda r: r.get_all(rating__gt=Decimal("-Infinity")), ("Product.rating__gt", "a finite number",)),
    ("order_by an int", lambda r: r.get_all(order_by=5), ("order_by takes a column name or a list",)),
    ("order_by a set", lambda r: r.get_all(order_by={"name", "id"}), ("order_by takes a column name or a list",)),
    ("order_by a double minus", lambda r: r.get_all(order_by="--rating"), ("order_by takes column names",)),
    ("include_deleted 'false'", lambda r: r.count(include_deleted="false"), ("include_deleted takes True or False",)),
    ("text for a bool", lambda r: r.get_all(active="yes"), ("Product.active__eq", "True or False")),
    ("in with a str", lambda r: r.get_all(id__in="123"), ("Product.id__in", "list, tuple or set", "str")),
    ("in with an int", lambda r: r.get_all(id__in=5), ("Product.id__in", "list, tuple or set", "int 5")),
    ("in with a wrong item", lambda r: r.get_all(id__in=[1, "2"]), ("Product.id__in", "whole number", "str '2'")),
    ("in with None", lambda r: r.get_all(id__in=[1, None]), ("Product.id__in", "None", "id__isnull")),
    ("in over the limit", lambda r: r.get_all(id__in=list(range(10_001))), ("Product.id__in", "10,001 values", "batches")),
    ("between one value", lambda r: r.get_all(stock__between=3), ("Product.stock__between", "(low, high) pair")),
    ("between three values", lambda r: r.get_all(stock__between=[1, 2, 3]), ("(low, high) pair",)),
    ("between text", lambda r: r.get_all(stock__between=["1", "2"]), ("Product.stock__between", "whole number")),
    ("isnull with text", lambda r: r.get_all(deleted_at__isnull="yes"), ("Product.deleted_at__isnull", "True or False")),
    ("comparison with None", lambda r: r.get_all(stock__gt=None), ("Product.stock__gt", "None", "stock__isnull")),
    ("contains with an int", lambda r: r.get_all(title__icontains=5), ("Product.title__icontains", "a str")),
    ("contains with NUL", lambda r: r.get_all(title__icontains="a\x00"), ("Product.title", "NUL")),
    ("sort on an unknown column", lambda r: r.get_all(order_by=("nope",)), ("no column nope",)),
    ("sort on JSON", lambda r: r.get_all(order_by="-tags"), ("Product.tags", "cannot be sorted")),
    ("sort twice", lambda r: r.get_all(order_by=("id", "-id")), ("names id twice",)),
    ("sort on a number", lambda r: r.get_all(order_by=[3]), ("order_by takes column names",)),
    ("sort on a bare minus", lambda r: r.get_all(order_by="-"), ("order_by takes column names",)),
    ("cursor page on a nullable column", lambda r: r.get_cursor_page(order_by="deleted_at"), ("Product.deleted_at", "nullable")),
    ("page 0", lambda r: r.get_page(0), ("page must be a whole number from 1",)),
    ("per_page 0", lambda r: r.get_page(1, 0), ("per_page must be a whole number from 1",)),
    ("per_page too big", lambda r: r.get_cursor_page(None, 10_001), ("per_page", "10000")),
    ("page past the limit", lambda r: r.get_page(2**62, 10_000), ("page", "past the last row")),
    ("get_one unknown column", lambda r: r.get_one(colour="red"), ("no column colour",)),
    ("exists wrong type", lambda r: r.exists(id="1"), ("Product.id__eq", "whole number")),
]


def check_bad_call(call: Callable[[ProductRepository], object], words: tuple[str, ...]) -> None:
    with no_statements() as (repo, sent):
        with pytest.raises(DatabaseQueryError) as raised:
            call(repo)
    for word in words:
        assert word in str(raised.value), (word, str(raised.value))
    assert sent == [], f"reached the database: {sent}"


def check_tampered_cursors() -> None:
    with InfrastructureService.get_database_session(read_only=True) as db:
        good = ProductRepository(db).get_cursor_page(None, 5, order_by=("-created_at",), active=True).next_cursor
    assert good is not None
    bad = {
        "not base64": "@@@not-base64@@@",
        "base64 of no JSON": base64.urlsafe_b64encode(b"\xff\xfe{").decode(),
        "JSON of a list": base64.urlsafe_b64encode(b"[1, 2]").decode(),
        "missing digest": tampered(good, lambda p: p.pop("h")),
        "edited value": tampered(good, lambda p: p["v"].__setitem__(1, p["v"][1] + 1)),
        "edited direction": tampered(good, lambda p: p.__setitem__("b", True)),
        "value of the wrong type": tampered(good, lambda p: p["v"].__setitem__(0, 5)),
        "empty": "",
        "too long": "A" * 5000,
        "truncated": good[:-6],
    }
    calls: dict[str, Callable[[ProductRepository], object]] = {
        name: (lambda c: lambda r: r.get_cursor_page(c, 5, order_by=("-created_at",), active=True))(cursor)
        for name, cursor in bad.items()
    }
    calls["another filter"] = lambda r: r.get_cursor_page(good, 5, order_by=("-created_at",), active=False)
    calls["another sort"] = lambda r: r.get_cursor_page(good, 5, order_by=("created_at",), active=True)
    calls["no filter"] = lambda r: r.get_cursor_page(good, 5, order_by=("-created_at",))
    calls["not a str"] = lambda r: r.get_cursor_page(12345, 5, order_by=("-created_at",), active=True)  # type: ignore[arg-type]
    for name, call in calls.items():
        with no_statements() as (repo, sent):
            with pytest.raises(InvalidCursorError):
                call(repo)
        assert sent == [], f"{name}: reached the database: {sent}"


ROWS = product_rows()


class RepositoryQueryTests:
    """The tests themselves; a subclass per backend adds an autouse fixture that points the facade at it
    and calls ``create_products(ROWS)``."""

    @pytest.mark.parametrize(("filters", "keep"), FILTERS, ids=[repr(f)[:70] for f, _ in FILTERS])
    def test_every_operator_matches_python(self, filters: dict[str, Any], keep: Callable[[dict[str, Any]], bool]) -> None:
        check_every_filter(ROWS, filters, keep)

    @pytest.mark.parametrize(("order_by", "key"), SORTS, ids=[repr(o) for o, _ in SORTS])
    def test_sorting_ends_with_the_primary_key(self, order_by: Any, key: Callable[[dict[str, Any]], Any]) -> None:
        check_sorting(ROWS, order_by, key)

    def test_pages_carry_the_total(self) -> None:
        check_pages(ROWS)

    @pytest.mark.parametrize("order_by", [o for o, _ in SORTS], ids=[repr(o) for o, _ in SORTS])
    @pytest.mark.parametrize("per_page", [1, 6, 40, 50])
    def test_a_cursor_walk_equals_the_offset_walk(self, order_by: Any, per_page: int) -> None:
        check_cursor_walk(order_by, {}, per_page)
        check_cursor_walk(order_by, {"stock__gte": 0, "title__icontains": "s"}, per_page)

    def test_get_one_and_exists(self) -> None:
        check_get_one()

    @pytest.mark.parametrize(("call", "words"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
    def test_bad_input_is_a_query_error_and_reaches_no_database(self, call: Callable[[Any], object], words: tuple[str, ...]) -> None:
        check_bad_call(call, words)

    def test_tampered_or_foreign_cursors_are_refused_before_any_query(self) -> None:
        check_tampered_cursors()
