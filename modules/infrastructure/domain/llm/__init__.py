"""LLM call logic without I/O: prompts, retry policy, pricing, cache keys, limits, breaker and the call loop."""
