"""``RecentWriters``: which threads and callers' keys committed a write lately, so their reads go to the primary."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable

MAX_SCOPES = 10_000  # a few MB at most; past it the oldest writers are forgotten first
MAX_KEY_CHARS = 200
_INT_LIMIT = 10 ** (MAX_KEY_CHARS - 1)

Scope = Hashable  # ("thread", ident) or ("key", text): a thread's writes never answer for a caller's key


def thread_scope(ident: int) -> Scope:
    return ("thread", ident)


def key_scope(key: str | int) -> Scope:
    """A caller's key (a user id, say): ints and their text are the same key, ``7`` is ``"7"``."""
    return ("key", str(key))


def checked_key(key: object) -> str | int | None:
    """``key`` when it is a usable consistency key (``None``, a non-empty text up to 200 characters, an int of at most
    199 digits, so that its text is one too); else ``ValueError``."""
    if key is None or (isinstance(key, int) and not isinstance(key, bool) and abs(key) < _INT_LIMIT):
        return key
    if isinstance(key, str) and 0 < len(key) <= MAX_KEY_CHARS:
        return key
    shown = "a longer int" if isinstance(key, int) and not isinstance(key, bool) else f"{type(key).__name__} {key!r}"  # no text of a huge int
    raise ValueError(f"consistency_key takes a non-empty text of at most {MAX_KEY_CHARS} characters or an int of at most {MAX_KEY_CHARS - 1} digits, not {shown}"[:200])


class RecentWriters:
    """Scopes that committed a write within the last ``window`` seconds of ``clock`` (0: none ever do).

    Thread-safe and bounded: at most ``max_scopes`` are remembered, the oldest forgotten first (their
    reads may then go to a replica early); expired ones are dropped as new writes come in. Per process.
    """

    def __init__(self, window: float, max_scopes: int = MAX_SCOPES, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._max = max_scopes
        self._clock = clock
        self._until: OrderedDict[Scope, float] = OrderedDict()  # in order of expiry: the window is the same for all
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.window > 0

    def wrote(self, scopes: Iterable[Scope]) -> None:
        """``scopes`` committed a write now: their reads go to the primary for the next ``window`` seconds."""
        if not self.enabled:
            return
        with self._lock:
            now = self._clock()
            for scope in scopes:
                self._until[scope] = now + self.window
                self._until.move_to_end(scope)
            self._forget(now)

    def reads_from_primary(self, scope: Scope) -> bool:
        """Whether ``scope`` committed a write less than ``window`` seconds ago."""
        if not self.enabled:
            return False
        with self._lock:
            until = self._until.get(scope)
            return until is not None and self._clock() < until

    def __len__(self) -> int:
        with self._lock:
            return len(self._until)

    def after_fork(self) -> None:
        self._lock = threading.Lock()

    def _forget(self, now: float) -> None:
        """Drop the expired scopes at the front, then the oldest beyond ``max_scopes``."""
        until = self._until
        while until and (len(until) > self._max or next(iter(until.values())) <= now):
            until.popitem(last=False)
