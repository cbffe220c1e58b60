"""``PROMETHEUS_MULTIPROC_DIR`` in the settings table, and the gauges' ways of joining several workers' values."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from prometheus_client import Gauge

from modules.infrastructure.domain.config.configuration import Configuration
from modules.infrastructure.domain.errors import ConfigurationError, InvalidArgumentError
from modules.infrastructure.domain.metrics.declarations import GAUGE_MODES, declaration
from modules.infrastructure.infrastructure.metrics.process_figures import ProcessFigures
from modules.infrastructure.infrastructure.metrics.registry import InfrastructureMetrics

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def problem(folder: str) -> str:
    with pytest.raises(ConfigurationError) as caught:
        Configuration({VARIABLE: folder}).load_from_environment()
    [named] = [p for p in caught.value.problems if VARIABLE in p]
    return named


def test_a_writable_folder_is_the_configured_one_and_unset_means_one_process(tmp_path: Path) -> None:
    assert Configuration({VARIABLE: f" {tmp_path} "}).load_from_environment().metrics.multiprocess_dir == str(tmp_path)
    assert Configuration({}).load_from_environment().metrics.multiprocess_dir is None


def test_a_missing_folder_or_a_file_is_a_configuration_error_naming_the_variable(tmp_path: Path) -> None:
    assert "does not exist" in problem(str(tmp_path / "missing"))
    file = tmp_path / "a-file"
    file.write_text("")
    assert "is not a folder" in problem(str(file))
    assert "expected an existing folder every worker process may write to" in problem(str(file))


def test_a_folder_this_process_cannot_write_to_is_a_configuration_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The access check itself; root may write anywhere, so the real refusal is shown as user nobody in
    tests/integration/test_metrics_multiprocess_bad_input.py."""
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if str(path) == str(tmp_path) else real_access(path, mode))
    assert "is not writable by this process" in problem(str(tmp_path))


def test_every_gauge_of_the_module_says_how_workers_values_join() -> None:
    """prometheus_client's default, ``all``, keeps an ended worker's value in the scrape for ever."""
    copied = [gauge for group in vars(ProcessFigures()).values() if isinstance(group, dict) for gauge in group.values()]
    gauges = [value for value in [*vars(InfrastructureMetrics()).values(), *copied] if isinstance(value, Gauge)]
    assert gauges
    assert {gauge._name: gauge._multiprocess_mode for gauge in gauges if gauge._multiprocess_mode not in GAUGE_MODES} == {}


def test_a_sibling_gauge_is_one_series_per_worker_unless_it_names_a_live_mode() -> None:
    assert declaration("gauge", "queue", "Queue").multiprocess_mode == "liveall"
    assert declaration("gauge", "queue", "Queue", multiprocess_mode="livesum").multiprocess_mode == "livesum"
    assert declaration("counter", "sent", "Sent").multiprocess_mode is None


@pytest.mark.parametrize("mode", ["all", "sum", "max", "mostrecent", "LIVESUM", "", 1])
def test_a_mode_that_keeps_ended_workers_or_is_unknown_is_refused(mode: object) -> None:
    with pytest.raises(InvalidArgumentError, match="multiprocess_mode= is one of liveall, livesum"):
        declaration("gauge", "queue", "Queue", multiprocess_mode=mode)


def test_only_a_gauge_takes_a_mode() -> None:
    with pytest.raises(InvalidArgumentError, match="only a gauge takes multiprocess_mode="):
        declaration("counter", "sent", "Sent", multiprocess_mode="livesum")
