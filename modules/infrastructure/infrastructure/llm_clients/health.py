"""The ``llm`` line of the start-up report: provider, model, and whether it answers a one-token prompt."""

from __future__ import annotations

import time
from collections.abc import Callable

from modules.infrastructure.domain.errors import LLMAuthenticationError, LLMProviderError
from modules.infrastructure.domain.health.values import CheckStatus, ComponentCheck
from modules.infrastructure.domain.llm.gateway import LLMGateway
from modules.infrastructure.domain.llm.values import CompletionRequest

PING = CompletionRequest([{"role": "user", "content": "Say OK."}], {"max_tokens": 1})  # no temperature: Anthropic's API refuses one


class LLMHealthCheck:
    """``ok`` when the primary provider answers; ``error`` when it refuses the key; else ``degraded``."""

    name = "llm"

    def __init__(self, gateway: Callable[[], LLMGateway], timeout: float = 5.0) -> None:
        self._gateway = gateway
        self._timeout = timeout

    def check(self) -> ComponentCheck:
        client = self._gateway().provider().initialize_client()
        where = client.describe()
        started = time.perf_counter()
        try:
            client.complete(PING, self._timeout)  # one attempt, no retries: the report must stay quick
        except LLMAuthenticationError as exc:
            return ComponentCheck(self.name, CheckStatus.ERROR, f"{where}: {exc}")
        except LLMProviderError as exc:
            return ComponentCheck(self.name, CheckStatus.DEGRADED, f"{where} does not answer: {exc}")
        latency = (time.perf_counter() - started) * 1000
        return ComponentCheck(self.name, CheckStatus.OK, f"{where}, answered in {latency:.0f} ms")
