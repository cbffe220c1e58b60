"""Finds every sibling module's settings table: ``SETTINGS`` in ``modules/<name>/settings.py``, as migrations are found.

The infrastructure names no sibling: it walks the ``modules`` folders and imports what the convention says is there.
"""

from __future__ import annotations

import importlib
import traceback
from pathlib import Path

from modules.infrastructure.domain.config.module_settings import ModuleSettings, clashes
from modules.infrastructure.domain.config.settings import SETTINGS_BY_NAME
from modules.infrastructure.domain.errors import ConfigurationError, InfrastructureError
from modules.infrastructure.infrastructure.module_folders import NAMESPACE, module_names, namespace_roots

SETTINGS_MODULE = "settings"
TABLE = "SETTINGS"


def discover_module_settings(roots: list[Path] | None = None) -> tuple[ModuleSettings, ...]:
    """Every module's table, by module name; ``ConfigurationError`` listing every declaration problem of every module."""
    searched = roots if roots is not None else namespace_roots()
    tables: list[ModuleSettings] = []
    problems: list[str] = []
    for name in module_names(searched):
        if any((root / name / f"{SETTINGS_MODULE}.py").is_file() for root in searched):
            table, problem = _table(name)
            tables += [table] if table is not None else []
            problems += [problem] if problem else []
    problems += clashes(tables, SETTINGS_BY_NAME)
    if problems:
        raise ConfigurationError(f"The modules' settings tables have {len(problems)} problem(s); fix the declarations:", problems)
    return tuple(tables)


def _table(name: str) -> tuple[ModuleSettings | None, str]:
    """The module's table, or why there is none: its file fails to import or defines no table of its own."""
    where = f"modules/{name}/{SETTINGS_MODULE}.py"
    try:
        loaded = importlib.import_module(f"{NAMESPACE}.{name}.{SETTINGS_MODULE}")
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a sibling's mistake, even sys.exit(), is one problem of the report, not the end of start-up
        return None, _not_imported(where, exc)
    table = getattr(loaded, TABLE, None)
    if not isinstance(table, ModuleSettings):
        return None, f"{where} defines no {TABLE} = ModuleSettings({name!r}, ...); found {type(table).__name__}"
    if table.module != name:
        return None, f"{where} declares the module {table.module!r}; use its folder's name, {name!r}, so its variables start {name.upper()}_"
    return table, ""


def _not_imported(where: str, exc: BaseException) -> str:
    """Why ``where`` failed to import: the exception's class and line; only our own errors' messages, written to hold no
    secret, are shown (another's could quote the value that failed)."""
    if isinstance(exc, InfrastructureError):
        return f"{where} cannot be imported: {type(exc).__name__}: {exc}"
    line = exc.lineno if isinstance(exc, SyntaxError) else next(
        (frame.lineno for frame in reversed(traceback.extract_tb(exc.__traceback__)) if frame.filename.endswith(where)), None
    )
    at = f" at line {line}" if line else ""
    missing = f" (no module {exc.name!r})" if isinstance(exc, ModuleNotFoundError) and exc.name else ""
    return f"{where} cannot be imported: {type(exc).__name__}{missing} raised{at}; run python -c 'import {where[:-3].replace('/', '.')}' to see it"
