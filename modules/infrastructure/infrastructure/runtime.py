"""The process's one ``Infrastructure``: bootstrapped on first use, overridden in blocks, closed at exit, fork-safe."""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from modules.infrastructure.domain.config.reload import ConfigReload
from modules.infrastructure.infrastructure.bootstrap import Infrastructure, bootstrap


class Runtime:
    """Holds the root set built by ``bootstrap()`` and a stack of overrides; the facade reads ``current()``.

    The stack is the process's, not a thread's: inside a ``with override(...)`` block every thread
    (a relay, a consumer, a server's workers) sees the override. It is for tests, not for giving one
    request components of its own.
    """

    def __init__(self, factory: Callable[[], Infrastructure] = bootstrap) -> None:
        self._factory = factory
        self._root: Infrastructure | None = None
        self._overrides: list[Infrastructure] = []
        self._lock = threading.Lock()

    def current(self) -> Infrastructure:
        """The innermost override, else the root set (bootstrapped now if this is the first use)."""
        overrides = self._overrides
        if overrides:
            return overrides[-1]
        return self._root or self.current_root()

    def override(self, **components: object) -> AbstractContextManager[Infrastructure]:
        """Inside the block, ``current()`` has these components, and anew what depends on them; closed at exit."""
        return self.use(self.current().derive(**components))

    @contextmanager
    def use(self, infrastructure: Infrastructure) -> Iterator[Infrastructure]:
        """Inside the block, ``current()`` is ``infrastructure``; what it built is closed at the end."""
        self._overrides.append(infrastructure)
        try:
            yield infrastructure
        finally:
            # reset() may already have dropped this layer; remove it by identity if it is still there.
            self._overrides[:] = [layer for layer in self._overrides if layer is not infrastructure]
            infrastructure.close()

    def shutdown(self) -> None:
        """Close every resource built so far, innermost override first; they are built again on next use."""
        for layer in reversed(self._overrides):
            layer.close()
        if self._root is not None:
            self._root.close()

    def reset(self) -> None:
        """Close everything and bootstrap afresh, rereading the configuration; the ``with`` blocks still open keep
        the components they were given (a reset inside ``fake_infrastructure()`` stays on the fakes)."""
        self.shutdown()
        self._root = None
        below: Infrastructure | None = None
        for layer in self._overrides:
            layer.rebase(below if below is not None else self.current_root())
            below = layer

    def reload(self) -> ConfigReload:
        """Reread the configuration into the root set, which an override not given a configuration of its
        own shares; a set given one (``fake_infrastructure()``) has nothing to reread."""
        from modules.infrastructure.infrastructure.config_reload import reload_configuration

        current = self.current()
        return reload_configuration(current if current.is_given("config") else self.current_root())

    def current_root(self) -> Infrastructure:
        """The root set, bootstrapped now if there is none yet."""
        root = self._root
        if root is None:
            with self._lock:
                if self._root is None:
                    self._root = self._factory()
                root = self._root
        return root

    def after_fork_in_child(self) -> None:
        """In a forked child: each set lets its resources drop what they inherited."""
        self._lock = threading.Lock()
        for layer in [self._root, *self._overrides]:
            if layer is not None:
                layer.after_fork()


runtime = Runtime()
atexit.register(runtime.shutdown)
os.register_at_fork(after_in_child=runtime.after_fork_in_child)
