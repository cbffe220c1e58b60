"""``EnvironmentLoader``: the process environment plus a dotenv file, read once per process."""

from __future__ import annotations

import io
import logging
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from modules.infrastructure.domain.config.configuration import Configuration
from modules.infrastructure.domain.config.module_settings import ModuleSettings
from modules.infrastructure.domain.config.unknown_variables import UNKNOWN_VARIABLE
from modules.infrastructure.domain.config.values import AppConfig
from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.domain.secrets import Redactor, secrets_in_environment
from modules.infrastructure.infrastructure.config.module_discovery import discover_module_settings
from modules.infrastructure.infrastructure.config.secret_files import with_secret_files
from modules.infrastructure.infrastructure.module_folders import module_names

DEFAULT_ENV_FILE = ".env"
logger = logging.getLogger(__name__)


class EnvironmentLoader:
    """Merges a dotenv file under the real environment (which wins) and validates the result.

    ``ENV_FILE`` names another dotenv file; a missing default ``.env`` is fine, a missing
    file named by ``ENV_FILE`` is an error.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self._lock = threading.Lock()
        self._config: AppConfig | None = None
        self._merged: dict[str, str] | None = None
        self._tables: tuple[ModuleSettings, ...] | None = None

    def load_config(self) -> AppConfig:
        """The validated ``AppConfig``, parsed on the first call and cached."""
        config = self._config
        if config is None:
            with self._lock:
                if self._config is None:
                    self._config = Configuration(self.environment(), self._modules(), module_names()).load_from_environment()
                config = self._config
        return config

    def environment(self) -> dict[str, str]:
        """The merged variables: the dotenv file's values overridden by the real environment."""
        if self._merged is None:
            real = self._real()
            self._merged = with_secret_files({**_read_env_file(real.get("ENV_FILE", "").strip(), real), **real}, modules=self._modules())
        return self._merged

    def _modules(self) -> tuple[ModuleSettings, ...]:
        """The sibling modules' settings tables, found once: their secrets may come from files too."""
        if self._tables is None:
            self._tables = discover_module_settings()
        return self._tables

    def _real(self) -> dict[str, str]:
        return dict(os.environ if self._environ is None else self._environ)

    def redactor(self) -> Redactor:
        """A redactor that knows every secret value, even when the dotenv file is malformed."""
        try:
            environment = self.environment()
        except ConfigurationError:
            real = self._real()
            lenient = {**_read_env_file(real.get("ENV_FILE", "").strip(), real, strict=False), **real}
            try:
                tables = self._modules()
            except ConfigurationError:  # a module's bad declaration: its secrets are still masked by name
                tables = ()
            environment = with_secret_files(lenient, strict=False, modules=tables)
        secrets = secrets_in_environment(environment)
        # A password from DB_PASSWORD or REDIS_PASSWORD appears percent-encoded in the URL made of it.
        return Redactor(secrets | {quote(s, safe="") for s in secrets})

    def reset(self) -> None:
        """Forget the cached configuration, so the next ``load_config()`` reads everything again."""
        with self._lock:
            self._config = None
            self._merged = None
            self._tables = None


def log_unknown_variables(config: AppConfig) -> None:
    """Each mistyped-looking variable once, when the configuration is read (names only, never values)."""
    for warning in config.warnings:
        if UNKNOWN_VARIABLE in warning:
            logger.warning(warning)


def _read_env_file(named: str, real: Mapping[str, str], strict: bool = True) -> dict[str, str]:
    """The file's variables, ``${VAR}`` resolved; ``strict`` makes a missing named file or a malformed line an error."""
    path = Path(named or DEFAULT_ENV_FILE)
    if not path.is_file():
        if named and strict:
            raise ConfigurationError(f"ENV_FILE={named!r} does not exist or is not a file; fix the path or unset ENV_FILE")
        return {}
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        if not strict:
            return {}
        raise ConfigurationError(_unreadable(path, named, exc)) from None
    bad_lines = [b.original.line for b in parse_stream(io.StringIO(content)) if b.error]
    if bad_lines and strict:
        raise ConfigurationError(
            f"{path} could not be parsed; write each setting as NAME=value",
            [f"{path} line {n} is not NAME=value" for n in bad_lines],
        )
    values: dict[str, str] = {}
    for key, value in dotenv_values(stream=io.StringIO(content), interpolate=False).items():
        if value is not None:
            values[key] = _interpolate(value, real, values)
    return values


def _unreadable(path: Path, named: str, exc: OSError | UnicodeDecodeError) -> str:
    """Why the dotenv file cannot be read, naming it and how it was chosen; never its content."""
    which = f"ENV_FILE={named!r}" if named else f"The dotenv file {str(path)!r}"
    if isinstance(exc, UnicodeDecodeError):
        return (
            f"{which} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8 with one NAME=value per line, or point ENV_FILE at the right file"
        )
    return f"{which} cannot be read ({exc.strerror or type(exc).__name__}); check its permissions, or unset ENV_FILE"


_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def _interpolate(value: str, real: Mapping[str, str], earlier: Mapping[str, str]) -> str:
    """Resolve ``${NAME}`` and ``${NAME:-default}``: the real environment first, then earlier lines of the file."""

    def lookup(match: re.Match[str]) -> str:
        name = match["name"]
        return real.get(name) or earlier.get(name) or (match["default"] or "")

    return _REFERENCE.sub(lookup, value)

