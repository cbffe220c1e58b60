"""Checks of what ``embed`` and ``moderate`` are given, before any request: each refusal an ``LLMBadRequestError``
naming the argument and the position, never the text itself (it may be private)."""

from __future__ import annotations

from modules.infrastructure.domain.errors import LLMBadRequestError
from modules.infrastructure.domain.llm.unicode_text import lone_surrogate_at

MAX_TEXT_CHARACTERS = 1_000_000  # per text: far above any model's input window, far below what a request can carry
MAX_TEXTS = 10_000  # per embed() call; split into requests of the provider's size


def checked_texts(texts: object) -> tuple[str, ...]:
    """``texts`` as a tuple when it is a non-empty list or tuple of at most ``MAX_TEXTS`` usable texts."""
    if isinstance(texts, str):
        raise LLMBadRequestError("embed(texts) takes a list of texts, not one text: wrap it, embed([text])")
    if not isinstance(texts, list | tuple):
        raise LLMBadRequestError(f"embed(texts) takes a list or tuple of texts, not {type(texts).__name__}")
    if not texts:
        raise LLMBadRequestError("embed(texts) was given no texts; pass at least one")
    if len(texts) > MAX_TEXTS:
        raise LLMBadRequestError(f"embed(texts) takes at most {MAX_TEXTS} texts per call, not {len(texts)}; split the list")
    for position, text in enumerate(texts):
        checked_text(text, f"embed(texts[{position}])")
    return tuple(texts)


def checked_text(text: object, where: str) -> str:
    """``text`` when it is non-blank text of at most ``MAX_TEXT_CHARACTERS`` characters that UTF-8 can carry."""
    if not isinstance(text, str):
        raise LLMBadRequestError(f"{where} must be text, not {type(text).__name__}")
    if not text.strip():
        raise LLMBadRequestError(f"{where} is empty or only whitespace; leave it out or give it content")
    if len(text) > MAX_TEXT_CHARACTERS:
        raise LLMBadRequestError(
            f"{where} has {len(text):,} characters, over the {MAX_TEXT_CHARACTERS:,} allowed per text; split it into passages"
        )
    position = lone_surrogate_at(text)
    if position is not None:
        raise LLMBadRequestError(f"{where} holds a lone surrogate at character {position}; decode its text with errors='replace' or clean it")
    return text


def checked_module(module: object, call: str) -> str:
    """``module`` when it is a module's name (non-empty text)."""
    if not isinstance(module, str) or not module.strip():
        shown = type(module).__name__ if not isinstance(module, str) else "empty text"
        raise LLMBadRequestError(f"{call}(module=...) takes the calling module's name (text), not {shown}")
    return module


def checked_provider(provider: object, call: str) -> str | None:
    """``provider`` when it is ``None`` or a provider's name."""
    if provider is not None and not isinstance(provider, str):
        raise LLMBadRequestError(f"{call}(provider=...) takes a configured provider's name or None, not {type(provider).__name__}")
    return provider
