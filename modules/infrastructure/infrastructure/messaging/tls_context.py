"""The ``ssl.SSLContext`` of amqps:// connections, from the RABBITMQ_TLS_* files: checked once, at start-up."""

from __future__ import annotations

import ssl

import pika

from modules.infrastructure.domain.config.values import TLSFiles
from modules.infrastructure.domain.errors import ConfigurationError


def amqps_context(tls: TLSFiles) -> ssl.SSLContext:
    """A client context that checks the node's certificate and host name against ``tls.ca_file`` (unset: the
    system's CAs), and presents the client certificate when one is given."""
    try:
        context = ssl.create_default_context(cafile=tls.ca_file)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigurationError(f"RABBITMQ_TLS_CA_FILE={tls.ca_file!r} holds no CA certificate OpenSSL can load ({_reason(exc)}); give the CA's PEM file") from None
    if tls.cert_file:
        try:
            context.load_cert_chain(tls.cert_file, tls.key_file)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigurationError(
                f"RABBITMQ_TLS_CERT_FILE={tls.cert_file!r} and RABBITMQ_TLS_KEY_FILE={tls.key_file!r} cannot be loaded together "
                f"({_reason(exc)}); give a PEM certificate and its unencrypted private key"
            ) from None
    return context


def ssl_options(context: ssl.SSLContext, host: str) -> pika.SSLOptions:
    """pika's options for one node: the context, and the host name its certificate must carry (and SNI sends)."""
    return pika.SSLOptions(context, server_hostname=host)


def _reason(exc: ssl.SSLError | OSError) -> str:
    """OpenSSL's reason ("KEY_VALUES_MISMATCH"), never the file's content."""
    return getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
