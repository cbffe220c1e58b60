"""``get_or_set`` across real processes on the real Redis: one computation for all of them, and a lock holder that
dies or fails hands the key over instead of stalling it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from modules.infrastructure.domain.cache.namespaced import NamespacedCache
from modules.infrastructure.infrastructure.cache.redis_cache import RedisCache

ROOT = Path(__file__).resolve().parents[2]

# A process asking for "report" in NAMESPACE: its computation marks that it started, sleeps SECONDS, counts itself,
# then returns or raises as told. Prints the value it got (or the error's class).
WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    import redis
    from modules.infrastructure.domain.cache.namespaced import NamespacedCache
    from modules.infrastructure.infrastructure.cache.redis_cache import RedisCache

    url, namespace, seconds, outcome, threads = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    raw = redis.Redis.from_url(url)
    cache = NamespacedCache(RedisCache(url, strict=True), namespace)

    def compute():
        raw.set(namespace + ":started", os.getpid())
        time.sleep(seconds)
        raw.incr(namespace + ":computations")
        if outcome == "fail":
            raise RuntimeError("the query failed")
        return {"by": os.getpid()}

    import threading
    results = []
    def ask():
        try:
            results.append(cache.get_or_set("report", compute, ttl=60, lock_ttl=1.0, lock_wait=20))
        except RuntimeError as exc:
            results.append(type(exc).__name__)
    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for worker in workers: worker.start()
    for worker in workers: worker.join()
    print(json.dumps(results))
    """
)


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    name = f"stampede-{uuid.uuid4().hex[:10]}"
    yield name
    raw = redis.Redis.from_url(redis_url)
    for key in raw.scan_iter(match=f"{name}:*"):
        raw.delete(key)
    raw.delete(f"\x00lock:{name}:report")
    raw.close()


def start(redis_url: str, namespace: str, seconds: float, outcome: str = "ok", threads: int = 1) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", WORKER, redis_url, namespace, str(seconds), outcome, str(threads)]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def wait_for(raw: redis.Redis, key: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while raw.get(key) is None:
        assert time.monotonic() < deadline, f"{key} never appeared"
        time.sleep(0.01)


def test_four_processes_of_eight_threads_make_one_computation(redis_url: str, namespace: str) -> None:
    workers = [start(redis_url, namespace, 0.3, threads=8) for _ in range(4)]
    results = [json.loads(worker.communicate(timeout=60)[0]) for worker in workers]
    raw = redis.Redis.from_url(redis_url)
    assert int(raw.get(f"{namespace}:computations") or 0) == 1
    values = [value for result in results for value in result]
    assert len(values) == 32 and len({json.dumps(value) for value in values}) == 1


def test_a_lock_holder_killed_mid_computation_hands_over_when_its_lock_expires(redis_url: str, namespace: str) -> None:
    raw = redis.Redis.from_url(redis_url)
    holder = start(redis_url, namespace, 60)
    try:
        wait_for(raw, f"{namespace}:started")
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        cache = NamespacedCache(RedisCache(redis_url, strict=True), namespace)
        began = time.monotonic()
        assert cache.get_or_set("report", lambda: {"by": "the survivor"}, ttl=60, lock_wait=20) == {"by": "the survivor"}
        waited = time.monotonic() - began
    finally:
        holder.kill()
    assert waited < 2.0  # the dead holder's lock lived lock_ttl=1 s, not lock_wait=20 s
    assert raw.get(f"{namespace}:computations") is None


def test_a_lock_holder_that_fails_hands_over_at_once(redis_url: str, namespace: str) -> None:
    raw = redis.Redis.from_url(redis_url)
    holder = start(redis_url, namespace, 0.5, outcome="fail")
    wait_for(raw, f"{namespace}:started")
    cache = NamespacedCache(RedisCache(redis_url, strict=True), namespace)
    began = time.monotonic()
    value = cache.get_or_set("report", lambda: {"by": "the next caller"}, ttl=60, lock_wait=20)
    waited = time.monotonic() - began
    assert json.loads(holder.communicate(timeout=30)[0]) == ["RuntimeError"]
    assert value == {"by": "the next caller"} and waited < 1.0
    assert cache.get_json("report") == {"by": "the next caller"}


def test_a_waiter_whose_lock_wait_runs_out_computes_itself(redis_url: str, namespace: str) -> None:
    raw = redis.Redis.from_url(redis_url)
    holder = start(redis_url, namespace, 5)
    try:
        wait_for(raw, f"{namespace}:started")
        cache = NamespacedCache(RedisCache(redis_url, strict=True), namespace)
        began = time.monotonic()
        assert cache.get_or_set("report", lambda: "mine", ttl=60, lock_wait=0.5) == "mine"
        assert 0.5 <= time.monotonic() - began < 1.5
    finally:
        holder.kill()
        holder.wait(10)
