"""Settings a sibling module declares for itself: ``<MODULE>_*`` variables, parsed like the infrastructure's own.

A module writes its table once (``ModuleSettings("content_creation", setting(...), ...)``) in
``modules/<name>/settings.py``; the infrastructure finds it there, parses it with the same parsers and
messages as its own table, and hands the module a frozen ``SettingValues``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from modules.infrastructure.domain.config import parsers as p
from modules.infrastructure.domain.errors import InvalidArgumentError
from modules.infrastructure.domain.secrets import SECRET_NAME_SUFFIXES, Secret, is_secret_name, mask_url

_MODULE_NAME = re.compile(r"[a-z][a-z0-9_]*")
_VARIABLE_TAIL = re.compile(r"[A-Z][A-Z0-9_]*")
RESERVED_MODULES = frozenset({"infrastructure"})
HIDDEN = "<hidden>"

Shown = Callable[[str, str], str]  # (variable, raw value) -> how the value appears in a problem


@dataclass(frozen=True)
class ModuleSetting:
    """One declared variable; ``default`` is written as in ``.env`` (``None``: unset), ``secret`` values are ``Secret``."""

    name: str
    parse: p.Parser
    default: str | None
    description: str
    secret: bool

    @property
    def documented(self) -> str:
        """The description with a number's range, as the docs state the infrastructure's own settings."""
        limits = self.parse.limits if isinstance(self.parse, p.Bounded) else ""
        return f"{self.description}; {limits}" if limits else self.description


def setting(
    name: str, kind: p.Parser, *, default: str | int | float | bool | None = None, description: str, secret: bool | None = None
) -> ModuleSetting:
    """Declare ``name`` read with ``kind`` (a parser of ``setting_types``); ``InvalidArgumentError`` for a bad declaration.

    ``secret`` defaults to what the name says (``*_KEY``, ``*_TOKEN``, ``*_PASSWORD``, ``*_SECRET``), and must agree
    with it: the log redactor recognises secrets by name. A default must parse with ``kind``; a secret takes none,
    as the docs and ``.env.example`` print every default.
    """
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"setting(name) takes the variable's name, e.g. 'BILLING_RETRIES', not {name!r:.60}")
    if not callable(kind):
        raise InvalidArgumentError(f"setting({name!r}) takes a parser of setting_types as its kind (integer(1, 10), text, ...), not {kind!r:.60}")
    if not isinstance(description, str) or not description.strip():
        raise InvalidArgumentError(f"setting({name!r}) needs a description: the docs and .env.example print it")
    named_secret = is_secret_name(name)
    if secret is not None and (not isinstance(secret, bool) or secret != named_secret):
        raise InvalidArgumentError(
            f"setting({name!r}, secret={secret!r}): a secret's name ends with one of {', '.join(SECRET_NAME_SUFFIXES)} and only "
            "a secret's does (that is how every log line masks it); rename the variable or drop secret="
        )
    written = _written(name, default)
    if written is not None and named_secret:
        raise InvalidArgumentError(
            f"setting({name!r}) is a secret and takes no default: the docs and .env.example print defaults in clear; "
            "drop default= and set the variable (or its _FILE) where the module runs"
        )
    if written is not None:
        try:
            kind(written)
        except p.InvalidValue as exc:
            raise InvalidArgumentError(f"setting({name!r}) has a default {mask_url(written)[:60]!r} that {exc.problem}; expected {exc.expected}") from None
    return ModuleSetting(name, kind, written, description.strip(), named_secret)


def _written(name: str, default: object) -> str | None:
    """A default as ``.env`` would hold it: text as given, ``true``/``false``, ``30``, ``0.5``."""
    if default is None or isinstance(default, str):
        return default
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, int | float):
        return p.show_number(default)
    raise InvalidArgumentError(f"setting({name!r}) takes a default of text, a number or a bool, not {type(default).__name__}")


class ModuleSettings:
    """A module's table of settings: each variable named ``<MODULE>_...`` in upper case, each once.

    ``ModuleSettings("billing", setting("BILLING_RETRIES", integer(0, 10), default=3, description="..."))``;
    ``InvalidArgumentError`` for a bad module name, a variable outside the prefix, a duplicate or a non-declaration.
    """

    def __init__(self, module: str, *settings: ModuleSetting, label: str | None = None) -> None:
        """``label`` is how messages name the table's owner (default: ``the <module> module``)."""
        if not isinstance(module, str) or not _MODULE_NAME.fullmatch(module) or module in RESERVED_MODULES:
            raise InvalidArgumentError(f"ModuleSettings(module) takes the module's package name, e.g. 'content_creation', not {module!r:.60}")
        self.module = module
        self.label = label or f"the {module} module"
        self.prefix = module.upper() + "_"
        self._by_attribute: dict[str, ModuleSetting] = {}
        for declared in settings:
            self._add(declared)

    def _add(self, declared: object) -> None:
        if not isinstance(declared, ModuleSetting):
            raise InvalidArgumentError(f"ModuleSettings({self.module!r}) takes setting(...) declarations, not {type(declared).__name__}")
        tail = declared.name[len(self.prefix) :] if declared.name.startswith(self.prefix) else ""
        if not _VARIABLE_TAIL.fullmatch(tail):
            raise InvalidArgumentError(
                f"{self.module} declares {declared.name!r}; its variables are named {self.prefix}<NAME> in upper case "
                f"(letters, digits, _; a letter first), e.g. {self.prefix}MAX_ITEMS"
            )
        attribute = tail.lower()
        if attribute in own_attributes():
            raise InvalidArgumentError(f"{self.module} declares {declared.name}; {attribute!r} is taken by the values' own attribute, choose another name")
        if attribute in self._by_attribute:
            raise InvalidArgumentError(f"{self.module} declares {declared.name} twice; each variable once")
        self._by_attribute[attribute] = declared

    def __iter__(self) -> Iterator[ModuleSetting]:
        return iter(self._by_attribute.values())

    def __len__(self) -> int:
        return len(self._by_attribute)

    def __repr__(self) -> str:
        return f"ModuleSettings({self.module!r}, {', '.join(s.name for s in self)})"

    def read(self, environ: Mapping[str, str], shown: Shown | None = None) -> tuple[SettingValues, list[str]]:
        """The values from ``environ`` and one problem per malformed variable (its default stands in for it).

        ``shown`` renders a bad value as the infrastructure's messages do; a secret's is never shown.
        """
        show = shown or (lambda _, raw: repr(mask_url(raw)[:60]))
        problems: list[str] = []
        values = {attribute: _value(declared, environ.get(declared.name, "").strip(), show, problems) for attribute, declared in self._by_attribute.items()}
        return SettingValues(self.module, values, {a: s.name for a, s in self._by_attribute.items()}), problems


