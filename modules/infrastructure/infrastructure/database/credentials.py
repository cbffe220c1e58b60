"""``ConnectCredentials``: the password an engine's new connections use, replaceable while the engine runs.

A rotated database password reaches the application and the server at moments of their own. New
connections try the current password and, when the server refuses it as a password, the previous one,
then the current one again: whichever changes first, and even when the server changes between two
attempts, no connection fails.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy.engine import make_url

AUTHENTICATION_FAILED = ("password authentication failed", "authentication failed", "invalid password")


class ConnectCredentials:
    """Listens to an engine's ``do_connect``: sets the password of each new connection."""

    def __init__(self, password: str | None) -> None:
        self._current = password
        self._previous: str | None = None
        self._lock = threading.Lock()

    def rotate(self, password: str | None) -> None:
        with self._lock:
            if password != self._current:
                self._previous, self._current = self._current, password

    def connect(self, dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        """The DBAPI connection, made with the current password; when the server refuses it, with the previous
        one, then the current one again (the server may have changed over between the two attempts)."""
        with self._lock:
            current, previous = self._current, self._previous
        if current is None and previous is None:
            return None  # no password in the URL: SQLAlchemy connects as usual
        tries = [current] if previous is None or previous == current else [current, previous, current]
        for password in tries[:-1]:
            cparams["password"] = password
            try:
                return dialect.connect(*cargs, **cparams)
            except Exception as exc:
                if not _refused_password(exc):
                    raise
        cparams["password"] = tries[-1]
        return dialect.connect(*cargs, **cparams)


def _refused_password(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in AUTHENTICATION_FAILED)


def connect_password(url: str) -> str | None:
    """The password of a database URL as the driver takes it (percent-decoded), if it has one."""
    password = make_url(url).password
    return None if password is None else str(password)
