"""Who holds a publication record's lease (``host:pid:token``), and whether that holder is known to be gone.

A process that starts listening takes over, at once, the claims of processes that died; a claim whose
holder may still be running (on another host, or alive here) is left to run out, so a record is never
run twice at the same time because a second worker started.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid

HOST_CHARACTERS = 30  # the lease_owner column holds 64: host, pid and an 8-character token fit


def new_owner() -> str:
    """This process's lease owner name; a new token per worker (and after a fork)."""
    return f"{host_label()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def is_gone(owner: str, me: str) -> bool:
    """Whether the process named ``owner`` has certainly ended: on this host, and its pid not running (or the pid
    is this process's but the token another: an earlier worker of a process that reused the pid, or a closed one)."""
    host, _, rest = owner.partition(":")
    pid_text, _, token = rest.partition(":")
    if host != host_label() or not pid_text.isdigit() or owner == me:
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, OSError):
        return False  # it exists (another user's), or cannot be asked: leave its claim to run out
    return False


def host_label() -> str:
    """The host's name, cut to fit, with a digest of the whole name: pods of one deployment share long prefixes."""
    name = socket.gethostname()
    if len(name) <= HOST_CHARACTERS:
        return name
    return f"{name[: HOST_CHARACTERS - 9]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
