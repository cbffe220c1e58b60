"""Adapters for the ``CompletionClient`` port: OpenAI, Azure OpenAI and the embedded local model."""
