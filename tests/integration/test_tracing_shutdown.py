"""Shutdown with a collector that never answers, at the default export timeout of ten seconds: it sends what it can
for a few seconds and then gives up, instead of waiting for the SDK's 30 s while each queued batch times out in turn."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from modules.infrastructure.infrastructure.tracing.provider import SHUTDOWN_WAIT_SECONDS
from modules.infrastructure.module_api import InfrastructureService
from modules.infrastructure.infrastructure.runtime import runtime
from tests.integration.otlp_receiver import OtlpReceiver
from tests.integration.silent_collector import SilentCollector
from tests.integration.test_tracing_export import export_to
from tests.waiting import wait_for

SLACK = 2.0  # seconds past the wait: the thread's start, a slow machine


def test_shutdown_with_a_silent_collector_gives_up_after_its_wait_and_counts_the_rest_failed(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SilentCollector() as collector:
        export_to(monkeypatch, collector.endpoint)
        for number in range(2000):  # four batches of the SDK's 512
            with InfrastructureService.trace(f"job {number % 10}"):
                pass
        wait_for(lambda: collector.connections > 0, 5, "an export under way")
        tracing = runtime.current().tracing  # its counts: the facade builds a new component after the shutdown
        started = time.monotonic()
        InfrastructureService.shutdown()
        shutdown = time.monotonic() - started
        print(f"\nshutdown with a silent collector and the default timeout: {shutdown:.1f} s")
        assert shutdown < SHUTDOWN_WAIT_SECONDS + SLACK, f"shutdown took {shutdown:.1f} s"
        # The batches after the one under way (which ends at its timeout) fail at once, counted: nothing waits for them.
        wait_for(lambda: tracing.export_counts().get("failed", 0) >= 2000 - 512, 15, "the batches left counted as failed")


def test_a_reset_during_an_export_that_would_wait_ten_minutes_returns_and_the_next_provider_exports(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SilentCollector() as collector, OtlpReceiver() as receiver:
        export_to(monkeypatch, collector.endpoint, OTEL_EXPORTER_OTLP_TIMEOUT="600000")
        with InfrastructureService.trace("lost"):
            pass
        wait_for(lambda: collector.connections > 0, 5, "an export under way")
        started = time.monotonic()
        export_to(monkeypatch, receiver.endpoint)  # a reset: the old provider is shut down
        assert time.monotonic() - started < SHUTDOWN_WAIT_SECONDS + SLACK
        with InfrastructureService.trace("kept"):
            pass
        [kept] = receiver.wait_for(lambda got: len(got) == 1)
    assert kept.name == "kept"


def test_at_interpreter_exit_where_no_thread_may_start_shutdown_gives_up_at_once(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python 3.12 and later start no thread at interpreter exit: the shutdown then stops the exporter and lets the
    spans still waiting go, rather than wait for the export under way (the process is ending)."""
    import threading

    from modules.infrastructure.infrastructure.tracing import provider

    class NoThreads(threading.Thread):
        def start(self) -> None:
            raise RuntimeError("can't create new thread at interpreter shutdown")

    with SilentCollector() as collector:
        export_to(monkeypatch, collector.endpoint)
        for number in range(2000):
            with InfrastructureService.trace(f"job {number % 10}"):
                pass
        wait_for(lambda: collector.connections > 0, 5, "an export under way")
        monkeypatch.setattr(provider.threading, "Thread", NoThreads)
        started = time.monotonic()
        InfrastructureService.shutdown()
        shutdown = time.monotonic() - started
    print(f"\nshutdown where no thread may start: {shutdown:.1f} s")
    assert shutdown < SHUTDOWN_WAIT_SECONDS + SLACK, f"shutdown took {shutdown:.1f} s"
