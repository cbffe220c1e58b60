"""``AzureOpenAIClient``: the same calls against an Azure OpenAI deployment."""

from __future__ import annotations

from typing import Any

import openai

from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.infrastructure.llm_clients.openai_client import INHERITED, OpenAIClient


class AzureOpenAIClient(OpenAIClient):
    """``/openai/deployments/<deployment>/chat/completions?api-version=...`` with an ``api-key`` header.

    Embeddings go to their own deployment (AZURE_OPENAI_EMBEDDING_DEPLOYMENT) through a second client;
    Azure's OpenAI API has no moderation endpoint (its content filters run on every completion instead).
    """

    _embeddings_client: Any = None

    @property
    def moderation_model(self) -> str | None:
        return None

    def close(self) -> None:
        client, self._embeddings_client = self._embeddings_client, None
        if client is not None and self._http_client is None:
            with self._errors():
                client.close()
        super().close()

    def after_fork(self) -> None:
        INHERITED.append(self._embeddings_client)
        self._embeddings_client = None
        super().after_fork()

    def _build(self) -> Any:
        return self._azure(self.config.deployment)

    def _embedding_api(self) -> Any:
        if self._embeddings_client is None:
            with self._lock:
                if self._embeddings_client is None:
                    self._embeddings_client = self._azure(self.embedding_model)
        return self._embeddings_client

    def _azure(self, deployment: str | None) -> Any:
        if not self.config.endpoint:
            raise ConfigurationError("LLM_PROVIDER=azure needs AZURE_OPENAI_ENDPOINT, https://<resource>.openai.azure.com")
        return openai.AzureOpenAI(
            azure_endpoint=self.config.endpoint,
            api_version=self.config.api_version,
            azure_deployment=deployment,
            api_key=self._key(),
            max_retries=0,
            timeout=self.config.timeout,
            http_client=self._http(self.config.endpoint),
        )
