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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Relay the transactional outbox to RabbitMQ.")
    parser.add_argument("--once", action="store_true", help="drain the outbox and exit")
    parser.add_argument("--max-messages", type=int, default=None, help="stop after this many events")
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
    try:
        interval = InfrastructureService.get_config().messaging.relay_poll_interval
    except InfrastructureError as exc:  # a bad setting (RABBITMQ_URL=...?heartbeat=abc): say it, no traceback
        print(f"relay cannot start: {exc}", file=sys.stderr)
        return 1
    try:
        while not stop.is_set():
            try:
                result = InfrastructureService.relay_outbox(max_messages=args.max_messages)
                if result.sent or result.failed:
                    print(f"sent {result.sent}, failed {result.failed}, pending {result.pending}", flush=True)
            except InfrastructureError as exc:
                print(f"relay failed, retrying in {interval:g} s: {exc}", file=sys.stderr, flush=True)
            except Exception:  # a defect, not an event's content (the relay isolates those): keep relaying the rest
                print(f"relay failed unexpectedly, retrying in {interval:g} s:", file=sys.stderr, flush=True)
                traceback.print_exc()
            stop.wait(interval)
    except KeyboardInterrupt:
        pass
    finally:
        InfrastructureService.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
