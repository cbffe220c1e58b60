"""Every test in the repository, the infrastructure's (``tests/``) and each module's (``modules/<name>/tests/``),
is marked with its layer from the folder it sits in, so ``-m unit`` (or ``service``, ``integration``) selects a layer."""

from __future__ import annotations

from pathlib import Path

import pytest

LAYERS = ("unit", "service", "integration")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        layer = next((part for part in reversed(Path(str(item.fspath)).parent.parts) if part in LAYERS), None)
        if layer is not None:
            item.add_marker(layer)
