"""``AzureOpenAIClient``: the same calls against an Azure OpenAI deployment."""

from __future__ import annotations

from typing import Any

import openai

from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.infrastructure.llm_clients.openai_client import OpenAIClient


class AzureOpenAIClient(OpenAIClient):
    """``/openai/deployments/<deployment>/chat/completions?api-version=...`` with an ``api-key`` header."""

    def _build(self) -> Any:
        if not self.config.endpoint:
            raise ConfigurationError("LLM_PROVIDER=azure needs AZURE_OPENAI_ENDPOINT, https://<resource>.openai.azure.com")
        return openai.AzureOpenAI(
            azure_endpoint=self.config.endpoint,
            api_version=self.config.api_version,
            azure_deployment=self.config.deployment,
            api_key=self._key(),
            max_retries=0,
            timeout=self.config.timeout,
            http_client=self._http(self.config.endpoint),
        )
