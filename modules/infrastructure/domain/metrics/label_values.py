"""Label values that would make a metric unbounded or leak: ids (UUIDs, long numbers, hex digests) and secret-like tokens.

A label's values must be few (a channel, a plan, an outcome); one per user, order or request makes a series each.
"""

from __future__ import annotations

import re

_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
_LONG_NUMBER = re.compile(r"[0-9]{6,}")
_HEX_RUN = re.compile(r"[0-9a-fA-F]{16,}")
_TOKEN_RUN = re.compile(r"[A-Za-z0-9+/=_\-]{20,}")


def looks_like_an_id_or_secret(value: str) -> bool:
    """True for a UUID, a run of 6 digits or more, a hex run of 16 or more, or a 20-character token of mixed case and digits."""
    if _UUID.search(value) or _LONG_NUMBER.search(value) or _HEX_RUN.search(value):
        return True
    return any(_mixed(run) for run in _TOKEN_RUN.findall(value))


def _mixed(run: str) -> bool:
    return any(c.islower() for c in run) and any(c.isupper() for c in run) and any(c.isdigit() for c in run)
