"""Repository bulk writes, one scenario run on SQLite (tests/service) and on the real PostgreSQL (tests/integration)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Float, Index, Integer, Interval, String, Text, TypeDecorator, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from modules.infrastructure.domain.database.bulk import batch_size
from modules.infrastructure.module_api import Base, BaseRepository, BulkResult, DatabaseQueryError, InfrastructureService


class Gadget(Base):
    __tablename__ = "test_bulk_gadgets"
    __table_args__ = (UniqueConstraint("maker", "model_no"), Index("test_bulk_gadgets_serial", "serial", unique=True))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    maker: Mapped[str] = mapped_column(String(40))
    model_no: Mapped[int] = mapped_column(Integer)
    serial: Mapped[str | None] = mapped_column(String(40), nullable=True)
    price: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(String(100), nullable=True)


class GadgetRepository(BaseRepository[Gadget]):
    model = Gadget


class JSONText(TypeDecorator[Any]):
    """A sibling's own type: JSON kept as text. Its values are whatever its bind step takes, not text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else json.dumps(value)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else json.loads(value)


class Job(Base):
    __tablename__ = "test_bulk_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    spec: Mapped[Any] = mapped_column(JSONText)
    every: Mapped[timedelta] = mapped_column(Interval)


def create_gadgets() -> None:
    with InfrastructureService.get_database_session() as db:
        tables = [Base.metadata.tables[Gadget.__tablename__], Base.metadata.tables[Job.__tablename__]]
        Base.metadata.drop_all(db.connection(), tables=tables)
        Base.metadata.create_all(db.connection(), tables=tables)


def gadget(n: int, **extra: Any) -> dict[str, Any]:
    return {"sku": f"sku-{n}", "maker": "acme", "model_no": n, "price": float(n), **extra}


def stored() -> list[tuple[str, float, str | None]]:
    with InfrastructureService.get_database_session(read_only=True) as db:
        rows = db.session.execute(select(Gadget.sku, Gadget.price, Gadget.note).order_by(Gadget.id))
        return [(sku, price, note) for sku, price, note in rows]


BAD_ROWS: list[tuple[list[Any], str]] = [
    ([gadget(1), {**gadget(2), "colour": "red"}], "other columns than row 0"),
    ([gadget(1, colour="red"), gadget(2, colour="red")], "has no column colour"),
    ([gadget(1), gadget(2, price="cheap")], "takes a finite number"),
    ([gadget(1), gadget(2, model_no=1.5)], "takes a whole number"),
    ([gadget(1), gadget(2, model_no=True)], "takes a whole number"),
    ([gadget(1), gadget(2, model_no=2**63)], "takes a whole number"),
    ([gadget(1), gadget(2, price=float("nan"))], "takes a finite number"),
    ([gadget(1), gadget(2, sku=None)], "NOT NULL"),
    ([gadget(1, note="ok"), gadget(2, note="a\x00b")], "NUL character"),
    ([gadget(1), {k: v for k, v in gadget(2).items() if k != "price"}], "other columns than row 0"),
    ([gadget(1), "not a row"], "a bulk row is a dict"),
    ([{1: "x"}], "column names are str"),
    ([{**gadget(1), 1: "x"}], "column names are str"),
    ([gadget(1), gadget(2, price=float("inf"))], "takes a finite number"),
    ([gadget(1), gadget(2, price=Decimal("NaN"))], "takes a finite number"),
    ([gadget(1), gadget(2, price=Decimal("sNaN"))], "takes a finite number"),
]


