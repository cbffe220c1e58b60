"""SIGHUP rereads the configuration of a long-running script, as daemons do: ``reload_on_sighup()``."""

from __future__ import annotations

import signal
import sys
import threading

from modules.infrastructure.module_api import InfrastructureError, InfrastructureService


def reload_on_sighup() -> None:
    """From now on SIGHUP runs ``InfrastructureService.reload_config()`` on a thread of its own (a signal
    handler must not build clients); what changed, or why the new configuration was refused, goes to stderr.
    A refused reload keeps the configuration in use; the script goes on either way."""
    requested = threading.Event()

    def reload_when_asked() -> None:
        while True:
            requested.wait()
            requested.clear()
            try:
                print(InfrastructureService.reload_config().describe(), file=sys.stderr, flush=True)
            except InfrastructureError as exc:
                print(f"The configuration was not reloaded; the one in use stays: {exc}", file=sys.stderr, flush=True)
            except Exception as exc:  # a defect must not end the script: the next SIGHUP tries again
                print(f"Reloading the configuration failed ({type(exc).__name__}); the one in use stays", file=sys.stderr, flush=True)

    threading.Thread(target=reload_when_asked, name="reload-on-sighup", daemon=True).start()
    signal.signal(signal.SIGHUP, lambda *_: requested.set())
