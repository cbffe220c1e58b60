"""Certificates made for one test run by ``trustme``, and private PostgreSQL and Redis servers that speak TLS with them.

    pki = TestPKI(folder)           # a CA, the server's certificate for 127.0.0.1, a client certificate
    pki.ca_file, pki.client_cert, pki.client_key, pki.other_ca_file   # PEM files (keys mode 0600)
    with TLSPostgres(pki) as server: ...    # ssl=on; user CLIENT_CERT_USER must present a client certificate
    with TLSRedis(folder, pki) as server: server.url  # rediss://127.0.0.1:<port>/0, client certificates required
    with TLSRabbitMQ(folder, pki) as node: node.tls_url  # amqps://guest:guest@127.0.0.1:<port>/%2F, likewise

The shared services are never touched; each server is stopped by its pid.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path

import psycopg2
import redis
import trustme

from tests.integration.private_postgres import USER as POSTGRES_USER
from tests.integration.private_postgres import PrivatePostgres
from tests.integration.private_rabbitmq import PrivateRabbitMQ, free_port
from tests.integration.private_redis import PrivateRedis

CLIENT_CERT_USER = "tlsclient"  # PostgreSQL checks the client certificate's CN is this user (clientcert=verify-full)
SERVER_HOSTS = ("127.0.0.1", "localhost")


class TestPKI:
    """A CA, a server certificate for 127.0.0.1 and localhost, a client certificate, and a second CA that signed nothing."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ca = trustme.CA()
        self.ca_file = self._write("ca.pem", self.ca.cert_pem.bytes())
        self.other_ca_file = self._write("other-ca.pem", trustme.CA().cert_pem.bytes())
        server = self.ca.issue_cert(*SERVER_HOSTS)
        self.server_cert = self._write("server.pem", b"".join(blob.bytes() for blob in server.cert_chain_pems))
        self.server_key = self._write("server.key", server.private_key_pem.bytes(), 0o600)
        client = self.ca.issue_cert(f"{CLIENT_CERT_USER}@example.test", common_name=CLIENT_CERT_USER)
        self.client_cert = self._write("client.pem", b"".join(blob.bytes() for blob in client.cert_chain_pems))
        self.client_key = self._write("client.key", client.private_key_pem.bytes(), 0o600)
        self.key_texts = (server.private_key_pem.bytes().decode(), client.private_key_pem.bytes().decode())

    def key_material(self) -> list[str]:
        """Every base64 line of the private keys: none may appear in a message or log line."""
        return [line for text in self.key_texts for line in text.splitlines() if line and not line.startswith("-----")]

    def _write(self, name: str, content: bytes, mode: int = 0o644) -> str:
        path = self.folder / name
        path.write_bytes(content)
        path.chmod(mode)
        return str(path)


class TLSPostgres(PrivatePostgres):
    """A private PostgreSQL with ssl=on and no plain connections over TCP. Its certificate, key, CA and pg_hba.conf
    are copies in a scratch folder of the server's user (it refuses a key it does not own), removed on exit."""

    def __init__(self, pki: TestPKI) -> None:
        self.tls_folder = Path(tempfile.mkdtemp(prefix="private-postgres-tls-"))
        account = pwd.getpwnam(POSTGRES_USER)
        copies = {name: self._copy(source, name, account) for name, source in
                  {"server.pem": pki.server_cert, "server.key": pki.server_key, "ca.pem": pki.ca_file}.items()}
        hba = self.tls_folder / "pg_hba.conf"
        hba.write_text(
            "local all all trust\n"
            f"hostssl all {CLIENT_CERT_USER} 127.0.0.1/32 trust clientcert=verify-full\n"
            "hostssl all all 127.0.0.1/32 trust\n"
        )
        os.chown(hba, account.pw_uid, account.pw_gid)
        os.chown(self.tls_folder, account.pw_uid, account.pw_gid)
        super().__init__(
            ssl="on", ssl_cert_file=f"'{copies['server.pem']}'", ssl_key_file=f"'{copies['server.key']}'",
            ssl_ca_file=f"'{copies['ca.pem']}'", hba_file=f"'{hba}'",
        )

    def __exit__(self, *exc: object) -> None:
        try:
            super().__exit__(*exc)
        finally:
            shutil.rmtree(self.tls_folder, ignore_errors=True)

    def _copy(self, source: str, name: str, account: pwd.struct_passwd) -> Path:
        target = self.tls_folder / name
        shutil.copyfile(source, target)
        os.chown(target, account.pw_uid, account.pw_gid)
        target.chmod(0o600)
        return target


def create_role(server: PrivatePostgres, role: str) -> None:
    """A login role on the private server, made over its Unix socket (no TLS there)."""
    connection = psycopg2.connect(host=str(server.data.parent), port=server.port, user=POSTGRES_USER, dbname="postgres")
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE ROLE {role} LOGIN")
    finally:
        connection.close()


class TLSRedis(PrivateRedis):
    """A private redis-server listening only on a TLS port, which requires a client certificate signed by the CA."""

    def __init__(self, folder: Path, pki: TestPKI) -> None:
        super().__init__(folder)
        self.pki = pki

    @property
    def url(self) -> str:
        return f"rediss://127.0.0.1:{self.port}/0"

    def server_arguments(self) -> list[str]:
        return ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", self.pki.server_cert,
                "--tls-key-file", self.pki.server_key, "--tls-ca-cert-file", self.pki.ca_file, "--tls-auth-clients", "yes"]

    def probe_client(self) -> redis.Redis:
        return redis.Redis.from_url(
            self.url, socket_timeout=0.5, socket_connect_timeout=0.5,
            ssl_ca_certs=self.pki.ca_file, ssl_certfile=self.pki.client_cert, ssl_keyfile=self.pki.client_key,
        )


class TLSRabbitMQ(PrivateRabbitMQ):
    """A private RabbitMQ node with an AMQPS listener that requires a client certificate signed by the CA."""

    def __init__(self, folder: Path, pki: TestPKI) -> None:
        super().__init__(folder)
        self.pki = pki
        self.tls_port = free_port()

    @property
    def tls_url(self) -> str:
        return f"amqps://guest:guest@127.0.0.1:{self.tls_port}/%2F"

    def config_text(self) -> str:
        return super().config_text() + (
            f"listeners.ssl.default = 127.0.0.1:{self.tls_port}\n"
            f"ssl_options.cacertfile = {self.pki.ca_file}\n"
            f"ssl_options.certfile = {self.pki.server_cert}\n"
            f"ssl_options.keyfile = {self.pki.server_key}\n"
            "ssl_options.verify = verify_peer\n"
            "ssl_options.fail_if_no_peer_cert = true\n"
        )