class BulkWriteTests:
    def test_add_many_counts_and_returns_ids(self) -> None:
        with InfrastructureService.get_database_session() as db:
            result = GadgetRepository(db).add_many([gadget(n) for n in range(1, 6)])
        assert result.count == 5
        assert result.ids is not None and len(set(result.ids)) == 5
        assert [row[0] for row in stored()] == [f"sku-{n}" for n in range(1, 6)]

    def test_add_many_without_ids_counts_the_rows(self) -> None:
        rows = [gadget(n) for n in range(batch_size(5) * 2 + 7)]  # several batches, each of several driver pages
        with InfrastructureService.get_database_session() as db:
            result = GadgetRepository(db).add_many(rows, return_ids=False)
        assert result == BulkResult(len(rows), None)
        assert len(stored()) == len(rows)

    def test_add_many_ids_are_in_the_rows_order(self) -> None:
        rows = [gadget(n) for n in (5, 3, 9, 1, 7)] + [gadget(n) for n in range(10, batch_size(5) + 20)]
        with InfrastructureService.get_database_session() as db:
            ids = GadgetRepository(db).add_many(rows).ids
        assert ids is not None
        with InfrastructureService.get_database_session(read_only=True) as db:
            sku_of = {id: sku for id, sku in db.session.execute(select(Gadget.id, Gadget.sku))}
        assert [sku_of[id] for id in ids] == [row["sku"] for row in rows]

    def test_a_column_of_a_type_decorator_takes_what_its_bind_step_takes(self) -> None:
        with InfrastructureService.get_database_session() as db:
            repository = BaseRepository(db, model=Job)
            result = repository.add_many([{"spec": {"steps": [1, 2]}, "every": timedelta(hours=1)}])
            repository.create(spec=["list"], every=timedelta(days=1))
            assert result.count == 1
            assert repository.count(every=timedelta(hours=1)) == 1
            with pytest.raises(DatabaseQueryError, match="Job.spec__eq takes a single value"):
                repository.count(spec={"steps": [1, 2]})  # a filter compares one value; JSON text is not one
            assert repository.update_many({"spec": {"steps": []}}, every=timedelta(days=1)) == 1
        with InfrastructureService.get_database_session(read_only=True) as db:
            specs = [job.spec for job in BaseRepository(db, model=Job).get_all()]
        assert specs == [{"steps": [1, 2]}, {"steps": []}]

    def test_create_and_update_check_value_types_as_bulk_writes_do(self) -> None:
        with pytest.raises(DatabaseQueryError, match="takes a whole number"):
            with InfrastructureService.get_database_session() as db:
                GadgetRepository(db).create(**gadget(1, model_no="abc"))
        with InfrastructureService.get_database_session() as db:
            created = GadgetRepository(db).create(**gadget(1))
            with pytest.raises(DatabaseQueryError, match="takes a finite number"):
                GadgetRepository(db).update(created, price=float("nan"))
        assert stored() == [("sku-1", 1.0, None)]

    def test_add_many_takes_model_instances(self) -> None:
        with InfrastructureService.get_database_session() as db:
            result = GadgetRepository(db).add_many([Gadget(**gadget(n)) for n in range(1, 4)])
        assert result.count == 3 and len(stored()) == 3

    def test_add_many_in_several_batches(self) -> None:
        rows = [gadget(n) for n in range(batch_size(5) * 2 + 7)]
        with InfrastructureService.get_database_session() as db:
            result = GadgetRepository(db).add_many(rows)
        assert result.count == len(rows) and result.ids is not None and len(set(result.ids)) == len(rows)
        with InfrastructureService.get_database_session(read_only=True) as db:
            assert GadgetRepository(db).count() == len(rows)

    @pytest.mark.parametrize(
        "call",
        [
            lambda r: r.add_many([]),
            lambda r: r.add_many(iter(())),
            lambda r: r.add_many([], return_ids=False),
            lambda r: r.upsert([], unique_by=("sku",)),
        ],
    )
    def test_an_empty_list_is_refused(self, call: Any) -> None:
        with pytest.raises(DatabaseQueryError, match="got no rows; skip the call"):
            with InfrastructureService.get_database_session() as db:
                call(GadgetRepository(db))
        assert stored() == []

    @pytest.mark.parametrize("rows", [None, 5, gadget(1), "sku-1", b"rows"])
    def test_rows_that_are_not_a_list_are_refused(self, rows: Any) -> None:
        for call in (lambda r: r.add_many(rows), lambda r: r.upsert(rows, unique_by=("sku",))):
            with pytest.raises(DatabaseQueryError, match="bulk writes take a list of rows"):
                with InfrastructureService.get_database_session() as db:
                    call(GadgetRepository(db))
        assert stored() == []

    @pytest.mark.parametrize(("rows", "message"), BAD_ROWS)
    def test_bad_rows_are_refused_and_nothing_is_written(self, rows: list[Any], message: str) -> None:
        for write in ("add_many", "upsert"):
            with pytest.raises(DatabaseQueryError, match=message):
                with InfrastructureService.get_database_session() as db:
                    repository = GadgetRepository(db)
                    repository.add_many(rows) if write == "add_many" else repository.upsert(rows, unique_by=("sku",))
        assert stored() == []

    def test_upsert_inserts_new_rows_and_updates_existing_ones(self) -> None:
        with InfrastructureService.get_database_session() as db:
            GadgetRepository(db).add_many([gadget(1, note="old"), gadget(2, note="old")])
        with InfrastructureService.get_database_session() as db:
            result = GadgetRepository(db).upsert(
                [gadget(2, price=20.0, note="new"), gadget(3, note="new")], unique_by=("sku",), update=("price",)
            )
        assert result.count == 2
        assert stored() == [("sku-1", 1.0, "old"), ("sku-2", 20.0, "old"), ("sku-3", 3.0, "new")]

    def test_upsert_by_composite_constraint_updates_every_other_column_by_default(self) -> None:
        with InfrastructureService.get_database_session() as db:
            GadgetRepository(db).add_many([gadget(1)])
        with InfrastructureService.get_database_session() as db:
            result = GadgetRepository(db).upsert([gadget(1, price=9.5, note="x")], unique_by=("maker", "model_no"))
        assert result.count == 1 and stored() == [("sku-1", 9.5, "x")]

    def test_upsert_with_no_update_columns_keeps_existing_rows(self) -> None:
        with InfrastructureService.get_database_session() as db:
            GadgetRepository(db).add_many([gadget(1)])
        with InfrastructureService.get_database_session() as db:
            result = GadgetRepository(db).upsert([gadget(1, price=5.0), gadget(2)], unique_by=("sku",), update=())
        assert result.count == 1 and stored() == [("sku-1", 1.0, None), ("sku-2", 2.0, None)]

    def test_upsert_by_unique_index(self) -> None:
        with InfrastructureService.get_database_session() as db:
            GadgetRepository(db).add_many([gadget(1, serial="s1")])
        with InfrastructureService.get_database_session() as db:
            GadgetRepository(db).upsert([gadget(9, serial="s1", sku="sku-1")], unique_by=("serial",), update=("price",))
        assert stored() == [("sku-1", 9.0, None)]

    @pytest.mark.parametrize(
        ("unique_by", "update", "message"),
        [
            ((), None, "needs unique_by"),
            (("price",), None, "not the primary key, a unique constraint"),
            (("maker",), None, "not the primary key, a unique constraint"),
            ("sku", None, "tuple of column names"),
            (("sku",), ("sku",), "cannot update its unique_by"),
            (("sku",), ("colour",), "do not hold colour"),
            (("id",), None, "do not hold id"),
            (("maker", "model_no"), None, "share \\(maker, model_no\\)"),
            (None, None, "needs unique_by"),
            (5, None, "unique_by takes a tuple of column names"),
            ((1,), None, "unique_by takes a tuple of column names"),
            (("sku",), 5, "update takes a tuple of column names"),
            (("sku",), (None,), "update takes a tuple of column names"),
        ],
    )
    def test_bad_upsert_keys_are_refused(self, unique_by: Any, update: Any, message: str) -> None:
        with pytest.raises(DatabaseQueryError, match=message):
            with InfrastructureService.get_database_session() as db:
                GadgetRepository(db).upsert([gadget(1), gadget(1, sku="other")], unique_by=unique_by, update=update)
        assert stored() == []

    def test_an_upsert_without_a_unique_key_is_refused(self) -> None:
        with pytest.raises(DatabaseQueryError, match="upsert needs unique_by"):
            with InfrastructureService.get_database_session() as db:
                GadgetRepository(db).upsert([gadget(1)])
        assert stored() == []

    def test_update_many_and_delete_many_by_filter(self) -> None:
        with InfrastructureService.get_database_session() as db:
            GadgetRepository(db).add_many([gadget(n) for n in range(1, 11)])
        with InfrastructureService.get_database_session() as db:
            repository = GadgetRepository(db)
            assert repository.update_many({"note": "cheap"}, price__lt=4) == 3
            assert repository.delete_many(model_no__in=[1, 2, 10]) == 3
            assert repository.update_many({"price": 0.0}, all=True) == 7
        assert stored() == [("sku-3", 0.0, "cheap")] + [(f"sku-{n}", 0.0, None) for n in range(4, 10)]
        with InfrastructureService.get_database_session() as db:
            assert GadgetRepository(db).delete_many(all=True) == 7
        assert stored() == []

    def test_update_many_refreshes_loaded_rows(self) -> None:
        with InfrastructureService.get_database_session() as db:
            repository = GadgetRepository(db)
            loaded = repository.create(**gadget(1))
            repository.update_many({"note": "seen"}, sku="sku-1")
            assert loaded.note == "seen"
            repository.delete_many(sku="sku-1")
            assert repository.get_by_id(loaded.id) is None

    @pytest.mark.parametrize(
        ("call", "message"),
        [
            (lambda r: r.delete_many(), "pass all=True"),
            (lambda r: r.update_many({"note": "x"}), "pass all=True"),
            (lambda r: r.update_many({}, sku="sku-1"), "at least one column"),
            (lambda r: r.update_many({"colour": "red"}, all=True), "has no column colour"),
            (lambda r: r.update_many({"price": "free"}, all=True), "takes a finite number"),
            (lambda r: r.update_many({"note": "\x00"}, all=True), "NUL character"),
            (lambda r: r.delete_many(colour="red"), "has no column colour"),
            (lambda r: r.delete_many(price__gt="x"), "takes a finite number"),
            (lambda r: r.update_many([("note", "x")], sku="sku-1"), "takes a dict of column values"),
            (lambda r: r.update_many(5, sku="sku-1"), "takes a dict of column values"),
            (lambda r: r.update_many({1: 2}, sku="sku-1"), "column names are str"),
            (lambda r: r.update_many({"note": "x"}, include_deleted="no", all=True), "include_deleted takes True or False"),
        ],
    )
    def test_bad_update_and_delete_are_refused(self, call: Any, message: str) -> None:
        with InfrastructureService.get_database_session() as db:
            GadgetRepository(db).add_many([gadget(1)])
        with pytest.raises(DatabaseQueryError, match=message):
            with InfrastructureService.get_database_session() as db:
                call(GadgetRepository(db))
        assert stored() == [("sku-1", 1.0, None)]