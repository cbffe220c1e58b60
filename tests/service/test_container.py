"""The composition root: lazy, built once under concurrency, closed newest first, fork-aware."""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any

import pytest

from modules.infrastructure.infrastructure.container import Container


class Resource:
    """A component that records how it was built and closed."""

    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name
        self.closed = False
        log.append(f"built {name}")

    def close(self) -> None:
        self.closed = True
        self.log.append(f"closed {self.name}")


class ForkAware(Resource):
    def after_fork(self) -> None:
        self.log.append(f"after_fork {self.name}")


def make_container(log: list[str], **extra: Any) -> Container:
    factories = {
        "first": lambda c: Resource(log, "first"),
        "second": lambda c: (c.get("first"), Resource(log, "second"))[1],
        "plain": lambda c: {"value": 1},
        "aware": lambda c: ForkAware(log, "aware"),
        **extra,
    }
    return Container(factories=factories)


def test_components_are_built_lazily_once() -> None:
    log: list[str] = []
    container = make_container(log)
    assert log == []
    assert container.get("second") is container.get("second")
    assert log == ["built first", "built second"]


def test_concurrent_first_use_builds_once() -> None:
    built = []

    def slow(c: Container) -> object:
        time.sleep(0.05)
        built.append(1)
        return object()

    container = Container(factories={"slow": slow})
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(container.get("slow"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1
    assert all(r is results[0] for r in results)


def test_shutdown_closes_newest_first_and_rebuilds_on_next_use() -> None:
    log: list[str] = []
    container = make_container(log)
    container.get("second")
    container.shutdown()
    assert log[-2:] == ["closed second", "closed first"]
    container.shutdown()
    assert log.count("closed first") == 1
    container.get("first")
    assert log[-1] == "built first"


def test_a_failing_close_does_not_stop_shutdown(caplog: pytest.LogCaptureFixture) -> None:
    log: list[str] = []

    class Broken:
        def close(self) -> None:
            raise OSError("socket already gone")

    container = make_container(log, broken=lambda c: Broken())
    container.get("first")
    container.get("broken")
    container.shutdown()
    assert "closed first" in log
    assert "Closing the broken component failed" in caplog.text


def test_after_fork_keeps_fork_aware_and_plain_components_and_drops_the_rest() -> None:
    log: list[str] = []
    container = make_container(log)
    first, plain, aware = container.get("first"), container.get("plain"), container.get("aware")
    container.after_fork_in_child()
    assert "after_fork aware" in log
    assert first.closed is False, "the parent's connection must not be closed by the child"
    assert container.get("plain") is plain and container.get("aware") is aware
    assert container.get("first") is not first


def _child_reports(queue: multiprocessing.Queue) -> None:
    from modules.infrastructure.infrastructure import container as module

    queue.put(sorted(module.get_container()._instances))


def test_a_real_forked_child_drops_closable_components() -> None:
    from modules.infrastructure.infrastructure import container as module

    log: list[str] = []
    parent = make_container(log)
    parent.get("first")
    parent.get("plain")
    original, module._container = module._container, parent
    try:
        queue: multiprocessing.Queue = multiprocessing.get_context("fork").Queue()
        child = multiprocessing.get_context("fork").Process(target=_child_reports, args=(queue,))
        child.start()
        child.join(10)
        assert child.exitcode == 0
        assert queue.get(timeout=5) == ["plain"]
        assert sorted(parent._instances) == ["first", "plain"]
    finally:
        module._container = original
