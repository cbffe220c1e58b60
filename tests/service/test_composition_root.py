"""The composition root: components built lazily once, by the names their builders ask for; overrides
that rebuild only what they touch; closing newest first; fork-aware."""

from __future__ import annotations

import inspect
import multiprocessing
import threading
import time
from typing import Any

import pytest

from modules.infrastructure.infrastructure.bootstrap import Infrastructure, bootstrap
from modules.infrastructure.infrastructure.components import Components, resource, value
from modules.infrastructure.infrastructure.runtime import Runtime

LOG: list[str] = []


class Resource:
    """A component that records how it was built, closed and forked."""

    def __init__(self, name: str, *needs: object) -> None:
        self.name, self.needs = name, needs
        self.closed = False
        LOG.append(f"built {name}")

    def close(self) -> None:
        self.closed = True
        LOG.append(f"closed {self.name}")

    def after_fork(self) -> None:
        LOG.append(f"after_fork {self.name}")


def make_settings() -> dict[str, int]:
    LOG.append("built settings")
    return {"size": 1}


def make_pool(settings: dict[str, int]) -> Resource:
    return Resource("pool", settings)


def make_client(pool: Resource) -> Resource:
    return Resource("client", pool)


def make_report(components: Set) -> list[str]:
    return ["report"]


def make_other() -> Resource:
    return Resource("other")


class Set(Components):
    settings = value(make_settings)
    pool = resource(make_pool)
    client = resource(make_client)
    other = resource(make_other)
    report = value(make_report)


@pytest.fixture(autouse=True)
def fresh_log() -> None:
    LOG.clear()


def test_components_are_built_lazily_once_with_what_their_builders_name() -> None:
    components = Set()
    assert LOG == []
    assert components.client is components.client
    assert components.client.needs == (components.pool,)
    assert LOG == ["built settings", "built pool", "built client"]


def test_concurrent_first_use_builds_once() -> None:
    built = []

    def slow() -> object:
        time.sleep(0.05)
        built.append(1)
        return object()

    class Slow(Components):
        thing = value(slow)

    components = Slow()
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(components.thing)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and all(r is results[0] for r in results)


def test_close_closes_newest_first_keeps_plain_values_and_rebuilds_the_rest_on_next_use() -> None:
    components = Set()
    components.client
    components.close()
    assert LOG[-2:] == ["closed client", "closed pool"]
    components.close()
    assert LOG.count("closed pool") == 1
    components.client
    assert LOG[-2:] == ["built pool", "built client"]
    assert LOG.count("built settings") == 1, "a value built from no resource is kept"


def test_a_failing_close_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(Resource):
        def close(self) -> None:
            raise OSError("socket already gone")

    components = Set(given={})
    components.pool
    components._built["other"] = Broken("broken")  # as if built
    components.close()
    assert "closed pool" in LOG
    assert "Closing the other component failed" in caplog.text


def test_a_derived_set_rebuilds_what_depends_on_the_given_component_and_shares_the_rest() -> None:
    parent = Set()
    parent.client
    parent.other
    mine = Resource("my pool")
    child = parent.derive(pool=mine)
    assert child.pool is mine
    assert child.client is not parent.client and child.client.needs == (mine,)
    assert child.other is parent.other and child.settings is parent.settings
    assert child.report is not parent.report, "a builder that takes the whole set is always built anew"
    own_client = child.client
    child.close()
    assert own_client.closed
    assert not parent.client.closed and not mine.closed, "the parent's and the given components are not the child's to close"


def test_peek_answers_what_was_given_or_built_here_or_in_the_parent_and_never_builds() -> None:
    parent = Set()
    assert parent.peek(Set.client) is None and LOG == []
    parent.other
    mine = Resource("my pool")
    child = parent.derive(pool=mine)
    assert child.peek(Set.pool) is mine and child.peek(Set.other) is parent.other
    assert child.peek(Set.client) is None, "the parent's client is not the child's: it would be built anew"
    parent.close()
    assert parent.peek(Set.other) is None and LOG == ["built other", "built my pool", "closed other"]


def test_an_unknown_component_is_refused_with_the_known_names() -> None:
    with pytest.raises(ValueError, match="Unknown infrastructure component 'pol'; known components: client, other, pool, report, settings"):
        Set(given={"pol": 1})


def test_a_builder_needing_an_unknown_component_or_a_circle_is_refused_at_declaration() -> None:
    with pytest.raises(TypeError, match="needs nothing_here"):

        class Missing(Components):
            thing = value(lambda nothing_here: 1)

    def build_a(b: object) -> object:
        return b

    def build_b(a: object) -> object:
        return a

    with pytest.raises(TypeError, match="circle: a -> b -> a"):

        class Circle(Components):
            a = value(build_a)
            b = value(build_b)


def test_after_fork_tells_each_built_resource_and_keeps_everything() -> None:
    components = Set()
    pool, settings = components.pool, components.settings
    components.after_fork()
    assert "after_fork pool" in LOG and not pool.closed
    assert components.pool is pool and components.settings is settings


def _child_reports(queue: Any, runtime: Runtime) -> None:
    runtime.after_fork_in_child()  # what the module's own runtime registers with os.register_at_fork
    queue.put((runtime.current().built(), LOG.copy()))


def test_a_real_forked_child_runs_after_fork_and_the_parent_keeps_its_connections() -> None:
    runtime = Runtime(factory=Set)  # type: ignore[arg-type]
    runtime.current().pool
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_reports, args=(queue, runtime))
    child.start()
    child.join(10)
    assert child.exitcode == 0
    built, log = queue.get(timeout=5)
    assert built == ["settings", "pool"] and "after_fork pool" in log
    assert not runtime.current().pool.closed


def test_runtime_overrides_nest_unwind_and_close_what_they_built() -> None:
    runtime = Runtime(factory=Set)  # type: ignore[arg-type]
    root = runtime.current()
    with runtime.override(settings={"size": 2}) as outer:
        assert runtime.current() is outer and outer.pool.needs == ({"size": 2},)
        with pytest.raises(RuntimeError), runtime.override(other=Resource("fake other")):
            assert runtime.current().pool is outer.pool
            raise RuntimeError("boom")
        assert runtime.current() is outer
        built_pool = outer.pool
    assert runtime.current() is root and built_pool.closed


def test_bootstrap_takes_exactly_the_names_of_the_components() -> None:
    assert list(inspect.signature(bootstrap).parameters) == list(Infrastructure.declared)


def test_bootstrap_uses_what_it_is_given_and_builds_nothing_else_yet() -> None:
    marker = object()
    infrastructure = bootstrap(metrics=marker)  # type: ignore[arg-type]
    assert infrastructure.metrics is marker and infrastructure.built() == []


def test_bootstrap_and_override_read_none_alike_as_no_publisher() -> None:
    assert bootstrap(publisher=None).publisher is None
    assert bootstrap().derive(publisher=None).publisher is None
