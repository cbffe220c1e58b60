"""Exponential backoff with full jitter, shared by every retry loop in the module."""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_delay(
    attempt: int, *, base: float = 0.05, cap: float = 5.0, rand: Callable[[], float] = random.random
) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): uniform in [0, min(cap, base * 2**attempt)].

    Full jitter spreads competing retries apart, which is what breaks a deadlock or a stampede.
    """
    if attempt < 0:
        raise ValueError(f"attempt must be 0 or more, not {attempt}")
    # Past 2**60 the cap has long won; stop doubling before the float overflows.
    return rand() * min(cap, base * 2.0 ** min(attempt, 60))
