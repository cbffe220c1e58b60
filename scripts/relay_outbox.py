#!/usr/bin/env python3
"""Relay worker: publish pending outbox events to RabbitMQ, marking each sent once confirmed.

    python scripts/relay_outbox.py            # run until Ctrl-C / SIGTERM, every OUTBOX_POLL_INTERVAL
    python scripts/relay_outbox.py --once     # drain the outbox and exit

Several workers may run at once against PostgreSQL: rows are claimed with SKIP LOCKED, so
none is sent twice; on one SQLite file they take turns (a lock file next to the database).
A row that is not a valid event is marked failed and never stops the worker.
Exit status: 0 done, 1 the broker or database failed (with --once), 2 usage.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modules.infrastructure.module_api import InfrastructureError, InfrastructureService  # noqa: E402
from scripts.sighup import reload_on_sighup  # noqa: E402


MAX_RETRY_WAIT = 60.0


def retry_wait(failures: int, interval: float) -> float:
    """The wait before the next run: the poll interval, then after failures in a row 1, 2, 4 ... up to a minute."""
    if failures <= 1:
        return interval
    return min(MAX_RETRY_WAIT, max(interval, 1.0) * 2 ** min(failures - 2, 60))


def positive_count(text: str) -> int:
    """``--max-messages``: a whole number of 1 or more (argparse turns the error into usage and exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of 1 or more, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Relay the transactional outbox to RabbitMQ.")
    parser.add_argument("--once", action="store_true", help="drain the outbox and exit")
    parser.add_argument("--max-messages", type=positive_count, default=None, help="stop after this many events (1 or more)")
    args = parser.parse_args(argv)
    if args.once:
        try:
            result = InfrastructureService.relay_outbox(max_messages=args.max_messages)
        except InfrastructureError as exc:
            print(f"relay failed: {exc}", file=sys.stderr)
            return 1
        print(f"sent {result.sent}, failed {result.failed}, pending {result.pending}")
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    reload_on_sighup()
    try:
        interval = InfrastructureService.get_config().messaging.relay_poll_interval
    except InfrastructureError as exc:  # a bad setting (RABBITMQ_URL=...?heartbeat=abc): say it, no traceback
        print(f"relay cannot start: {exc}", file=sys.stderr)
        return 1
    failures = 0
    try:
        while not stop.is_set():
            try:
                result = InfrastructureService.relay_outbox(max_messages=args.max_messages)
                failures = 0
                if result.sent or result.failed:
                    print(f"sent {result.sent}, failed {result.failed}, pending {result.pending}", flush=True)
            except InfrastructureError as exc:
                failures += 1
                print(f"relay failed, retrying in {retry_wait(failures, interval):g} s: {exc}", file=sys.stderr, flush=True)
            except Exception:  # a defect, not an event's content (the relay isolates those): keep relaying the rest
                failures += 1
                print(f"relay failed unexpectedly, retrying in {retry_wait(failures, interval):g} s:", file=sys.stderr, flush=True)
                traceback.print_exc()
            stop.wait(retry_wait(failures, interval))
    except KeyboardInterrupt:
        pass
    finally:
        InfrastructureService.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
