"""prometheus_client's multi-process mode: whether this process is in it, its folder, and a dead worker's files.

prometheus_client chooses the mode once, when ``prometheus_client.values`` is first imported: with
``PROMETHEUS_MULTIPROC_DIR`` in the process environment then, every metric value is kept in a file of
``<folder>/<kind>_<pid>.db`` (read there when each value is created), and a scrape must merge the files
(``MultiProcessCollector``). The module follows the library's choice and checks that the folder is usable
and that the configuration says the same, so a worker never writes where the scrape does not read.
"""

from __future__ import annotations

import atexit
import os

from prometheus_client import multiprocess, values

from modules.infrastructure.domain.config.metrics_folder import MULTIPROC_DIR, metrics_folder
from modules.infrastructure.domain.config.parsers import InvalidValue
from modules.infrastructure.domain.errors import ConfigurationError, InvalidArgumentError


def is_multiprocess() -> bool:
    """Whether prometheus_client keeps this process's values in files (the variable was set when it was imported)."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


def multiprocess_folder() -> str | None:
    """The folder of this process's metric files, checked; ``None`` in single-process mode.

    ``ConfigurationError`` naming the variable when the folder is missing, not a folder or not writable, or
    when the variable was set or unset after prometheus_client chose its mode."""
    raw = os.environ.get(MULTIPROC_DIR, "").strip()
    if not is_multiprocess():
        if raw:
            raise ConfigurationError(
                f"{MULTIPROC_DIR} was set after prometheus_client was imported, which then chose single-process metrics; "
                "set it in the environment the server starts with, before any import"
            )
        return None
    if MULTIPROC_DIR in os.environ and not raw:
        raise ConfigurationError(
            f"{MULTIPROC_DIR} is set but empty, which prometheus_client takes as multi-process mode with its files in the "
            "working directory; name a folder, or remove the variable from the environment (an empty value does not unset it)"
        )
    if not raw:
        raise ConfigurationError(f"{MULTIPROC_DIR} was removed from the environment after prometheus_client was imported in multi-process mode; keep it set")
    try:
        return metrics_folder(raw)
    except InvalidValue as exc:
        raise ConfigurationError(f"{MULTIPROC_DIR}={raw!r} {exc.problem}; expected {exc.expected}") from None


def same_as_configured(configured: str | None) -> str | None:
    """``multiprocess_folder()``, when the configuration (dotenv file and secret files included) names the same folder."""
    folder = multiprocess_folder()
    if configured is not None and (folder is None or os.path.realpath(configured) != os.path.realpath(folder)):
        where = f"{folder!r} in the process environment" if folder else "not set in the process environment"
        raise ConfigurationError(
            f"{MULTIPROC_DIR} is {configured!r} in the configuration but {where}: prometheus_client reads only the process "
            "environment, so set it there (the dotenv file and secret files are read too late for it)"
        )
    return folder


def mark_process_dead(pid: object) -> None:
    """Remove the live gauges' files of the ended worker ``pid`` (its counters and histograms stay in the sums);
    nothing in single-process mode. ``InvalidArgumentError`` for a ``pid`` that is not a positive whole number."""
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        raise InvalidArgumentError(f"mark_metrics_process_dead(pid) takes the ended worker's process id, e.g. worker.pid, not {pid!r:.40}")
    folder = multiprocess_folder()
    if folder is not None:
        multiprocess.mark_process_dead(pid, folder)  # type: ignore[no-untyped-call]  # the library's function has no hints


_leaving_registered = False


def leave_the_scrape_at_exit() -> None:
    """Once per process: when it exits normally, its live gauges go as ``mark_process_dead`` would take them, so a
    server without a ``child_exit`` hook (or a process of its own) leaves none behind; a killed one needs the hook."""
    global _leaving_registered
    if not _leaving_registered:
        _leaving_registered = True
        atexit.register(_leave)


def _leave() -> None:
    try:
        mark_process_dead(os.getpid())
    except ConfigurationError:  # the folder went away meanwhile: nothing to take out of it
        pass
