"""The response cache key and when the cache is used."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from modules.infrastructure.domain.config.values import LLMConfig
from modules.infrastructure.domain.llm.tools import Tool

KEY_VERSION = 1


def cache_key(
    config: LLMConfig,
    messages: Sequence[Mapping[str, Any]],
    parameters: Mapping[str, Any],
    module: str | None,
    tools: Sequence[Tool] = (),
    tool_choice: str | None = None,
) -> str:
    """sha256 over canonical JSON of everything that shapes the answer (the whole history, the tools); never
    the API key."""
    material: dict[str, Any] = {
        "v": KEY_VERSION,
        "provider": config.provider,
        "base_url": config.base_url,
        "endpoint": config.endpoint,
        "deployment": config.deployment,
        "api_version": config.api_version,
        "local_model_path": config.local_model_path,
        "model": config.model,
        "messages": [dict(m) for m in messages],
        "parameters": dict(parameters),
        "module": module,
    }
    if tools:  # only then, so the keys of calls without tools stay as they were
        material["tools"] = [tool.to_wire() for tool in tools]
        material["tool_choice"] = tool_choice
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "response:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def cache_wanted(parameters: Mapping[str, Any], use_cache: bool | None, ttl: int) -> bool:
    """``use_cache`` when given; otherwise only deterministic calls (temperature 0). Never with ``ttl`` 0."""
    if ttl <= 0:
        return False
    if use_cache is not None:
        return use_cache
    return parameters.get("temperature") == 0
