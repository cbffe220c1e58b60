"""``ChatStream``: a conversation's next message as it is written, then the whole answer with its tool calls."""

from __future__ import annotations

from collections.abc import Iterator

from modules.infrastructure.domain.errors import LLMProviderError
from modules.infrastructure.domain.llm.tool_calls import raise_for_tool_errors
from modules.infrastructure.domain.llm.values import LLMResponse, StreamChunk


class ChatStream:
    """Iterate for the text as it arrives; then ``response`` is the whole answer (tool calls, finish reason,
    usage). Iterating raises ``LLMToolCallError`` at the end when a tool call cannot run."""

    def __init__(self, chunks: Iterator[StreamChunk]) -> None:
        self._chunks = chunks
        self._response: LLMResponse | None = None

    def __iter__(self) -> Iterator[str]:
        for chunk in self._chunks:
            if chunk.response is not None:
                self._response = chunk.response
            if chunk.text:
                yield chunk.text
        if self._response is not None:
            raise_for_tool_errors(self._response)

    @property
    def response(self) -> LLMResponse:
        """The whole answer, once the text has been read to the end; ``LLMProviderError`` before that."""
        if self._response is None:
            raise LLMProviderError("ChatStream.response is known once the stream has been read to the end; iterate over it first")
        return self._response

    def text(self) -> str:
        """Read the stream to the end and return all of its text."""
        return "".join(self)

    def close(self) -> None:
        """Stop reading early: the provider's stream is closed and what was used is recorded."""
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
