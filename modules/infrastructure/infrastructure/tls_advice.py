"""What to check when a driver's connection failed in its TLS handshake, naming the settings involved.

libpq, redis-py and pika all pass OpenSSL's words on ("certificate verify failed", "tlsv13 alert
certificate required"); the advice turns them into the setting to fix. The driver's text is kept
in the message beside it: it names no key material, only what failed.
"""

from __future__ import annotations

from dataclasses import dataclass

_SERVER_NOT_TRUSTED = ("certificate verify failed", "does not match host name", "root certificate file", "hostname mismatch")
_CLIENT_REFUSED = ("client certificate", "certificate authentication failed", "certificate required", "unknown ca", "bad certificate")
_OTHER_TLS = ("ssl", "tls", "no encryption")
_CONNECTION_LOST = ("syscall", "closed unexpectedly", "eof", "reset by peer")  # a lost connection that happened to use TLS
_HANDSHAKE_CUT = "violation of protocol"  # OpenSSL's EOF in the handshake: a TLS 1.3 server dropping a client without a certificate


@dataclass(frozen=True)
class TLSSettings:
    """The names of one connection's TLS settings, as the advice should name them."""

    ca: str
    cert: str
    key: str
    enable: str  # how TLS is switched on: "DB_SSLMODE", "a rediss:// REDIS_URL"
    url: str  # the setting naming the server


DATABASE_TLS = TLSSettings("DB_SSLROOTCERT", "DB_SSLCERT", "DB_SSLKEY", "DB_SSLMODE", "DATABASE_URL (or DATABASE_REPLICA_URLS)")
REDIS_TLS = TLSSettings("REDIS_TLS_CA_FILE", "REDIS_TLS_CERT_FILE", "REDIS_TLS_KEY_FILE", "a rediss:// REDIS_URL", "REDIS_URL")
RABBITMQ_TLS = TLSSettings("RABBITMQ_TLS_CA_FILE", "RABBITMQ_TLS_CERT_FILE", "RABBITMQ_TLS_KEY_FILE", "amqps:// URLs in RABBITMQ_URL", "RABBITMQ_URL")


def tls_advice(detail: str, settings: TLSSettings) -> str | None:
    """Advice for a failure whose text ``detail`` is about TLS; ``None`` for any other failure."""
    lowered = detail.lower()
    if _HANDSHAKE_CUT not in lowered and any(words in lowered for words in _CONNECTION_LOST):
        return None
    if any(words in lowered for words in _SERVER_NOT_TRUSTED):
        return (
            f"The server's TLS certificate was not accepted: {settings.ca} must be the CA that signed it, "
            f"and the certificate must name the host {settings.url} connects to"
        )
    if any(words in lowered for words in _CLIENT_REFUSED):
        return (
            f"The server refused this client's TLS certificate or wants one: set {settings.cert} and {settings.key} "
            "to a certificate signed by a CA the server trusts (and issued to the user it connects as, where the server checks that)"
        )
    if any(words in lowered for words in _OTHER_TLS):
        return (
            f"The TLS set-up failed: check {settings.enable}, {settings.ca}, {settings.cert} and {settings.key} "
            "(a server that requires client certificates drops a client without one)"
        )
    return None
