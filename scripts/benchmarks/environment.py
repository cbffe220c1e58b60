"""Environment variables a benchmark clears for its run and gives back as they were."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


@contextmanager
def cleared(names: Iterable[str]) -> Iterator[None]:
    """``names`` unset inside the block (and whatever the block sets of them); each restored, or unset again, after it."""
    saved = {name: os.environ.pop(name, None) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value
