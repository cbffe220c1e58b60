"""The headers that carry an integration's credential: bearer token, API key, or HTTP basic auth."""

from __future__ import annotations

import base64

from modules.infrastructure.domain.config.values import IntegrationConfig


def credential_headers(config: IntegrationConfig) -> dict[str, str]:
    """What every request of the integration sends to prove who it is (nothing for ``AUTH=none``)."""
    if config.credential is None:
        return {}
    secret = config.credential.reveal()
    if config.auth == "bearer":
        return {"Authorization": f"Bearer {secret}"}
    if config.auth == "api_key":
        return {config.api_key_header: secret}
    pair = f"{config.username or ''}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


def credential_header(config: IntegrationConfig) -> str | None:
    """The header the credential travels in, which a caller may not set itself."""
    return {"bearer": "Authorization", "basic": "Authorization", "api_key": config.api_key_header}.get(config.auth)
