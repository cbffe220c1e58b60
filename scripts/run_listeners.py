#!/usr/bin/env python3
"""Listener worker: run the listeners your modules register, in a process of its own.

    python scripts/run_listeners.py --register modules.learning.module_api:register_listeners
    python scripts/run_listeners.py --register pkg.mod:register --once   # run what is due, then exit

Each ``--register`` names a function that calls ``InfrastructureService.listen(...)``. Without a
broker the process runs the publication records of those listeners (events any process published);
with RabbitMQ it consumes each module's queue. Several workers may run at once: records are claimed
under a lease (SKIP LOCKED on PostgreSQL) and each completion commits with the handler's work.
Exit status: 0 done or stopped (Ctrl-C, SIGTERM), 1 a registration or (with --once) a run failed, 2 usage.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modules.infrastructure.module_api import InfrastructureError, InfrastructureService  # noqa: E402
from scripts.sighup import reload_on_sighup  # noqa: E402

STATUS_EVERY = 30.0


def registration(text: str) -> Callable[[], object]:
    """``--register module.path:function``: the function, imported (argparse turns an error into usage and exit 2)."""
    module_name, _, function_name = text.partition(":")
    if not module_name or not function_name:
        raise argparse.ArgumentTypeError(f"takes module.path:function, not {text!r}")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as exc:
        raise argparse.ArgumentTypeError(f"cannot import {text!r}: {exc}") from None
    if not callable(function):
        raise argparse.ArgumentTypeError(f"{text!r} is not a function")
    return function  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the event listeners your modules register.")
    parser.add_argument("--register", type=registration, action="append", required=True, metavar="MODULE:FUNCTION",
                        help="a function that registers listeners with InfrastructureService.listen (repeatable)")
    parser.add_argument("--once", action="store_true", help="run the publications due now, then exit")
    args = parser.parse_args(argv)
    if args.once:
        os.environ["LISTENER_WORKER"] = "off"  # this process runs them itself, below
    try:
        for register in args.register:
            register()
        if args.once:
            outcomes = InfrastructureService.run_listeners()
            print(f"ran {len(outcomes)}: " + ", ".join(f"{o}: {sum(1 for x in outcomes if x.outcome == o)}" for o in ("completed", "retry", "failed", "skipped")))
            return 0
    except InfrastructureError as exc:
        print(f"listeners cannot run: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    reload_on_sighup()
    listeners = ", ".join(s.listener for s in InfrastructureService.listener_status() if s.pattern)
    print(f"running listeners {listeners}; Ctrl-C or SIGTERM stops", flush=True)
    try:
        while not stop.wait(STATUS_EVERY):
            try:
                for status in InfrastructureService.listener_status():
                    if status.pending or status.failed:
                        print(f"{status.listener}: {status.pending} pending, {status.failed} failed, lag {status.oldest_pending_seconds:.1f} s", flush=True)
            except InfrastructureError as exc:
                print(f"status unavailable: {exc}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        pass
    InfrastructureService.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
