"""A RabbitMQ node of the test's own on 127.0.0.1: free ports, a scratch folder, stopped by its pid.

    with PrivateRabbitMQ(tmp_path) as node:
        node.url              # amqp://guest:guest@127.0.0.1:<port>/%2F
        node.raise_alarm()    # memory alarm: the broker blocks every publishing connection
        node.clear_alarm()
        node.stop(); node.start()   # a broker restart, as far as clients can tell

The shared RabbitMQ on 5672 is never touched: faults that would disturb other tests happen here.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Self

import pytest

from tests.integration.free_ports import server_port

BIN = Path("/usr/lib/rabbitmq/bin")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
CTL_TIMEOUT = 30.0
ALARM_WATERMARK = "0.0000001"  # of the machine's memory: far below what the node uses, so the alarm goes off
NORMAL_WATERMARK = "0.4"  # RabbitMQ's default


class PrivateRabbitMQ:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.node = f"infra_test_{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self._dist_port = free_port()
        self._cookie = uuid.uuid4().hex.upper()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def __enter__(self) -> Self:
        if not (BIN / "rabbitmq-server").exists():
            pytest.fail(f"{BIN / 'rabbitmq-server'} is missing; the fault tests start a private RabbitMQ (apt-get install rabbitmq-server)")
        (self.folder / "conf.conf").write_text(self.config_text())
        (self.folder / "enabled_plugins").write_text("[].\n")
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def config_text(self) -> str:
        """The node's rabbitmq.conf (a subclass adds a TLS listener)."""
        return f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users = none\n"

    def start(self) -> None:
        """Start the node (again, on the same ports and data) and wait until it takes AMQP connections."""
        log = (self.folder / "server.log").open("ab")
        self._process = subprocess.Popen(
            [str(BIN / "rabbitmq-server")], env=self._environment(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self._wait_for_port(open_=True)

    def stop(self) -> None:
        """Kill the node's process group (the script, the Erlang VM and its helpers) and wait for its port to close."""
        process, self._process = self._process, None
        if process is None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(process.pid, signal.SIGKILL)  # whatever the shell script left running
        process.wait(timeout=STOP_TIMEOUT)
        self._wait_for_port(open_=False)

    def raise_alarm(self) -> None:
        self.ctl("set_vm_memory_high_watermark", ALARM_WATERMARK)

    def clear_alarm(self) -> None:
        self.ctl("set_vm_memory_high_watermark", NORMAL_WATERMARK)

    def ctl(self, *arguments: str) -> str:
        """Run ``rabbitmqctl`` against this node; its output, or a failed test with its error."""
        done = subprocess.run(
            [str(BIN / "rabbitmqctl"), "-n", self.node, *arguments],
            env=self._environment(),
            capture_output=True,
            text=True,
            timeout=CTL_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"rabbitmqctl {' '.join(arguments)} failed: {done.stderr or done.stdout}")
        return done.stdout

    def _environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": str(self.folder),  # the Erlang cookie is written and read here, not in the shared node's home
            "RABBITMQ_ERLANG_COOKIE": self._cookie,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self._dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.folder / "pid"),
        }

    def _wait_for_port(self, open_: bool) -> None:
        deadline = time.monotonic() + (START_TIMEOUT if open_ else STOP_TIMEOUT)
        while _port_open(self.port) != open_:
            if time.monotonic() > deadline:
                log = self.folder / "server.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                pytest.fail(f"the private RabbitMQ on port {self.port} did not {'start' if open_ else 'stop'}: {tail}")
            time.sleep(0.1)


def _signal_group(pid: int, signal_number: int) -> None:
    try:
        os.killpg(pid, signal_number)
    except ProcessLookupError:
        pass


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    """A free port below the ephemeral range: the node is restarted on it."""
    return server_port()
