"""``ChatStream``: a conversation's next message as it is written, then the whole answer with its tool calls."""

from __future__ import annotations

from collections.abc import Iterator

from modules.infrastructure.domain.errors import LLMBadRequestError
from modules.infrastructure.domain.llm.tool_calls import raise_for_tool_errors
from modules.infrastructure.domain.llm.values import LLMResponse, StreamChunk


class ChatStream:
    """Iterate for the text as it arrives; then ``response`` is the whole answer (tool calls, finish reason,
    usage). Iterating raises ``LLMToolCallError`` at the end when a tool call cannot run."""

    def __init__(self, chunks: Iterator[StreamChunk]) -> None:
        self._chunks = chunks
        self._response: LLMResponse | None = None
        self._read: list[str] = []
        self._started = False

    def __iter__(self) -> Iterator[str]:
        """The text as it arrives; a second iteration gives the text read so far at once."""
        if self._started:
            yield from list(self._read)
            return
        self._started = True
        for chunk in self._chunks:
            if chunk.response is not None:
                self._response = chunk.response
            if chunk.text:
                self._read.append(chunk.text)
                yield chunk.text
        if self._response is not None:
            raise_for_tool_errors(self._response)

    @property
    def response(self) -> LLMResponse:
        """The whole answer, once the text has been read to the end; ``LLMBadRequestError`` before that."""
        if self._response is None:
            raise LLMBadRequestError("ChatStream.response is known once the stream has been read to the end; iterate over it first")
        return self._response

    def text(self) -> str:
        """Read the stream to the end (if it was not) and return all of its text."""
        if not self._started:
            for _ in self:
                pass
        return "".join(self._read)

    def close(self) -> None:
        """Stop reading early: the provider's stream is closed and what was used is recorded."""
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
