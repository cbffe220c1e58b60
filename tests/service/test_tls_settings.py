"""The TLS settings: every file variable's bad input, what they must agree with, and production's rule for plain connections.

Real files in a temporary folder; the unreadable file is checked by a process running as another user
(the tests run as root, whom no file mode stops).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import trustme

from modules.infrastructure.domain.config.configuration import Configuration
from modules.infrastructure.domain.config.settings import SETTINGS
from modules.infrastructure.domain.config.tls_files import EXPECTED
from modules.infrastructure.domain.config.values import AppConfig, TLSFiles
from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.infrastructure.health.report import build_report

FILE_SETTINGS = [s.name for s in SETTINGS if s.group == "tls" and s.name not in ("DB_SSLMODE", "REQUIRE_TLS")]
POSTGRES = "postgresql://app@127.0.0.1:5432/app"
REMOTE_POSTGRES = "postgresql://app@db.internal:5432/app"
BASE = {"LLM_PROVIDER": "local", "DATABASE_URL": POSTGRES, "REDIS_URL": "rediss://127.0.0.1:6380/0",
        "RABBITMQ_URL": "amqps://guest:guest@127.0.0.1:5671/%2F"}
NOBODY = pwd.getpwnam("nobody")
PRODUCTION = {"APP_ENV": "production", "STORAGE_URL": "s3://bucket-for-tests", "LLM_PROVIDER": "local"}


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A CA file, a client certificate and its key (mode 0600), as absolute paths."""
    folder = tmp_path_factory.mktemp("pem")
    ca = trustme.CA()
    client = ca.issue_cert("client@example.test")
    files = {"ca": ca.cert_pem, "cert": client.cert_chain_pems[0], "key": client.private_key_pem}
    for name, blob in files.items():
        blob.write_to_path(str(folder / f"{name}.pem"))
    (folder / "key.pem").chmod(0o600)
    return {name: str(folder / f"{name}.pem") for name in files}


def load(environ: Mapping[str, str]) -> AppConfig:
    return Configuration(environ).load_from_environment()


def problems(environ: Mapping[str, str]) -> list[str]:
    with pytest.raises(ConfigurationError) as raised:
        load(environ)
    return list(raised.value.problems)


def only_problem_naming(environ: Mapping[str, str], name: str) -> str:
    found = [p for p in problems(environ) if name in p]
    assert len(found) == 1, found
    return found[0]


def full_set(pem: dict[str, str]) -> dict[str, str]:
    """Every TLS file setting given, each in agreement with the URLs of ``BASE``."""
    return {**BASE, "DB_SSLROOTCERT": pem["ca"], "DB_SSLCERT": pem["cert"], "DB_SSLKEY": pem["key"],
            "REDIS_TLS_CA_FILE": pem["ca"], "REDIS_TLS_CERT_FILE": pem["cert"], "REDIS_TLS_KEY_FILE": pem["key"],
            "RABBITMQ_TLS_CA_FILE": pem["ca"], "RABBITMQ_TLS_CERT_FILE": pem["cert"], "RABBITMQ_TLS_KEY_FILE": pem["key"]}


# --- every file variable's bad input -------------------------------------------------------------


@pytest.mark.parametrize("name", FILE_SETTINGS)
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("relative/ca.pem", "is a relative path"),
        ("/nowhere/at/all.pem", "does not exist"),
        ("/tmp", "is a folder"),
        ("/dev/null", "is not a regular file"),
        ("/etc/hostname", "holds no PEM block"),
    ],
    ids=["relative", "missing", "folder", "device", "not-pem"],
)
def test_a_bad_file_is_a_problem_naming_the_variable(pem: dict[str, str], name: str, value: str, problem: str) -> None:
    found = only_problem_naming({**full_set(pem), name: value}, name)
    assert found.startswith(f"{name}={value!r} {problem}") and "; expected an absolute path" in found, found


