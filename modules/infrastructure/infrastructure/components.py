"""The machinery behind ``Infrastructure``: components built on first use by builders that name
their dependencies, and derived sets that rebuild only what an override touches.

A component is declared once, as a class attribute: ``cache = resource(build_cache)``. Its
builder's parameters name the components it needs, resolved the same way (cosmicpython's
bootstrap injects a handler's dependencies by name too). A builder that takes ``components``
gets the whole set, for health checks that look components up only when they run.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar, Generic, Self, TypeVar, cast, overload

from modules.infrastructure.domain.errors import InvalidArgumentError
from modules.infrastructure.domain.lifecycle import Resource

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R", bound="Resource | None")
WHOLE_SET = "components"  # the parameter name that asks for the set itself


class Component(Generic[T]):
    """One member of a ``Components`` set; reading it on an instance builds it once and returns it."""

    def __init__(self, build: Callable[..., T], *, is_resource: bool) -> None:
        self.build = build
        self.is_resource = is_resource
        self.needs = tuple(inspect.signature(build).parameters)
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> Component[T]: ...

    @overload
    def __get__(self, instance: Components, owner: type) -> T: ...

    def __get__(self, instance: Components | None, owner: type) -> Component[T] | T:
        if instance is None:
            return self
        return cast(T, instance.resolve(self))


def resource(build: Callable[..., R]) -> Component[R]:
    """A component holding connections, threads or servers: closed at shutdown, told after a fork."""
    return Component(build, is_resource=True)


def value(build: Callable[..., T]) -> Component[T]:
    """A component that holds nothing open: settings, a registry, a list of checks."""
    return Component(build, is_resource=False)


class Components:
    """A set of components, each built on first use under a lock, once; safe to share between threads."""

    declared: ClassVar[dict[str, Component[Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.declared = {
            name: member for base in reversed(cls.__mro__) for name, member in vars(base).items() if isinstance(member, Component)
        }
        _check_graph(cls.declared)

    def __init__(self, given: Mapping[str, object] | None = None, *, parent: Components | None = None) -> None:
        self._given = dict(given or {})
        unknown = sorted(set(self._given) - set(self.declared))
        if unknown:
            known = ", ".join(sorted(self.declared))
            raise InvalidArgumentError(f"Unknown infrastructure component {unknown[0]!r}; known components: {known}")
        self._parent = parent
        self._own = set(self.declared) if parent is None else self.depending_on(self._given)
        self._built: dict[str, object] = {}
        self._lock = threading.RLock()

    def derive(self, **given: object) -> Self:
        """This set with ``given`` components in place: what depends on them is built anew, the rest is shared."""
        return type(self)(given, parent=self)

    def rebase(self, parent: Components) -> None:
        """Share ``parent``'s components from now on (after a reset); only a derived set has a parent to replace."""
        if self._parent is not None:
            self._parent = parent

    def resolve(self, component: Component[Any]) -> object:
        """The component's instance: given, built here, or (when an override does not touch it) the parent's."""
        name = component.name
        if name in self._given:
            return self._given[name]
        built = self._built.get(name, _MISSING)
        if built is not _MISSING:
            return built
        if name not in self._own:
            assert self._parent is not None
            return self._parent.resolve(component)
        with self._lock:  # reentrant: a builder resolves its dependencies on the same thread
            if name not in self._built:
                arguments = {need: self if need == WHOLE_SET else getattr(self, need) for need in component.needs}
                self._built[name] = component.build(**arguments)
            return self._built[name]

    def peek(self, component: Component[T]) -> T | None:
        """The component's instance when it was given or built (here, or in the parent this set shares it with);
        ``None`` otherwise: never builds. For figures read at a scrape, which must not open what nothing uses."""
        name = component.name
        if name in self._given:
            return cast(T, self._given[name])
        built = self._built.get(name, _MISSING)
        if built is not _MISSING:
            return cast(T, built)
        if name not in self._own and self._parent is not None:
            return self._parent.peek(component)
        return None

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """No component of this set is built while the block runs (a reload swapping several at once)."""
        with self._lock:
            yield

    def is_given(self, name: str) -> bool:
        """Whether the component ``name`` was handed to this set (``bootstrap(config=...)``) rather than built."""
        return name in self._given

    def replace(self, **instances: object) -> dict[str, object]:
        """Put ``instances`` in place of this set's components of those names, from now on; returns the ones
        they replace that were built (the caller closes them once nothing uses them). Calls already holding
        an old instance finish on it. A component given to the set stays: it is its owner's."""
        given = sorted(set(instances) & set(self._given))
        if given:
            raise InvalidArgumentError(f"The {given[0]} component was given to this set; it cannot be replaced here")
        with self._lock:
            replaced = {name: self._built[name] for name in instances if name in self._built}
            self._built.update(instances)
        return replaced

    def built(self) -> list[str]:
        """Names of the components this set has built so far, oldest first."""
        return list(self._built)

    def close(self) -> None:
        """Close the resources built here, newest first, and forget them and whatever was built from them.

        Values built from no resource (the configuration, the metrics registry) are kept, so the
        next use opens new connections with the same settings. Given components are the caller's.
        """
        with self._lock:
            dropped = self.depending_on(name for name in self._built if self.declared[name].is_resource)
            closing = [(name, self._built.pop(name)) for name in reversed(list(self._built)) if name in dropped]
        for name, instance in closing:
            if self.declared[name].is_resource and instance is not None:
                try:
                    cast(Resource, instance).close()
                except Exception:  # shutdown goes on; the failure is logged, not raised
                    logger.exception("Closing the %s component failed", name)

    def after_fork(self) -> None:
        """In a forked child: every built resource drops what it inherited; nothing of the parent's is closed."""
        self._lock = threading.RLock()
        for name, instance in list(self._built.items()):
            if self.declared[name].is_resource and instance is not None:
                try:
                    cast(Resource, instance).after_fork()
                except Exception:
                    logger.exception("The %s component failed to drop its inherited connections after a fork", name)

    @classmethod
    def depending_on(cls, names: Iterable[str]) -> set[str]:
        """``names`` and every component that needs one of them, directly or not (or needs the whole set)."""
        affected = set(names)
        grew = True
        while grew:
            grew = False
            for name, component in cls.declared.items():
                if name not in affected and (WHOLE_SET in component.needs or affected.intersection(component.needs)):
                    affected.add(name)
                    grew = True
        return affected


_MISSING = object()


def _check_graph(declared: Mapping[str, Component[Any]]) -> None:
    """Every need names a component, and no component needs itself through others."""
    for component in declared.values():
        unknown = [need for need in component.needs if need != WHOLE_SET and need not in declared]
        if unknown:
            raise TypeError(f"The builder of {component.name!r} needs {', '.join(unknown)}, which no component is called")
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done:
            return
        if name in visiting:
            raise TypeError(f"Components need each other in a circle: {' -> '.join((*path, name))}")
        visiting.add(name)
        for need in declared[name].needs:
            if need != WHOLE_SET:
                visit(need, (*path, name))
        visiting.discard(name)
        done.add(name)

    for name in declared:
        visit(name, ())
