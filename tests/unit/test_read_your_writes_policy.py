"""Read your writes without I/O: the recent writers' window, size cap and keys, and which SQL texts count as writes."""

from __future__ import annotations

import threading

import pytest

from modules.infrastructure.domain.database.write_statements import is_write_sql
from modules.infrastructure.domain.policies.recent_writers import RecentWriters, checked_key, key_scope, thread_scope
from tests.fake_clock import FakeClock


def test_a_writer_reads_from_the_primary_for_the_window_then_from_the_replicas() -> None:
    clock = FakeClock()
    writers = RecentWriters(5.0, clock=clock)
    writers.wrote([thread_scope(1), key_scope("user-7")])
    assert writers.reads_from_primary(thread_scope(1)) and writers.reads_from_primary(key_scope("user-7"))
    clock.advance(4.99)
    assert writers.reads_from_primary(key_scope("user-7"))
    clock.advance(0.01)
    assert not writers.reads_from_primary(thread_scope(1)) and not writers.reads_from_primary(key_scope("user-7"))


def test_other_threads_and_keys_keep_reading_from_the_replicas() -> None:
    writers = RecentWriters(5.0, clock=FakeClock())
    writers.wrote([thread_scope(1), key_scope("user-7")])
    assert not writers.reads_from_primary(thread_scope(2))
    assert not writers.reads_from_primary(key_scope("user-8"))
    assert not writers.reads_from_primary(key_scope(1))  # a key is never a thread, even with the same number


def test_an_int_key_and_its_text_are_the_same_key() -> None:
    writers = RecentWriters(5.0, clock=FakeClock())
    writers.wrote([key_scope(42)])
    assert writers.reads_from_primary(key_scope("42"))


def test_a_new_write_starts_the_window_again() -> None:
    clock = FakeClock()
    writers = RecentWriters(5.0, clock=clock)
    writers.wrote([key_scope("a")])
    clock.advance(4.0)
    writers.wrote([key_scope("a")])
    clock.advance(4.0)
    assert writers.reads_from_primary(key_scope("a"))


def test_a_window_of_zero_remembers_nothing() -> None:
    writers = RecentWriters(0.0, clock=FakeClock())
    writers.wrote([key_scope("a")])
    assert not writers.enabled
    assert not writers.reads_from_primary(key_scope("a")) and len(writers) == 0


def test_expired_writers_are_dropped_as_new_writes_come_in() -> None:
    clock = FakeClock()
    writers = RecentWriters(5.0, clock=clock)
    writers.wrote(key_scope(n) for n in range(100))
    clock.advance(5.0)
    writers.wrote([key_scope("new")])
    assert len(writers) == 1


def test_many_writers_stay_within_the_cap_forgetting_the_oldest_first() -> None:
    clock = FakeClock()
    writers = RecentWriters(5.0, max_scopes=1000, clock=clock)
    for n in range(100_000):
        writers.wrote([key_scope(n)])
    assert len(writers) == 1000
    assert not writers.reads_from_primary(key_scope(0))
    assert writers.reads_from_primary(key_scope(99_999)) and writers.reads_from_primary(key_scope(99_000))


def test_writers_on_many_threads_at_once_stay_within_the_cap() -> None:
    writers = RecentWriters(60.0, max_scopes=500)

    def write(base: int) -> None:
        for n in range(2000):
            writers.wrote([key_scope(base + n)])
            writers.reads_from_primary(key_scope(base + n))

    threads = [threading.Thread(target=write, args=(t * 10_000,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(writers) == 500


@pytest.mark.parametrize("key", ["user-7", "x" * 200, 7, 0, -3, 10**199 - 1, -(10**199) + 1, None], ids=range(8))
def test_usable_consistency_keys(key: object) -> None:
    assert checked_key(key) == key


@pytest.mark.parametrize("key", ["", "x" * 201, True, 1.5, b"user", ("a",), object(), 10**199, -(10**5000)], ids=range(9))
def test_unusable_consistency_keys_are_refused_by_name(key: object) -> None:
    with pytest.raises(ValueError, match="consistency_key takes"):
        checked_key(key)


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO t VALUES (1)",
        "  update t set a = 1",
        "DELETE FROM t",
        "-- a comment\nMERGE INTO t USING s ON true WHEN MATCHED THEN DELETE",
        "/* hint */ TRUNCATE t",
        "CREATE TABLE t (a int)",
        "ALTER TABLE t ADD b int",
        "DROP TABLE t",
        "COPY t FROM STDIN",
        "CALL do_things()",
        "WITH moved AS (DELETE FROM t RETURNING *) SELECT * FROM moved",
        "with x as (select 1) insert into t select * from x",
        "VACUUM t",
    ],
)
def test_statements_that_change_data_count_as_writes(sql: str) -> None:
    assert is_write_sql(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "(SELECT updated_at FROM t) UNION (SELECT deleted FROM u)",
        "  select * from t where inserted_by = 1",
        "-- only a comment",
        "",
        "SHOW transaction_read_only",
        "EXPLAIN SELECT 1",
        "WITH x AS (SELECT 1) SELECT * FROM x",
        "SET LOCAL statement_timeout = 5",
        "VALUES (1), (2)",
        "PRAGMA busy_timeout",
    ],
)
def test_statements_that_only_read_do_not(sql: str) -> None:
    assert not is_write_sql(sql)