@pytest.mark.parametrize("name", FILE_SETTINGS)
def test_a_file_this_process_cannot_read_is_a_problem_naming_the_variable(open_folder: Path, name: str) -> None:
    secret = open_folder / "root-only.pem"
    secret.write_text("-----BEGIN CERTIFICATE-----\n")
    secret.chmod(0o600)
    hidden = open_folder / "root-only" / "ca.pem"
    hidden.parent.mkdir(mode=0o700)
    hidden.write_text("-----BEGIN CERTIFICATE-----\n")
    assert problems_as_nobody({**BASE, name: str(secret)}) == [f"{name}={str(secret)!r} cannot be read (Permission denied); expected {EXPECTED}"]
    assert problems_as_nobody({**BASE, name: str(hidden)}) == [f"{name}={str(hidden)!r} cannot be reached (Permission denied); expected {EXPECTED}"]


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder every user may enter (pytest's own are root's alone), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="tls-settings-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def problems_as_nobody(environ: Mapping[str, str]) -> list[str]:
    """The configuration's problems as a process of the user ``nobody`` finds them: a child forked from this one
    drops root (whom no file mode stops) and sends them back through a pipe."""
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        try:
            os.setgid(NOBODY.pw_gid)
            os.setuid(NOBODY.pw_uid)
            os.write(writer, json.dumps(Configuration(environ).validate_required_config()).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as answer:
        found: list[str] = json.loads(answer.read() or b"[]")
    os.waitpid(child, 0)
    return found


@pytest.mark.parametrize("name", [*FILE_SETTINGS, "DB_SSLMODE", "REQUIRE_TLS"])
def test_an_empty_value_means_unset_as_for_every_variable(name: str) -> None:
    config = load({**BASE, name: "  "})  # .env.example lists every variable empty: a copy of it must load
    assert config.database.tls == config.cache.tls == config.messaging.tls == TLSFiles() and config.database.ssl_mode is None


@pytest.mark.parametrize(("name", "value"), [("DB_SSLMODE", "verify"), ("DB_SSLMODE", "on"), ("REQUIRE_TLS", "maybe")])
def test_a_wrong_value_is_a_problem_naming_the_variable(name: str, value: str) -> None:
    assert only_problem_naming({**BASE, name: value}, name).startswith(f"{name}={value!r} ")


# --- what the settings must agree with -----------------------------------------------------------


def test_every_setting_reaches_its_config_value(pem: dict[str, str]) -> None:
    config = load(full_set(pem))
    pair = TLSFiles(pem["ca"], pem["cert"], pem["key"])
    assert (config.database.tls, config.cache.tls, config.messaging.tls) == (pair, pair, pair)
    assert config.database.ssl_mode == "verify-full"  # a CA given, no mode: the server is checked
    assert pem["key"] in repr(config) and "PRIVATE KEY" not in repr(config)


@pytest.mark.parametrize(("cert", "key"), [("DB_SSLCERT", "DB_SSLKEY"), ("REDIS_TLS_CERT_FILE", "REDIS_TLS_KEY_FILE"),
                                           ("RABBITMQ_TLS_CERT_FILE", "RABBITMQ_TLS_KEY_FILE")])
def test_a_certificate_needs_its_key_and_a_key_its_certificate(pem: dict[str, str], cert: str, key: str) -> None:
    environ = full_set(pem)
    assert f"{cert} is set but {key} is not" in only_problem_naming({k: v for k, v in environ.items() if k != key}, key)
    assert f"{key} is set but {cert} is not" in only_problem_naming({k: v for k, v in environ.items() if k != cert}, cert)


@pytest.mark.parametrize(
    ("settings", "named", "problem"),
    [
        ({"DATABASE_URL": "sqlite:///var/app.db", "DB_SSLMODE": "require"}, "DB_SSLMODE", "applies to PostgreSQL only"),
        ({"DATABASE_URL": POSTGRES + "?sslmode=disable", "DB_SSLMODE": "verify-full"}, "DB_SSLMODE", "conflicts with sslmode='disable' in the query string of DATABASE_URL"),
        ({"DATABASE_REPLICA_URLS": POSTGRES + "?sslmode=require", "DB_SSLMODE": "verify-ca"}, "DB_SSLMODE", "of DATABASE_REPLICA_URLS"),
        ({"DATABASE_URL": POSTGRES + "?sslrootcert=/etc/other.pem", "DB_SSLROOTCERT": "ca"}, "DB_SSLROOTCERT", "conflicts with sslrootcert='/etc/other.pem'"),
        ({"DB_SSLMODE": "prefer", "DB_SSLROOTCERT": "ca"}, "DB_SSLROOTCERT", "is not used with sslmode=prefer"),
        ({"DB_SSLMODE": "disable", "DB_SSLCERT": "cert", "DB_SSLKEY": "key"}, "DB_SSLCERT", "is not used with sslmode=disable"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/0", "REDIS_TLS_CA_FILE": "ca"}, "REDIS_TLS_CA_FILE", "needs a rediss:// REDIS_URL"),
        ({"REDIS_URL": "", "REDIS_TLS_CA_FILE": "ca"}, "REDIS_TLS_CA_FILE", "REDIS_URL is unset"),
        ({"REDIS_URL": "rediss://127.0.0.1:6380/0?ssl_ca_certs=/etc/other.pem", "REDIS_TLS_CA_FILE": "ca"}, "REDIS_TLS_CA_FILE", "conflicts with ssl_ca_certs="),
        ({"RABBITMQ_URL": "amqps://g:g@a.internal/%2F,amqp://g:g@b.internal/%2F", "RABBITMQ_TLS_CA_FILE": "ca"}, "RABBITMQ_TLS_CA_FILE", "has 1 amqp:// URL(s)"),
        ({"RABBITMQ_URL": "amqps://g:g@a.internal/%2F?ssl_options={'cafile':'/etc/x.pem'}", "RABBITMQ_TLS_CA_FILE": "ca"}, "RABBITMQ_TLS_CA_FILE", "both set up TLS"),
    ],
    ids=["sqlite", "url-mode", "replica-mode", "url-root", "prefer-ca", "disable-cert", "redis-plain", "redis-unset",
         "redis-url-ca", "amqp-plain", "amqp-ssl-options"],
)
def test_a_setting_that_cannot_apply_or_conflicts_with_a_url_is_a_problem(
    pem: dict[str, str], settings: dict[str, str], named: str, problem: str
) -> None:
    environ = {**BASE, **{k: pem.get(v, v) for k, v in settings.items()}}
    assert problem in only_problem_naming(environ, named)


def test_redis_made_from_its_parts_is_reached_over_tls_when_a_tls_file_is_given(pem: dict[str, str]) -> None:
    parts = {**BASE, "REDIS_URL": "", "REDIS_HOST": "cache.internal", "REDIS_PORT": "6380"}
    assert load({**parts, "REDIS_TLS_CA_FILE": pem["ca"]}).cache.redis_url == "rediss://cache.internal:6380/0"
    assert load(parts).cache.redis_url == "redis://cache.internal:6380/0"


def test_the_same_option_in_the_url_and_the_setting_is_fine(pem: dict[str, str]) -> None:
    config = load({**BASE, "DATABASE_URL": POSTGRES + "?sslmode=verify-full", "DB_SSLMODE": "verify-full",
                   "REDIS_URL": f"rediss://127.0.0.1:6380/0?ssl_ca_certs={pem['ca']}", "REDIS_TLS_CA_FILE": pem["ca"]})
    assert config.database.ssl_mode == "verify-full" and config.cache.tls.ca_file == pem["ca"]


def test_a_key_every_user_may_read_is_a_warning_in_development_and_a_problem_in_production(pem: dict[str, str], tmp_path: Path) -> None:
    open_key = tmp_path / "open.key"
    open_key.write_bytes(Path(pem["key"]).read_bytes())
    open_key.chmod(0o644)
    environ = {**full_set(pem), "REDIS_TLS_KEY_FILE": str(open_key)}
    warning = f"REDIS_TLS_KEY_FILE={str(open_key)!r} may be read by every user of this machine"
    assert any(w.startswith(warning) for w in load(environ).warnings)
    assert warning in only_problem_naming({**environ, **PRODUCTION}, "REDIS_TLS_KEY_FILE")
    assert "PRIVATE KEY" not in " ".join(load(environ).warnings)


# --- plain connections to other hosts ------------------------------------------------------------

REMOTE_PLAIN = {"DATABASE_URL": REMOTE_POSTGRES, "REDIS_URL": "redis://cache.internal:6379/0",
                "RABBITMQ_URL": "amqp://app:pw@mq.internal:5672/%2F"}
PLAIN_LINES = ["DATABASE_URL reaches db.internal without TLS (sslmode=prefer)", "REDIS_URL reaches cache.internal without TLS (redis://)",
               "RABBITMQ_URL reaches mq.internal without TLS (amqp://)"]


def test_production_reports_each_plain_connection_to_another_host_in_the_start_up_report() -> None:
    config = load({**PRODUCTION, **REMOTE_PLAIN})
    report = build_report(lambda: config, lambda: [], timeout=5)
    assert report.is_valid
    for line in PLAIN_LINES:
        assert sum(w.startswith(line) for w in report.warnings) == 1, report.warnings
    assert "pw" not in " ".join(report.warnings).replace("without", "")


def test_require_tls_refuses_each_plain_connection_to_another_host() -> None:
    found = problems({**PRODUCTION, **REMOTE_PLAIN, "REQUIRE_TLS": "true"})
    for line in PLAIN_LINES:
        assert sum(p.startswith(line) and p.endswith("REQUIRE_TLS=true refuses it") for p in found) == 1, found


@pytest.mark.parametrize(
    "settings",
    [
        {"DATABASE_URL": "postgresql://app@127.0.0.1:5432/app", "REDIS_URL": "redis://localhost:6379/0", "RABBITMQ_URL": "amqp://g:g@[::1]:5672/%2F"},
        {"DATABASE_URL": "postgresql:///app?host=/var/run/postgresql", "REDIS_URL": "unix:///var/run/redis.sock"},
        {"DATABASE_URL": REMOTE_POSTGRES, "DB_SSLMODE": "require", "REDIS_URL": "rediss://cache.internal:6380/0",
         "RABBITMQ_URL": "amqps://g:g@mq.internal:5671/%2F"},
        {"DATABASE_URL": REMOTE_POSTGRES + "?sslmode=verify-ca"},
    ],
    ids=["loopback", "unix-sockets", "tls-everywhere", "tls-in-the-url"],
)
def test_loopback_sockets_and_tls_raise_nothing_even_with_require_tls(settings: dict[str, str]) -> None:
    config = load({**PRODUCTION, **settings, "REQUIRE_TLS": "true"})
    assert not [w for w in config.warnings if "without TLS" in w]


def test_development_says_nothing_of_plain_connections_unless_required() -> None:
    assert not [w for w in load({"LLM_PROVIDER": "local", **REMOTE_PLAIN}).warnings if "without TLS" in w]
    assert len(problems({"LLM_PROVIDER": "local", **REMOTE_PLAIN, "REQUIRE_TLS": "true"})) == 3
