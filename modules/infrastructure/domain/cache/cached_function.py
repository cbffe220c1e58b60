"""``@InfrastructureService.cached(...)``: a function whose results are kept in a module's cache, computed once per key.

The key is a template naming the function's arguments (``"lesson:{lesson_id}"``, ``"user:{user.id}"``) or, without
one, the function's name and a digest of its arguments, which must then be plain values (text, numbers, dates,
UUIDs, and tuples of them) so that every process makes the same key; a method needs a template (its instance must be
part of the key).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import string
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Generic, ParamSpec, TypeVar

from modules.infrastructure.domain.cache.get_or_compute import ComputeOptions
from modules.infrastructure.domain.cache.keys import check_module_namespace
from modules.infrastructure.domain.cache.ports import Cache
from modules.infrastructure.domain.errors import InvalidArgumentError

P = ParamSpec("P")
R = TypeVar("R")
_PLAIN = (str, int, float, bool, bytes, Decimal, uuid.UUID, date, datetime, time, timedelta, Enum, type(None))
_RECEIVERS = ("self", "cls")  # a method's instance or class: a key must say which


class CachedFunction(Generic[P, R]):
    """The decorated function: call it as before; ``invalidate(...)`` forgets the result for those arguments and
    ``cache_key(...)`` shows the key they make."""

    def __init__(
        self, fn: Callable[P, R], cache: Callable[[], Cache], template: str | None, options: ComputeOptions
    ) -> None:
        self._fn = fn
        self._cache = cache
        self._template = template
        # The template's fields that are whole arguments (not user.id): checked hashable at each call.
        self._plain_fields = [field for field in _fields(template, whole=True) if field.isidentifier()] if template else []
        self._options = options
        self._signature = inspect.signature(fn)
        self._name = _name_of(fn)
        functools.update_wrapper(self, fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        options = self._options
        return self._cache().get_or_set(  # type: ignore[no-any-return]
            self.cache_key(*args, **kwargs),
            lambda: self._fn(*args, **kwargs),
            options.ttl,
            refresh_ahead=options.refresh_ahead,
            lock_ttl=options.lock_ttl,
            lock_wait=options.lock_wait,
        )

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        """On a class, a method: bound to the instance like the function it replaces."""
        return self if instance is None else functools.partial(self, instance)  # type: ignore[arg-type]

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Forget the result for these arguments; true when there was one."""
        return self._cache().delete(self.cache_key(*args, **kwargs))

    def cache_key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """The key these arguments make (within the decorator's namespace)."""
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        if self._template is not None:
            return self._formatted(arguments)
        parts = []
        for name, value in arguments.items():
            if self._signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
                value = tuple(sorted(value.items()))  # f(a=1, b=2) and f(b=2, a=1) are one call
            _check_hashable(self._name, name, value)
            parts.append(f"{name}={_plain(self._name, name, value)}")
        digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"{self._name}:{digest}"


    def _formatted(self, arguments: dict[str, Any]) -> str:
        template = self._template
        assert template is not None
        for field in self._plain_fields:
            _check_hashable(self._name, field, arguments[field])
        try:
            return template.format(**arguments)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
            raise InvalidArgumentError(
                f"{self._name} is cached with key={template!r:.80}, which these arguments cannot fill: "
                f"{type(exc).__name__}: {exc}"
            ) from None


def cached_decorator(
    cache: Callable[[str], Cache],
    namespace: str,
    *,
    ttl: float | None,
    key: str | None,
    refresh_ahead: float | None,
    lock_ttl: float,
    lock_wait: float,
) -> Callable[[Callable[P, R]], CachedFunction[P, R]]:
    """The decorator, with everything it can check before it sees the function checked now."""
    check_module_namespace(namespace)
    options = ComputeOptions.checked(ttl, refresh_ahead, lock_ttl, lock_wait)
    if key is not None and (not isinstance(key, str) or not key):
        raise InvalidArgumentError(f"cached(key=...) is a template such as 'lesson:{{lesson_id}}', not {key!r:.60}")

    def decorate(fn: Callable[P, R]) -> CachedFunction[P, R]:
        if isinstance(fn, staticmethod | classmethod):
            raise InvalidArgumentError(f"put @cached below @{type(fn).__name__}, next to the function, not above it")
        if not inspect.isfunction(fn):
            # A partial's bound arguments, a bound method's instance, a callable object's state: none is in the key.
            raise InvalidArgumentError(
                f"@cached decorates a function (def), not a {type(fn).__name__}: its state would not be in the key; "
                "write a function that takes what varies as arguments"
            )
        if key is None and fn.__name__ == "<lambda>":
            raise InvalidArgumentError("a lambda has no name of its own to key by: give @cached a key template, or use a def")
        if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
            raise InvalidArgumentError(f"@cached cannot keep the result of {_name_of(fn)}: it is async")
        if key is not None:
            _check_template(fn, key)
        else:
            _refuse_receiver(fn)
        return CachedFunction(fn, lambda: cache(namespace), key, options)

    return decorate


