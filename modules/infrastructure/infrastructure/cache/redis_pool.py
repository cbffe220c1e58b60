"""The redis-py client for ``REDIS_URL``: one server's pool, a Sentinel group's master, or a Cluster; short timeouts,
one immediate retry on a dropped connection (a few, briefly spaced, in a Cluster, to follow a failover)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.commands.core import Script
from redis.connection import parse_url
from redis.retry import Retry
from redis.sentinel import Sentinel

from modules.infrastructure.domain.config.parsers import InvalidValue
from modules.infrastructure.domain.config.redis_topology import RedisTopology, is_topology_url, parse_topology
from modules.infrastructure.domain.config.values import TLSFiles
from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.domain.secrets import mask_url

HEALTH_CHECK_INTERVAL = 30


def build_pool(url: str, socket_timeout: float, tls: TLSFiles = TLSFiles()) -> redis.ConnectionPool:
    """A pool for ``redis://``, ``rediss://`` (TLS) or ``unix://`` URLs; connects on first use, not here.

    redis-py's client default retries three times with up to 10 s of backoff; a cache must fail
    fast instead, so only a connection dropped by the server (a restart) is retried, once, at once.
    A query string redis-py cannot read is a ``ConfigurationError`` naming ``REDIS_URL``. ``tls`` gives the
    CA and client certificate of a ``rediss://`` URL (REDIS_TLS_*; the configuration refuses them on others).
    """
    try:
        pool = redis.ConnectionPool.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            health_check_interval=HEALTH_CHECK_INTERVAL,
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)),
            **_tls_options(tls),
        )
        # A connection object reads every option of the URL's query string (it connects on first use only):
        # an unknown or malformed one fails here, not in the middle of a cache call.
        pool.connection_class(**pool.connection_kwargs)
        _refuse_decoding(pool.connection_kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"REDIS_URL={mask_url(url)} cannot be used: {str(exc).rstrip('.')}; expected a URL such as "
            "redis://host:6379/0 whose query string holds only redis-py's connection options (client_name=app, "
            "socket_keepalive=true, ...; ssl_* on rediss:// only)"
        ) from None
    return pool


def _tls_options(tls: TLSFiles) -> dict[str, str]:
    """redis-py's ssl_* options for the given files; an option in the URL's query string wins (it is the same one)."""
    given = {"ssl_ca_certs": tls.ca_file, "ssl_certfile": tls.cert_file, "ssl_keyfile": tls.key_file}
    return {option: path for option, path in given.items() if path}


class LazyCluster:
    """A ``RedisCluster`` made on first use: redis-py's connects to the seed nodes when made, and a Cluster that is
    down at start-up must cost the cache misses (a failed call, retried after the outage pause), not the start-up."""

    def __init__(self, factory: Callable[[], RedisCluster]) -> None:
        self._factory = factory
        self._client: RedisCluster | None = None
        self._lock = threading.Lock()

    def cluster(self) -> RedisCluster:
        """The client, made now if it is not yet (which connects to the seed nodes)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._factory()
        return self._client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cluster(), name)

    def register_script(self, script: str) -> Callable[..., Any]:
        """The script, registered with the cluster client on its first run, so registering it connects nothing."""
        registered: list[Script] = []

        def run(keys: list[Any] | None = None, args: list[Any] | None = None) -> Any:
            if not registered:
                registered.append(self.cluster().register_script(script))
            return registered[0](keys=keys, args=args)

        return run

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def reset_after_fork(self) -> None:
        self._lock = threading.Lock()
        if self._client is not None:
            for node in self._client.get_nodes():  # type: ignore[no-untyped-call]
                if node.redis_connection is not None:
                    node.redis_connection.connection_pool.reset()


RedisClient = redis.Redis | LazyCluster
CLUSTER_RETRIES = 3  # a failover moves slots: a retry or two, 20 ms apart and more, finds their new master


def build_client(url: str, socket_timeout: float, tls: TLSFiles = TLSFiles()) -> RedisClient:
    """The client for ``url``: ``redis.Redis`` on one server's pool or on the master the sentinels name, or
    ``RedisCluster``. Connects on first use; a query string redis-py cannot read is a ``ConfigurationError``."""
    if not is_topology_url(url):
        return redis.Redis(connection_pool=build_pool(url, socket_timeout, tls))
    try:
        topology = parse_topology(url)
        options = _options(topology, socket_timeout, tls)
    except (InvalidValue, TypeError, ValueError) as exc:
        raise ConfigurationError(f"REDIS_URL={mask_url(url)} cannot be used: {str(exc).rstrip('.')}") from None
    if topology.kind == "cluster":
        retry = Retry(ExponentialBackoff(cap=0.2, base=0.02), CLUSTER_RETRIES)
        nodes = [ClusterNode(host, port) for host, port in topology.nodes]  # type: ignore[no-untyped-call]
        return LazyCluster(lambda: RedisCluster(startup_nodes=nodes, retry=retry, require_full_coverage=False, **options))
    sentinel_options = {"socket_timeout": socket_timeout, "socket_connect_timeout": socket_timeout}
    sentinel = Sentinel(list(topology.nodes), sentinel_kwargs=sentinel_options)
    assert topology.master is not None
    retry = Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,))
    master: redis.Redis = sentinel.master_for(topology.master, db=topology.db, retry=retry, **options)
    return master


def _options(topology: RedisTopology, socket_timeout: float, tls: TLSFiles) -> dict[str, Any]:
    """The data nodes' connection options: timeouts, credentials, TLS, and what the URL's query string sets."""
    scheme = "rediss" if topology.tls else "redis"
    given: dict[str, Any] = parse_url(f"{scheme}://node?{topology.query}") if topology.query else {}  # type: ignore[no-untyped-call]
    for taken in ("host", "port", "db", "username", "password", "path", "connection_class"):
        given.pop(taken, None)
    options: dict[str, Any] = {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_timeout,
        "health_check_interval": HEALTH_CHECK_INTERVAL,
        "username": topology.username,
        "password": topology.password,
    }
    if topology.tls:
        options.update({"ssl": True, **_tls_options(tls)})
    options = {**options, **given}
    _refuse_decoding(options)
    connection_class = redis.SSLConnection if topology.tls else redis.Connection
    connection_class(**{name: value for name, value in options.items() if name != "ssl"})  # an unknown option: here
    return options


def _refuse_decoding(options: dict[str, Any]) -> None:
    """The cache reads bytes (compressed frames, binary values): redis-py must not decode them to text."""
    if options.get("decode_responses"):
        raise ValueError("decode_responses must stay off (the cache reads bytes and decodes text itself); remove it")


def close_client(client: RedisClient) -> None:
    """Close every connection the client holds; the next call opens new ones."""
    if isinstance(client, LazyCluster):
        client.close()
    else:
        client.connection_pool.disconnect()


def reset_after_fork(client: RedisClient) -> None:
    """In a forked child: forget the parent's connections without closing them (they are the parent's)."""
    if isinstance(client, LazyCluster):
        client.reset_after_fork()
    else:
        client.connection_pool.reset()


def describe_target(url: str) -> str:
    """Where the client goes, for the start-up report (no password)."""
    if not is_topology_url(url):
        return mask_url(url)
    topology = parse_topology(url)
    nodes = ", ".join(f"{host}:{port}" for host, port in topology.nodes)
    if topology.kind == "cluster":
        return f"cluster via {nodes}"
    return f"sentinel master {topology.master!r} via {nodes}"
