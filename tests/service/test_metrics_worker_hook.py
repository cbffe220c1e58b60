"""``mark_metrics_process_dead`` and sibling gauges' ``multiprocess_mode`` in a single-process run (the default).

With ``PROMETHEUS_MULTIPROC_DIR`` set, tests/integration/test_metrics_multiprocess.py runs them on real processes.
"""

from __future__ import annotations

import os

import pytest

from modules.infrastructure.module_api import InfrastructureService, InvalidArgumentError
from modules.infrastructure.module_api.testing import fake_infrastructure


def test_marking_a_worker_dead_without_several_processes_does_nothing() -> None:
    InfrastructureService.mark_metrics_process_dead(os.getpid() + 1_000_000)


@pytest.mark.parametrize("pid", [0, -1, "123", 1.5, True, None])
def test_a_pid_that_is_not_a_positive_whole_number_is_refused(pid: object) -> None:
    with pytest.raises(InvalidArgumentError, match="worker.pid"):
        InfrastructureService.mark_metrics_process_dead(pid)  # type: ignore[arg-type]


def test_a_sibling_gauge_with_a_mode_records_as_any_gauge_in_one_process() -> None:
    with fake_infrastructure():
        metrics = InfrastructureService.get_metrics("billing")
        metrics.gauge("in_progress", "Invoices being rendered", multiprocess_mode="livesum").inc(2)
        metrics.gauge("latest_amount", "Total of the latest invoice", multiprocess_mode="livemostrecent").set(9.5)
        text = InfrastructureService.metrics_text()
        assert 'in_progress{module="billing"} 2.0' in text
        assert 'latest_amount{module="billing"} 9.5' in text


def test_a_latest_value_gauge_takes_set_only_and_its_mode_is_part_of_its_shape() -> None:
    with fake_infrastructure():
        metrics = InfrastructureService.get_metrics("billing")
        latest = metrics.gauge("latest_amount", "Total of the latest invoice", multiprocess_mode="livemostrecent")
        with pytest.raises(InvalidArgumentError, match="takes set\\(\\) only"):
            latest.inc()
        with pytest.raises(InvalidArgumentError, match="takes set\\(\\) only"):
            latest.dec(2)
        with pytest.raises(InvalidArgumentError, match="already declared"):
            metrics.gauge("latest_amount", "Total of the latest invoice", multiprocess_mode="livesum")
