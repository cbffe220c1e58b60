"""``Attempts``: how many requests one call sent, counted where the caller can read it after a failure too."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Attempts:
    """The requests a call has sent to one provider so far. The caller passes one in and reads ``count``
    afterwards, whether the call returned or raised: the count is not carried on the exception."""

    count: int = 0
