"""Conversation and tool-call benchmark: ``chat`` against the raw ``openai`` client sending the same history.

Against a local server that answers at once, so the difference is the facade's overhead per call:
a six-message conversation, and the same with two tools declared and a tool call in the answer
(read back and checked against its JSON schema).
"""

from __future__ import annotations

import os
from typing import Any

import openai

from modules.infrastructure.module_api import InfrastructureService, Message, Prompt, PromptContext
from scripts.benchmarks.instant_llm import InstantServer
from scripts.benchmarks.llm import LLM_VARIABLES, MAX_OVERHEAD_US
from scripts.benchmarks.timing import interleave

HISTORY = [
    Message.system("You are a patient tutor."),
    Message.user("What is a noun?"),
    Message.assistant("A word that names a person, place or thing."),
    Message.user("Give an example."),
    Message.assistant("'River' is a noun."),
    Message.user("And a verb?"),
]
PARAMETERS = Prompt("", parameters={"max_tokens": 16})
CONTEXT = PromptContext(module="benchmark", use_cache=False)


def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


def grade(score: float, scale: str = "percent") -> str:
    """Grade a score."""
    return "A" if score >= 90 else "B"


def run(ops: int, rounds: int) -> dict[str, Any]:
    saved = {name: os.environ.pop(name, None) for name in LLM_VARIABLES}
    try:
        with InstantServer() as server:
            results = _variants(server.base_url, ops, rounds)
    finally:
        InfrastructureService.shutdown()
        for name, value in saved.items():
            if value is not None:
                os.environ[name] = value
    chat = results["facade_chat"].per_op_us - results["raw_openai_chat"].per_op_us
    tools = results["facade_chat_tools"].per_op_us - results["raw_openai_chat_tools"].per_op_us
    return {
        "benchmark": "llm_chat",
        "work": "a six-message conversation (max_tokens 16); the same with two tools declared, answered with a tool call",
        "results": {name: result.to_dict() for name, result in results.items()},
        "ratios": {"facade_overhead_us_chat": round(chat, 1), "facade_overhead_us_chat_tools": round(tools, 1)},
        "target": {"facade_overhead_us": f"< {MAX_OVERHEAD_US:g} (chat {chat:.1f}, with tools {tools:.1f})", "met": max(chat, tools) < MAX_OVERHEAD_US},
    }


def _variants(base_url: str, ops: int, rounds: int) -> dict[str, Any]:
    os.environ.update(LLM_PROVIDER="openai", OPENAI_BASE_URL=base_url, OPENAI_API_KEY="bench", OPENAI_MODEL="gpt-4o-mini")
    InfrastructureService.reset()
    raw = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0, timeout=30)
    wire = [message.to_wire() for message in HISTORY]
    tools = [add, grade]
    tool_wire = [{"type": "function", "function": {"name": f.__name__, "description": f.__doc__, "parameters": {"type": "object"}}} for f in tools]

    def raw_with_tools() -> None:
        answer = raw.chat.completions.create(model="gpt-4o-mini", messages=wire, tools=tool_wire, max_tokens=16, timeout=30)  # type: ignore[arg-type]
        assert answer.choices[0].message.tool_calls

    variants = {
        "raw_openai_chat": lambda: raw.chat.completions.create(model="gpt-4o-mini", messages=wire, max_tokens=16, timeout=30),  # type: ignore[arg-type]
        "facade_chat": lambda: InfrastructureService.chat(HISTORY, PARAMETERS, CONTEXT),
        "raw_openai_chat_tools": raw_with_tools,
        "facade_chat_tools": lambda: InfrastructureService.chat(HISTORY, PARAMETERS, CONTEXT, tools=tools),
    }
    return interleave(variants, ops, rounds)
