"""``on_another_thread``: a call's result from a thread of its own, for what a thread's identity decides."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def on_another_thread(fn: Callable[[], T]) -> T:
    """``fn()`` run on a new thread and joined; its exception is raised here."""
    got: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            got.append(fn())
        except BaseException as exc:
            failed.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if failed:
        raise failed[0]
    return got[0]
