"""What a setting naming a file or a folder is on disk, or why it cannot be said: checked at start-up."""

from __future__ import annotations

import os

from modules.infrastructure.domain.config.parsers import InvalidValue


def path_mode(path: str, expected: str) -> int:
    """``os.stat(path).st_mode``; ``InvalidValue`` (with ``expected``) when the path does not exist or cannot be reached."""
    try:
        return os.stat(path).st_mode
    except FileNotFoundError:
        raise InvalidValue("does not exist", expected) from None
    except OSError as exc:
        raise InvalidValue(f"cannot be reached ({exc.strerror or type(exc).__name__})", expected) from None
