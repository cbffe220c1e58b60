"""One line of the start-up report per integration: its health path answered, or skipped when none is set."""

from __future__ import annotations

from collections.abc import Callable

from modules.infrastructure.domain.errors import InfrastructureError
from modules.infrastructure.domain.health.values import CheckStatus, ComponentCheck
from modules.infrastructure.domain.integrations.requests import origin
from modules.infrastructure.infrastructure.integrations.clients import HttpClients


class IntegrationHealthCheck:
    """``ok`` when ``GET INTEGRATION_<NAME>_HEALTH_PATH`` answers 2xx/3xx in one attempt, ``error`` with the reason otherwise."""

    def __init__(self, integration: str, clients: Callable[[], HttpClients]) -> None:
        self.name = f"integration {integration}"
        self._integration = integration
        self._clients = clients

    def check(self) -> ComponentCheck:
        try:
            client = self._clients().get(self._integration)
            path = client.config.health_path
            if path is None:
                return ComponentCheck(self.name, CheckStatus.SKIPPED, f"no INTEGRATION_{self._integration.upper()}_HEALTH_PATH; {origin(client.config.base_url)} not checked")
            response = client.probe(path)
        except InfrastructureError as exc:
            return ComponentCheck(self.name, CheckStatus.ERROR, str(exc))
        return ComponentCheck(self.name, CheckStatus.OK, f"GET {path} at {origin(client.config.base_url)} answered {response.status}")

