"""What each driver is handed from the TLS settings: libpq's ssl* arguments, redis-py's ssl_* options, and pika's
SSLOptions, whose context is shown to check the node's certificate and present the client's in a real handshake."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pika
import pytest
import trustme

from modules.infrastructure.domain.config.values import DatabaseConfig, MessagingConfig, TLSFiles
from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.infrastructure.cache.redis_pool import build_pool
from modules.infrastructure.infrastructure.database.engine_options import engine_arguments
from modules.infrastructure.infrastructure.messaging.rabbitmq_publisher import broker_settings, connection_parameters

NODE = "mq.internal"
POSTGRES = "postgresql+psycopg2://app@db.internal:5432/app"


@dataclass(frozen=True)
class Files:
    ca: trustme.CA
    server: trustme.LeafCert
    tls: TLSFiles
    key_text: str


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    folder = tmp_path_factory.mktemp("driver-tls")
    ca = trustme.CA()
    client = ca.issue_cert("client@example.test", common_name="relay")
    paths = {"ca.pem": ca.cert_pem, "client.pem": client.cert_chain_pems[0], "client.key": client.private_key_pem}
    for name, blob in paths.items():
        blob.write_to_path(str(folder / name))
    tls = TLSFiles(str(folder / "ca.pem"), str(folder / "client.pem"), str(folder / "client.key"))
    return Files(ca, ca.issue_cert(NODE), tls, client.private_key_pem.bytes().decode())


def amqps_parameters(tls: TLSFiles, url: str = f"amqps://relay:pw@{NODE}:5671/%2F") -> pika.URLParameters:
    [params] = connection_parameters(broker_settings(MessagingConfig(rabbitmq_urls=(url,), tls=tls)))
    return params


# --- pika ----------------------------------------------------------------------------------------


def test_amqps_parameters_check_the_node_against_the_ca_and_present_the_client_certificate(files: Files) -> None:
    options = amqps_parameters(files.tls).ssl_options
    assert options is not None and options.server_hostname == NODE
    context = options.context
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.get_ca_certs(binary_form=True) == [ssl.PEM_cert_to_DER_cert(files.ca.cert_pem.bytes().decode())]
    with TLSNode(files) as node:
        handshake(context, options.server_hostname, node.port)
    assert [subject[-1] for subject in node.subjects] == [(("commonName", "relay"),)]


def test_a_wrong_ca_fails_the_handshake(files: Files, tmp_path: Path) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    options = amqps_parameters(TLSFiles(str(other), files.tls.cert_file, files.tls.key_file)).ssl_options
    assert options is not None
    with TLSNode(files) as node, pytest.raises(ssl.SSLCertVerificationError):
        handshake(options.context, NODE, node.port)


def test_amqps_without_files_checks_the_node_against_the_systems_cas_by_its_name() -> None:
    options = amqps_parameters(TLSFiles()).ssl_options
    assert options is not None and options.server_hostname == NODE and options.context.check_hostname


def test_amqp_urls_get_no_tls_and_a_urls_own_ssl_options_are_kept(files: Files) -> None:
    [plain] = connection_parameters(broker_settings(MessagingConfig(rabbitmq_urls=(f"amqp://g:g@{NODE}/%2F",))))
    assert plain.ssl_options is None
    own = amqps_parameters(TLSFiles(), f"amqps://g:g@{NODE}:5671/%2F?ssl_options={{'cafile':'{files.tls.ca_file}'}}").ssl_options
    assert own is not None and own.server_hostname is None  # pika's, from the URL


def test_a_key_that_is_not_the_certificates_is_a_configuration_error_naming_both(files: Files, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger.key"
    files.ca.issue_cert("someone@example.test").private_key_pem.write_to_path(str(stranger))
    with pytest.raises(ConfigurationError) as raised:
        amqps_parameters(TLSFiles(files.tls.ca_file, files.tls.cert_file, str(stranger)))
    message = str(raised.value)
    assert "RABBITMQ_TLS_CERT_FILE" in message and "RABBITMQ_TLS_KEY_FILE" in message and "KEY_VALUES_MISMATCH" in message, message
    assert all(line not in message for line in files.key_text.splitlines()[1:-1])


# --- libpq and redis-py --------------------------------------------------------------------------


def test_postgres_gets_sslmode_and_the_files(files: Files) -> None:
    config = DatabaseConfig(url=POSTGRES, ssl_mode="verify-full", tls=files.tls)
    arguments = engine_arguments(POSTGRES, config)["connect_args"]
    assert {k: arguments[k] for k in ("sslmode", "sslrootcert", "sslcert", "sslkey")} == {
        "sslmode": "verify-full", "sslrootcert": files.tls.ca_file, "sslcert": files.tls.cert_file, "sslkey": files.tls.key_file}


def test_postgres_without_tls_settings_gets_none_of_them() -> None:
    arguments = engine_arguments(POSTGRES, DatabaseConfig(url=POSTGRES))["connect_args"]
    assert not {"sslmode", "sslrootcert", "sslcert", "sslkey"} & set(arguments)


def test_redis_gets_the_files_on_a_rediss_url(files: Files) -> None:
    options = build_pool("rediss://cache.internal:6380/0", 0.5, files.tls).connection_kwargs
    assert (options["ssl_ca_certs"], options["ssl_certfile"], options["ssl_keyfile"]) == (
        files.tls.ca_file, files.tls.cert_file, files.tls.key_file)


# --- a TLS node that requires a client certificate ------------------------------------------------


def handshake(context: ssl.SSLContext, server_hostname: str | None, port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=server_hostname) as tls:
            tls.recv(1)  # TLS 1.3 reports the node's verdict on the client certificate with the first read


class TLSNode:
    """A one-connection TLS listener on 127.0.0.1 with the node's certificate, requiring a client certificate from the CA."""

    def __init__(self, files: Files) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        files.server.configure_cert(self.context)
        files.ca.configure_trust(self.context)
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.subjects: list[Any] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> TLSNode:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join(timeout=5)
        self.listener.close()

    def _serve(self) -> None:
        self.listener.settimeout(5)
        try:
            connection, _ = self.listener.accept()
        except OSError:
            return
        with connection:
            try:
                with self.context.wrap_socket(connection, server_side=True) as tls:
                    self.subjects.append((tls.getpeercert() or {})["subject"])
                    tls.sendall(b"+")
            except (ssl.SSLError, OSError):
                return
