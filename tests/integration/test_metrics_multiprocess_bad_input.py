"""A ``PROMETHEUS_MULTIPROC_DIR`` that cannot work, in a process started with it: a ``ConfigurationError`` naming
the variable, from the scrape and from a sibling's first metric, instead of prometheus_client's ``OSError``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_metrics_multiprocess import WAIT_SECONDS, base_env

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
NOBODY = 65534
SIBLING_METRIC = 'from modules.infrastructure.module_api import InfrastructureService as S; S.get_metrics("billing").counter("sent", "Sent").inc()'


def python(code: str, env: dict[str, str], cwd: Path) -> str:
    """Run ``code`` after importing the facade; what it printed, or ``<class>: <message>`` of the error it raised."""
    program = (
        "import os, sys\nfrom modules.infrastructure.module_api import InfrastructureService, InfrastructureError\n"
        f"try:\n    exec({code!r})\nexcept InfrastructureError as exc:\n    print(f'{{type(exc).__name__}}: {{exc}}')\n"
    )
    done = subprocess.run([sys.executable, "-c", program], cwd=cwd, env=env, capture_output=True, text=True, timeout=WAIT_SECONDS)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


@pytest.mark.parametrize("code", ["InfrastructureService.metrics_text()", SIBLING_METRIC])
def test_a_missing_folder_is_a_configuration_error_naming_the_variable(tmp_path: Path, code: str) -> None:
    missing = tmp_path / "metrics"
    answer = python(code, {**base_env(tmp_path), VARIABLE: str(missing)}, tmp_path)
    assert answer.startswith("ConfigurationError:")
    assert f"{VARIABLE}='" in answer and "' does not exist; expected an existing folder" in answer  # a long path is cut short


@pytest.mark.parametrize("code", ["InfrastructureService.metrics_text()", SIBLING_METRIC])
def test_a_file_instead_of_a_folder_is_a_configuration_error(tmp_path: Path, code: str) -> None:
    file = tmp_path / "metrics"
    file.write_text("")
    answer = python(code, {**base_env(tmp_path), VARIABLE: str(file)}, tmp_path)
    assert answer.startswith("ConfigurationError:") and f"{VARIABLE}='" in answer and "' is not a folder" in answer


@pytest.fixture
def read_only_folder() -> Iterator[Path]:
    """A folder every user may enter but none other than root may write to (outside pytest's root-only tmp)."""
    folder = Path(tempfile.mkdtemp(prefix="metrics-read-only-"))
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)
    shutil.rmtree(folder)


def test_a_folder_the_process_cannot_write_to_is_a_configuration_error(tmp_path: Path, read_only_folder: Path) -> None:
    """As root the process drops to nobody once the module is imported: root may write anywhere."""
    loaded = "import modules.infrastructure.infrastructure.metrics.multiprocess, modules.infrastructure.infrastructure.metrics.module_metrics; "
    drop = loaded + (f"os.setgid({NOBODY}); os.setuid({NOBODY}); " if os.geteuid() == 0 else "")  # the interpreter's files are root's
    env = {**base_env(tmp_path), VARIABLE: str(read_only_folder)}
    answer = python(drop + SIBLING_METRIC, env, tmp_path)
    assert answer.startswith("ConfigurationError:") and f"{VARIABLE}={str(read_only_folder)!r} is not writable by this process" in answer
    assert os.listdir(read_only_folder) == []


def test_the_variable_only_in_the_dotenv_file_is_an_error_saying_where_to_set_it(tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    env_file = tmp_path / "app.env"
    env_file.write_text(f"{VARIABLE}={folder}\n")
    answer = python("InfrastructureService.metrics_text()", {**base_env(tmp_path), "ENV_FILE": str(env_file)}, tmp_path)
    assert answer.startswith("ConfigurationError:")
    assert f"{VARIABLE} is {str(folder)!r} in the configuration but not set in the process environment" in answer


def test_the_variable_set_after_prometheus_client_was_imported_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    code = f"import prometheus_client; os.environ[{VARIABLE!r}] = {str(folder)!r}; InfrastructureService.metrics_text()"
    answer = python(code, base_env(tmp_path), tmp_path)
    assert answer.startswith("ConfigurationError:") and f"{VARIABLE} was set after prometheus_client was imported" in answer


def test_the_folder_is_checked_relative_to_the_working_directory_as_prometheus_client_uses_it(tmp_path: Path) -> None:
    (tmp_path / "metrics").mkdir()
    answer = python(SIBLING_METRIC + "; print(sorted(os.listdir('metrics')))", {**base_env(tmp_path), VARIABLE: "metrics"}, tmp_path)
    assert answer.startswith("[") and "counter_" in answer, answer


def test_an_empty_value_in_the_environment_is_an_error_not_files_in_the_working_directory(tmp_path: Path) -> None:
    """prometheus_client looks only at whether the variable is there: empty, it would write into the working directory."""
    answer = python(SIBLING_METRIC, {**base_env(tmp_path), VARIABLE: ""}, tmp_path)
    assert answer.startswith("ConfigurationError:") and f"{VARIABLE} is set but empty" in answer
    assert not list(tmp_path.glob("*.db"))
