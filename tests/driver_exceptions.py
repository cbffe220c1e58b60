"""Every exception class of each driver, and one instance of each, built without I/O.

``exception_classes`` walks a driver's exceptions modules and, recursively, the subclasses of
its base classes that are loaded; ``instance`` builds one, with a helper for the classes whose
constructor needs more than a message. A class that cannot be built must be listed in
``UNBUILDABLE`` with the reason (the seam tests assert that list does not grow).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any

Builder = Callable[[type[BaseException]], BaseException]

# Classes that cannot be constructed here, with the reason. Keep it empty if at all possible.
UNBUILDABLE: dict[str, str] = {}


def exception_classes(modules: Iterable[ModuleType], bases: Iterable[type[BaseException]] = ()) -> list[type[BaseException]]:
    """The exception classes defined in ``modules`` plus every loaded subclass of ``bases``, sorted by name."""
    found: set[type[BaseException]] = set()
    for module in modules:
        found.update(
            value
            for value in vars(module).values()
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__.startswith(module.__name__.split(".")[0])
        )
    for base in bases:
        found.update(_subclasses(base))
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def instance(cls: type[BaseException], builders: dict[type[BaseException], Builder]) -> BaseException:
    """``cls`` built by its own helper (the nearest in its MRO), else with one message argument."""
    for klass in cls.__mro__:
        if klass in builders:
            return builders[klass](cls)
    return cls("scripted failure")


def name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _subclasses(base: type[BaseException]) -> Iterator[type[BaseException]]:
    yield base
    for sub in base.__subclasses__():
        yield from _subclasses(sub)


def sqlalchemy_builders() -> dict[type[BaseException], Builder]:
    """Constructors of the SQLAlchemy classes that take more than a message."""
    import sqlalchemy as sa
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.engine.default import StrCompileDialect
    from sqlalchemy.orm import exc as orm_exc
    from sqlalchemy.sql.compiler import StrSQLCompiler

    class _Model(_orm_base()):  # type: ignore[misc, valid-type]
        __tablename__ = "driver_exceptions_model"
        id = sa.Column(sa.Integer, primary_key=True)

    return {
        sa_exc.DBAPIError: lambda cls: cls("SELECT 1", {}, Exception("scripted failure")),  # type: ignore[call-arg]
        sa_exc.StatementError: lambda cls: cls("scripted failure", "SELECT 1", {}, None),  # type: ignore[call-arg]
        sa_exc.CircularDependencyError: lambda cls: cls("cycle", cycles=set(), edges=set()),  # type: ignore[call-arg]
        sa_exc.NoReferencedTableError: lambda cls: cls("no table", "t"),  # type: ignore[call-arg]
        sa_exc.NoReferencedColumnError: lambda cls: cls("no column", "t", "c"),  # type: ignore[call-arg]
        sa_exc.UnsupportedCompilationError: lambda cls: cls(StrSQLCompiler(StrCompileDialect(), None), sa.Column),  # type: ignore[call-arg]
        orm_exc.LoaderStrategyException: lambda cls: cls(object, "Model.attr", None, None, (("lazy", "nope"),)),  # type: ignore[call-arg]
        orm_exc.ObjectDeletedError: lambda cls: cls(sa.inspect(_Model())),  # type: ignore[call-arg]
    }


def _orm_base() -> Any:
    from sqlalchemy.orm import declarative_base

    return declarative_base()
