"""One process of the stampede benchmark: ``--threads`` threads ask for one missing key at ``--start`` (a wall-clock
time shared by every process); prints each thread's wait in milliseconds as JSON.

    python -m scripts.benchmarks.cache_stampede_worker --start T --threads 64 --namespace N --mode get_or_set
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from typing import Any

import redis

from modules.infrastructure.module_api import InfrastructureService

KEY = "report"
COMPUTE_SECONDS = 0.1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--start", type=float, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--mode", choices=("get_or_set", "by_hand"), required=True)
    args = parser.parse_args()
    counter = redis.Redis.from_url(os.environ["REDIS_URL"])
    cache = InfrastructureService.get_cache(args.namespace)
    cache.get("warm-up")  # the pool's first connection, outside the clock

    def compute() -> dict[str, Any]:
        time.sleep(COMPUTE_SECONDS)  # the expensive query
        counter.incr(f"{args.namespace}:computations")
        return {"rows": list(range(20))}

    def by_hand() -> Any:
        value = cache.get_json(KEY)
        if value is None:
            value = compute()
            cache.set_json(KEY, value, ttl=60)
        return value

    waits: list[float] = []
    lock = threading.Lock()
    ready = threading.Barrier(args.threads)

    def ask() -> None:
        ready.wait()
        time.sleep(max(0.0, args.start - time.time()))
        began = time.perf_counter()
        value = cache.get_or_set(KEY, compute, ttl=60) if args.mode == "get_or_set" else by_hand()
        assert value == {"rows": list(range(20))}
        with lock:
            waits.append((time.perf_counter() - began) * 1000)

    threads = [threading.Thread(target=ask) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps(waits))
    InfrastructureService.shutdown()


if __name__ == "__main__":
    main()