def multi_line_secret(name: str, raw: str) -> str | None:
    """The problem of a secret holding a control character (a line break would split an HTTP header or a
    connection string); ``None`` when it is one line of text."""
    if any(ord(c) < 32 or ord(c) == 127 for c in raw):
        return f"{name} holds a line break or another control character; a secret is one line of text"
    return None


def _value(declared: ModuleSetting, raw: str, show: Shown, problems: list[str]) -> Any:
    """``raw`` parsed, else (unset or malformed, with its problem noted) the default; ``None`` without one."""
    problem = multi_line_secret(declared.name, raw) if declared.secret else None
    if problem:
        problems.append(problem)
        return None
    if raw:
        try:
            return _held(declared, declared.parse(raw))
        except p.InvalidValue as exc:
            value = HIDDEN if declared.secret else show(declared.name, raw)
            problems.append(f"{declared.name}={value} {exc.problem}; expected {exc.expected}")
    return None if declared.default is None else _held(declared, declared.parse(declared.default))


def read_modules(
    tables: Iterable[ModuleSettings], environ: Mapping[str, str], shown: Shown | None = None
) -> tuple[Mapping[str, SettingValues], list[str]]:
    """Every module's values by module name, and every module's problems together."""
    values: dict[str, SettingValues] = {}
    problems: list[str] = []
    for table in tables:
        values[table.module], found = table.read(environ, shown)
        problems += found
    return MappingProxyType(values), problems


