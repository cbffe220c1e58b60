"""Root-logger hygiene for tests that configure logging: undo their changes, or start bare."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from modules.infrastructure.infrastructure.logging.setup import RedactionFilter


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    """Whatever a test (or ``get_config()``) does to the root logger is undone afterwards; autouse where imported."""
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    filters = {handler: handler.filters[:] for handler in handlers}
    yield
    for handler in root.handlers[:]:
        if handler not in handlers and not type(handler).__module__.startswith("_pytest"):
            root.removeHandler(handler)
    for handler in {*root.handlers, *handlers}:
        handler.filters[:] = filters.get(handler, [f for f in handler.filters if not isinstance(f, RedactionFilter)])
    root.setLevel(level)


@contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger without any handler (not even pytest's) inside the block; they come back after it."""
    root = logging.getLogger()
    saved = root.handlers[:]
    for handler in saved:
        root.removeHandler(handler)
    try:
        yield root
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in saved:
            root.addHandler(handler)
