"""Where the modules are: the folders of the ``modules`` namespace package and the module packages in them.

Migrations and module settings are found through these, alike in a checkout and when the
infrastructure is installed into another project beside that project's own modules.
"""

from __future__ import annotations

import importlib
from pathlib import Path

NAMESPACE = "modules"
INFRASTRUCTURE = "infrastructure"


def module_names(roots: list[Path] | None = None) -> list[str]:
    """Every module beside the infrastructure, with migrations or not: each package folder under the roots, by name."""
    searched = roots if roots is not None else namespace_roots()
    names = {folder.name for root in searched for folder in root.iterdir() if (folder / "__init__.py").is_file()}
    return sorted(names - {INFRASTRUCTURE})


def namespace_roots() -> list[Path]:
    """The folders of the ``modules`` namespace package, in import order, each once (an editable install's
    path hook is not a folder and is left out)."""
    package = importlib.import_module(NAMESPACE)
    roots: list[Path] = []
    for entry in map(Path, package.__path__):
        path = entry.resolve()
        if path.is_dir() and path not in roots:
            roots.append(path)
    return roots
