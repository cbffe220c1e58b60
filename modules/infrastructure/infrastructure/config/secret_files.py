"""Settings read from files: ``<NAME>_FILE`` for a secret, and ``SECRETS_DIR`` (a Kubernetes secret volume).

The variable itself wins, then ``<NAME>_FILE``, then ``SECRETS_DIR/<NAME>``. A problem names the
variable and the file, never what the file holds. Symbolic links are followed, as Kubernetes mounts
each key through ``..data``. The sibling modules' settings are read the same way as the infrastructure's.
A file's value is what the parsers see: a leading byte-order mark and surrounding white space dropped.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from modules.infrastructure.domain.config.integration_settings import integration_tables
from modules.infrastructure.domain.config.module_settings import ModuleSettings
from modules.infrastructure.domain.config.settings import FILE_SUFFIX, SETTINGS, secret_setting_names
from modules.infrastructure.domain.errors import ConfigurationError

MAX_SECRET_BYTES = 64 * 1024  # a key, a password or a URL; more means the path names the wrong file
_NOT_FROM_SECRETS_DIR = frozenset({"SECRETS_DIR", "ENV_FILE"})


def with_secret_files(environ: Mapping[str, str], strict: bool = True, modules: Iterable[ModuleSettings] = ()) -> dict[str, str]:
    """``environ`` with each setting it leaves unset read from its file; ``strict=False`` skips the files that fail.

    ``modules``: the sibling modules' tables, whose secret settings may be files too and whose settings may be in ``SECRETS_DIR``.
    """
    tables = (*modules, *integration_tables(environ))  # INTEGRATION_<NAME>_TOKEN_FILE as a module's secret file
    resolved = dict(environ)
    problems: list[str] = []
    production = environ.get("APP_ENV", "").strip().lower() == "production"
    module_secrets = [s.name for table in tables for s in table if s.secret]
    for name in (*secret_setting_names(), *module_secrets):
        named = environ.get(name + FILE_SUFFIX, "").strip()
        if not named:
            continue
        content, problem = _read(name + FILE_SUFFIX, named, production)
        own = environ.get(name, "").strip()
        if problem:
            problems.append(problem)
        elif own and content != own:
            problems.append(f"{name} and {name}{FILE_SUFFIX} are both set and differ; keep one of them")
        elif not own:
            resolved[name] = content
    problems += _read_secrets_dir(environ, resolved, production, [s.name for table in tables for s in table])
    if problems and strict:
        raise ConfigurationError(f"{len(problems)} setting file(s) cannot be used; fix them and restart:", problems)
    return resolved


def _read_secrets_dir(environ: Mapping[str, str], resolved: dict[str, str], production: bool, module_names: list[str]) -> list[str]:
    """Fill unset settings from ``SECRETS_DIR``: any setting of the tables may be there, other files are ignored."""
    folder = environ.get("SECRETS_DIR", "").strip()
    if not folder:
        return []
    path = Path(folder)
    if not path.is_absolute():
        return [f"SECRETS_DIR={folder!r} is a relative path; give the folder's absolute path"]
    if not path.is_dir():
        return [f"SECRETS_DIR={folder!r} is not a folder (missing, or a file); mount the secrets there or unset SECRETS_DIR"]
    problems = []
    for name in (*(s.name for s in SETTINGS), *module_names):
        candidate = path / name
        if name in _NOT_FROM_SECRETS_DIR or resolved.get(name, "").strip() or not os.path.lexists(candidate):
            continue
        content, problem = _read(f"SECRETS_DIR file {name}", str(candidate), production)
        if problem:
            problems.append(problem)
        else:
            resolved[name] = content
    return problems


def _read(label: str, named: str, production: bool) -> tuple[str, str | None]:
    """(content as the parsers see it, problem): the problem names ``label`` and the path, not the content."""
    shown = f"{label} ({named!r})" if label.startswith("SECRETS_DIR") else f"{label}={named!r}"
    path = Path(named)
    if not path.is_absolute():
        return "", f"{shown} is a relative path; give the file's absolute path"
    try:
        status = path.stat()  # follows symbolic links
        if stat.S_ISDIR(status.st_mode):
            return "", f"{shown} is a folder, not a file; name the file that holds the value"
        if not stat.S_ISREG(status.st_mode):
            return "", f"{shown} is not a regular file; name the file that holds the value"
        if production and status.st_mode & stat.S_IROTH:
            return "", f"{shown} is world-readable, refused when APP_ENV=production; chmod o-r it (Kubernetes: defaultMode 0440)"
        with path.open("rb") as file:
            data = file.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        reason = "does not exist" if isinstance(exc, FileNotFoundError) else f"cannot be read ({exc.strerror or type(exc).__name__})"
        return "", f"{shown} {reason}; check the path and the file's permissions"
    if len(data) > MAX_SECRET_BYTES:
        return "", f"{shown} is larger than {MAX_SECRET_BYTES // 1024} KiB; name the file that holds only the value"
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError:
        return "", f"{shown} is not UTF-8 text; save the value as UTF-8"
    content = content.removeprefix("\ufeff")  # a byte-order mark some editors write
    content = content.removesuffix("\n").removesuffix("\r") if content.endswith("\n") else content
    if not content.strip():
        return "", f"{shown} is empty; write the value into it"
    return content.strip(), None  # parsers strip a value: the comparison and the redactor see what they see