def clashes(tables: Iterable[ModuleSettings], taken: Iterable[str]) -> list[str]:
    """Each declaration problem across tables: a module declared twice, or a variable another table (or ``taken``) has."""
    owners = {name: "the infrastructure" for name in taken}
    problems: list[str] = []
    modules: set[str] = set()
    for table in tables:
        if table.module in modules:
            problems.append(f"The module {table.module} has two settings tables; declare one, in modules/{table.module}/settings.py")
        modules.add(table.module)
        for declared in table:
            if declared.name in owners:
                problems.append(f"{declared.name} of {table.module} is already {owners[declared.name]}'s; rename it")
            owners.setdefault(declared.name, table.module)
    return problems


def own_attributes() -> frozenset[str]:
    """``SettingValues``' own public attributes: a setting of such a name could not be read as an attribute."""
    return frozenset(name for name in dir(SettingValues) if not name.startswith("_"))


def _held(declared: ModuleSetting, value: Any) -> Any:
    """A secret's text as a ``Secret`` (each item of a list); any other value as parsed."""
    if not declared.secret:
        return value
    if isinstance(value, tuple):
        return tuple(Secret(item) if isinstance(item, str) else item for item in value)
    return Secret(value) if isinstance(value, str) else value


class SettingValues:
    """A module's parsed settings, frozen: ``values.max_image_bytes`` (the variable's name less the prefix, in lower
    case) or ``values["CONTENT_CREATION_MAX_IMAGE_BYTES"]``; secrets are ``Secret`` and ``repr`` masks URL passwords."""

    __slots__ = ("_module", "_values", "_names")
    _module: str
    _values: Mapping[str, Any]
    _names: Mapping[str, str]

    def __init__(self, module: str, values: Mapping[str, Any], names: Mapping[str, str]) -> None:
        object.__setattr__(self, "_module", module)
        object.__setattr__(self, "_values", MappingProxyType(dict(values)))
        object.__setattr__(self, "_names", MappingProxyType(dict(names)))

    @property
    def module(self) -> str:
        return self._module

    @property
    def variables(self) -> tuple[str, ...]:
        """The names of the module's variables, in the order of its table."""
        return tuple(self._names.values())

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        try:
            return self._values[attribute]
        except KeyError:
            raise AttributeError(f"{self._module} declares no setting {attribute!r}; it has {', '.join(self._values) or 'none'}") from None

    def __getitem__(self, name: str) -> Any:
        for attribute, variable in self._names.items():
            if variable == name:
                return self._values[attribute]
        raise KeyError(f"{self._module} declares no variable {name!r}")

    def __setattr__(self, attribute: str, value: object) -> None:
        raise AttributeError(f"{self._module}'s settings are frozen; set {self._names.get(attribute, 'the variable')} and restart")

    def __delattr__(self, attribute: str) -> None:
        raise AttributeError(f"{self._module}'s settings are frozen")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SettingValues) and (self._module, dict(self._values)) == (other._module, dict(other._values))

    def __hash__(self) -> int:
        return hash((self._module, tuple(self._values)))

    def __repr__(self) -> str:
        shown = ", ".join(f"{a}={_masked(v)!r}" for a, v in self._values.items())
        return f"SettingValues({self._module}: {shown})"

    __str__ = __repr__


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_url(value)
    if isinstance(value, tuple):
        return tuple(_masked(item) for item in value)
    return value


def settings_of(found: Mapping[str, SettingValues], module: object) -> SettingValues:
    """The values of ``module`` (its name or its table); ``InvalidArgumentError`` when no such table was found."""
    name = module.module if isinstance(module, ModuleSettings) else module
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"get_module_settings() takes a module's name or its ModuleSettings table, not {module!r:.60}")
    try:
        return found[name]
    except KeyError:
        raise InvalidArgumentError(
            f"The module {name!r} has no settings table here (found: {', '.join(found) or 'none'}); declare "
            f"SETTINGS = ModuleSettings({name!r}, ...) in modules/{name}/settings.py"[:300]
        ) from None
