"""REDIS_URL for a Sentinel group or a Cluster: what each form names, and every malformed one refused with a reason."""

from __future__ import annotations

import pytest

from modules.infrastructure.domain.config.configuration import Configuration
from modules.infrastructure.domain.config.parsers import InvalidValue, redis_url
from modules.infrastructure.domain.config.redis_topology import RedisTopology, is_topology_url, parse_topology
from modules.infrastructure.module_api import ConfigurationError


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis+cluster://a:7000,b:7001", RedisTopology("cluster", (("a", 7000), ("b", 7001)))),
        ("redis+cluster://a", RedisTopology("cluster", (("a", 6379),))),
        ("REDIS+CLUSTER://a:7000/0", RedisTopology("cluster", (("a", 7000),))),
        ("rediss+cluster://u:p%40ss@[::1]:7000?ssl_cert_reqs=none",
         RedisTopology("cluster", (("::1", 7000),), None, 0, "u", "p@ss", True, "ssl_cert_reqs=none")),
        ("redis+sentinel://s1,s2:26380/mymaster", RedisTopology("sentinel", (("s1", 26379), ("s2", 26380)), "mymaster")),
        ("redis+sentinel://:secret@s1:26379/cache-master/3",
         RedisTopology("sentinel", (("s1", 26379),), "cache-master", 3, None, "secret")),
        ("rediss+sentinel://s1/m/", RedisTopology("sentinel", (("s1", 26379),), "m", 0, tls=True)),
    ],
)
def test_each_form_names_its_nodes_master_database_and_credentials(url: str, expected: RedisTopology) -> None:
    assert is_topology_url(url)
    assert parse_topology(url) == expected
    assert redis_url(url) == url.strip()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("redis+cluster://", "names no nodes"),
        ("redis+cluster://u:p@", "names no nodes"),
        ("redis+sentinel:///mymaster", "names no nodes"),
        ("redis+cluster://a:7000,,b:7001", "an empty node"),
        ("redis+cluster://a:7000,", "an empty node"),
        ("redis+cluster://a:0", "port is not 1 to 65535"),
        ("redis+cluster://a:65536", "port is not 1 to 65535"),
        ("redis+cluster://a:x", "port is not 1 to 65535"),
        ("redis+cluster://-a:7000", "whose host cannot be one"),
        ("redis+cluster://[zz::1]:7000", "whose host cannot be one"),
        ("redis+cluster://[::1:7000", "not host:port"),
        ("redis+cluster://a:7000/2", "a Redis Cluster has database 0 only"),
        ("redis+cluster://a:7000/x/y", "not a database number"),
        ("redis+sentinel://s1:26379", "names no master"),
        ("redis+sentinel://s1:26379/", "names no master"),
        ("redis+sentinel://s1/bad%20name", "not a Sentinel master name"),
        ("redis+sentinel://s1/m/abc", "not a database number"),
        ("redis+cluster://a:7000#frag", "fragment"),
        ("redis+cluster://" + ",".join(f"n{i}:7000" for i in range(65)), "more than 64"),
    ],
)
def test_a_malformed_url_is_refused_saying_why(url: str, reason: str) -> None:
    with pytest.raises(InvalidValue, match=reason):
        redis_url(url)


def test_the_configuration_names_redis_url_and_never_shows_the_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Configuration({"REDIS_URL": "redis+sentinel://:hunter2secret@s1:26379"}).load_from_environment()
    message = str(caught.value)
    assert "REDIS_URL" in message and "names no master" in message and "hunter2secret" not in message


def test_one_server_urls_are_not_topologies() -> None:
    for url in ("redis://a:6379/0", "rediss://a", "unix:///tmp/redis.sock"):
        assert not is_topology_url(url)


@pytest.mark.parametrize(
    ("url", "nodes", "password", "query"),
    [
        ("redis+cluster://u:PW@h:7000?client_name=a@b", (("h", 7000),), "PW", "client_name=a@b"),  # @ in an option
        ("redis+sentinel://:S3cr3t/PW@h:26379/m", (("h", 26379),), "S3cr3t/PW", ""),  # / in the password
        ("redis+sentinel://:p@ss@h:26379/m", (("h", 26379),), "p@ss", ""),  # @ in the password
        ("redis+sentinel://s1/m?ssl_ca_certs=/etc/a@b.pem", (("s1", 26379),), None, "ssl_ca_certs=/etc/a@b.pem"),
    ],
)
def test_the_credentials_end_where_the_nodes_begin(url: str, nodes: tuple[tuple[str, int], ...], password: str | None, query: str) -> None:
    topology = parse_topology(url)
    assert (topology.nodes, topology.password, topology.query) == (nodes, password, query)


@pytest.mark.parametrize("url", ["redis+sentinel://:S3cr3t/PW@h:99999/m", "redis+sentinel://u:S3cr3t@h:26379", "redis+cluster://u:S3cr3t@bad host:7000"])
def test_a_malformed_url_with_credentials_never_quotes_the_password(url: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_topology(url)
    assert "S3cr3t" not in str(caught.value)
