"""A private Redis Cluster and a private Sentinel group on 127.0.0.1, from the machine's redis-server: free ports,
a scratch folder, no persistence; every process stopped by its pid at the end. The shared Redis is never touched.

    with PrivateRedisCluster(tmp_path) as cluster:      # 3 masters, each with a replica
        cluster.url                                      # redis+cluster://127.0.0.1:<port>,...
        cluster.kill_master_of(b"key")                   # SIGKILL; its replica takes over
    with PrivateSentinelGroup(tmp_path) as group:       # a master, a replica, 3 sentinels
        group.url                                        # redis+sentinel://127.0.0.1:<port>,.../mymaster
        group.kill_master()
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Self

import pytest
import redis
from redis.cluster import key_slot

from tests.integration.free_ports import server_port
from tests.integration.private_redis import _free_port, stop_process

START_TIMEOUT = 30.0
MASTER = "mymaster"


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; the Cluster and Sentinel tests start private ones (apt-get install redis-server)")
    return found


def _wait(check: object, what: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():  # type: ignore[operator]
                return
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(0.1)


class _Servers:
    """redis-server processes started by this object, stopped by their pids."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, port: int, *arguments: str) -> None:
        folder = self.folder / str(port)
        folder.mkdir(parents=True, exist_ok=True)
        command = [_binary("redis-server"), *arguments, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--dir", str(folder), "--daemonize", "no"]
        self.processes[port] = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kill(self, port: int) -> None:
        process = self.processes.pop(port)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            stop_process(process)
        self.processes.clear()


class _Topology:
    """Starts its servers on entering (``_start``), stops every one of them on leaving or when starting fails."""

    _servers: _Servers

    def __enter__(self) -> Self:
        try:
            self._start()
        except BaseException:
            self._servers.stop_all()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._servers.stop_all()

    def _start(self) -> None:
        raise NotImplementedError


def client(port: int) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=2, socket_connect_timeout=2)


class PrivateRedisCluster(_Topology):
    """Three masters with a replica each, a node timeout of one second (a killed master is replaced in about two)."""

    def __init__(self, folder: Path, masters: int = 3) -> None:
        self.ports = [server_port(bus_offset=10000) for _ in range(masters * 2)]
        self.masters = masters
        self._servers = _Servers(folder)

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports[:2])

    def _start(self) -> None:
        for port in self.ports:
            self._servers.start(port, "--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf",
                                "--cluster-node-timeout", "1000", "--cluster-replica-validity-factor", "0")
        for port in self.ports:
            _wait(lambda port=port: client(port).ping(), f"node {port}")
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        subprocess.run([_binary("redis-cli"), "--cluster", "create", *nodes, "--cluster-replicas", "1", "--cluster-yes"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        _wait(self.healthy, "the cluster to cover every slot")
        _wait(self._replicas_synced, "every replica to sync with its master")

    def healthy(self) -> bool:
        """Every live node says the cluster is ok and sees the same number of masters."""
        for port in self._servers.processes:
            if client(port).cluster("INFO").get("cluster_state") != "ok":
                return False
        return len(self.master_ports()) == self.masters

    def _replicas_synced(self) -> bool:
        replicas = [port for port in self.ports if client(port).info("replication").get("role") == "slave"]
        links = [client(port).info("replication").get("master_link_status") for port in replicas]
        return len(replicas) == self.masters and all(link == "up" for link in links)

    def master_ports(self) -> list[int]:
        """The live masters' ports, as the live nodes see them."""
        port = next(iter(self._servers.processes))
        masters = []
        for address, node in client(port).cluster("NODES").items():
            flags = node.get("flags", "")
            if "master" in flags and "fail" not in flags:
                masters.append(int(address.split("@")[0].rsplit(":", 1)[1]))
        return sorted(p for p in masters if p in self._servers.processes)

    def master_of(self, key: bytes) -> int:
        slot = key_slot(key)
        port = next(iter(self._servers.processes))
        for start, end, master, *_ in client(port).cluster("SLOTS"):  # [[start, end, [host, port, id], replicas...]]
            if start <= slot <= end:
                return int(master[1])
        raise LookupError(f"no master serves slot {slot}")

    def kill_master_of(self, key: bytes) -> int:
        """SIGKILL the master serving ``key``; returns its port."""
        port = self.master_of(key)
        self._servers.kill(port)
        return port

    def keys_per_master(self) -> dict[int, int]:
        return {port: int(client(port).dbsize()) for port in self.master_ports()}


class PrivateSentinelGroup(_Topology):
    """A master, one replica and three sentinels (quorum 2, down after one second)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.master_port, self.replica_port = _free_port(), _free_port()
        self.sentinel_ports = [_free_port() for _ in range(3)]
        self._servers = _Servers(folder)

    @property
    def url(self) -> str:
        return "redis+sentinel://" + ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports) + f"/{MASTER}"

    def _start(self) -> None:
        self._servers.start(self.master_port)
        self._servers.start(self.replica_port, "--replicaof", "127.0.0.1", str(self.master_port))
        for port in self.sentinel_ports:
            config = self.folder / f"sentinel-{port}.conf"
            config.write_text(
                f"sentinel monitor {MASTER} 127.0.0.1 {self.master_port} 2\n"
                f"sentinel down-after-milliseconds {MASTER} 1000\n"
                f"sentinel failover-timeout {MASTER} 5000\n"
                f"sentinel parallel-syncs {MASTER} 1\n"
            )
            self._servers.start(port, str(config), "--sentinel")
        _wait(self._replicating, "the replica to sync")
        _wait(self._sentinels_agree, "the sentinels to find each other and the replica")

    def current_master(self) -> int:
        host, port = client(self.sentinel_ports[0]).sentinel_get_master_addr_by_name(MASTER)
        return int(port)

    def kill_master(self) -> int:
        port = self.current_master()
        self._servers.kill(port)
        return port

    def _replicating(self) -> bool:
        return client(self.replica_port).info("replication").get("master_link_status") == "up"

    def _sentinels_agree(self) -> bool:
        for port in self.sentinel_ports:
            state = client(port).sentinel_master(MASTER)
            if int(state["num-other-sentinels"]) < 2 or int(state["num-slaves"]) < 1:
                return False
        return True
