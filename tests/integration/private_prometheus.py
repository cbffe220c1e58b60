"""A Prometheus server of the test's own on 127.0.0.1 (Debian's prometheus package): a free port, a scratch folder,
a generated configuration scraping the given targets every second, stopped by its pid.

    with PrivatePrometheus(tmp_path, targets=["127.0.0.1:9464"], rule_files=[rules]) as prometheus:
        prometheus.query('infrastructure_outbox_up')     # the result list of an instant query
        prometheus.alerts()                              # the alerts the server holds
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Self, TypeVar

import pytest

from tests.integration.private_redis import _free_port, stop_process
from tests.integration.services import services_required

START_TIMEOUT = 30.0
T = TypeVar("T")


class PrivatePrometheus:
    def __init__(self, folder: Path, targets: Sequence[str], rule_files: Sequence[Path] = ()) -> None:
        self.folder = folder
        self.port = _free_port()
        self._targets, self._rules = list(targets), list(rule_files)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        binary = shutil.which("prometheus")
        if binary is None:
            reason = "prometheus is not installed (Debian: apt-get install prometheus; .ci/run installs it)"
            if services_required():
                pytest.fail(f"{reason} [REQUIRE_SERVICES=1]", pytrace=False)
            pytest.skip(reason)
        config = self.folder / "prometheus.yml"
        config.write_text(json.dumps(self._configuration()))  # JSON is YAML
        command = [binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{self.port}", f"--storage.tsdb.path={self.folder / 'data'}"]
        self._log = (self.folder / "prometheus.log").open("wb")
        self._process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        self.wait_for(lambda: self._get("/-/ready") is not None, START_TIMEOUT, "Prometheus to be ready")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            stop_process(self._process)
        self._log.close()

    def query(self, expression: str) -> list[dict[str, Any]]:
        answer = self._get("/api/v1/query?" + urllib.parse.urlencode({"query": expression}))
        return [] if answer is None else list(json.loads(answer)["data"]["result"])

    def alerts(self) -> list[dict[str, Any]]:
        answer = self._get("/api/v1/alerts")
        return [] if answer is None else list(json.loads(answer)["data"]["alerts"])

    def rule_groups(self) -> list[str]:
        """The names of the rule groups the server loaded."""
        answer = self._get("/api/v1/rules")
        return [] if answer is None else [group["name"] for group in json.loads(answer)["data"]["groups"]]

    def wait_for(self, found: Callable[[], T], timeout: float, what: str) -> T:
        """``found()``'s first truthy answer within ``timeout`` seconds; the test fails with the server's log otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = found()
            if answer:
                return answer
            time.sleep(0.25)
        log = (self.folder / "prometheus.log").read_text(errors="replace")[-2000:]
        pytest.fail(f"waited {timeout:g} s for {what}; prometheus's log ends:\n{log}")

    def _configuration(self) -> dict[str, Any]:
        return {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(path) for path in self._rules],
            "scrape_configs": [{"job_name": "app", "static_configs": [{"targets": self._targets}]}],
        }

    def _get(self, path: str) -> bytes | None:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:
                body: bytes = response.read()
                return body
        except OSError:
            return None