def _check_template(fn: Callable[..., Any], template: str) -> None:
    """Every field of ``template`` must name a parameter of ``fn`` (``{lesson_id}``, ``{user.id}``)."""
    parameters = inspect.signature(fn).parameters
    try:
        names = _fields(template)
    except ValueError as exc:
        raise InvalidArgumentError(f"cached(key={template!r:.80}) is not a template: {exc}") from None
    for name in names:
        if not name or name.isdigit():
            raise InvalidArgumentError(
                f"cached(key={template!r:.80}) has a field without a name; name the argument, as in 'lesson:{{lesson_id}}'"
            )
        if name not in parameters:
            raise InvalidArgumentError(
                f"cached(key={template!r:.80}) names '{name}', which {fn.__qualname__} does not take; "
                f"its arguments: {', '.join(parameters) or 'none'}"
            )
        if parameters[name].kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise InvalidArgumentError(f"cached(key={template!r:.80}) names *{name}; a key names single arguments")


def _fields(template: str, *, whole: bool = False) -> list[str]:
    """The argument each field of ``template`` starts from (``user`` for ``{user.id}`` and ``{user[0]}``), fields in
    format specs (``{x:{width}}``) included; with ``whole``, the fields as written."""
    names = []
    for _, field, spec, _ in string.Formatter().parse(template):
        if field is not None:
            names.append(field if whole else field.split(".", 1)[0].split("[", 1)[0])
        if spec and "{" in spec:
            names += _fields(spec, whole=whole)
    return names


def _refuse_receiver(fn: Callable[..., Any]) -> None:
    """A method without a key template would share its results across instances (tenants, connections)."""
    first = next(iter(inspect.signature(fn).parameters), None)
    if first in _RECEIVERS:
        raise InvalidArgumentError(
            f"{_name_of(fn)} takes {first}: its results may differ between instances, which a key made of the other "
            f"arguments would mix up. Give @cached a key naming what tells instances apart, such as "
            f"'{{{first}.id}}:{{...}}', or cache a plain function"
        )


def _name_of(fn: Callable[..., Any]) -> str:
    """``module.qualified_name`` (a ``functools.partial`` or a callable object has its type's)."""
    module = getattr(fn, "__module__", None) or type(fn).__module__
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{module}.{name}"


def _check_hashable(function: str, name: str, value: object) -> None:
    try:
        hash(value)
    except TypeError:
        raise InvalidArgumentError(
            f"{function} is cached, so its arguments must be hashable; '{name}' is a {type(value).__name__} "
            "(pass a tuple instead of a list, a frozenset instead of a set)"
        ) from None


def _plain(function: str, name: str, value: object) -> str:
    """``value`` as text every process writes alike; an object whose text may differ is refused."""
    if isinstance(value, tuple | frozenset):
        items = sorted(value, key=repr) if isinstance(value, frozenset) else value
        return "(" + ",".join(_plain(function, name, item) for item in items) + ")"
    if isinstance(value, int) and not isinstance(value, bool | Enum):
        return f"int:{value:x}"  # hex: repr refuses ints past 4,300 digits
    if isinstance(value, _PLAIN):
        return f"{type(value).__name__}:{value!r}"
    raise InvalidArgumentError(
        f"{function} is cached without a key template, and its argument '{name}' is a {type(value).__name__}, "
        f"whose text may differ between processes; give @cached a key such as '{{{name}.id}}'"
    )
