"""Which lease holders a starting worker may take claims from: only processes of this host that have ended."""

from __future__ import annotations

import os

from modules.infrastructure.infrastructure.messaging.lease_owners import host_label, is_gone, new_owner
from tests.listener_support import ended_pid

HOST = host_label()


def test_a_process_of_this_host_that_ended_is_gone() -> None:
    assert is_gone(f"{HOST}:{ended_pid()}:abcd1234", new_owner())


def test_a_running_process_of_this_host_is_not_gone() -> None:
    assert not is_gone(f"{HOST}:{os.getppid()}:abcd1234", new_owner())


def test_an_earlier_worker_with_this_process_s_pid_is_gone_and_this_worker_is_not() -> None:
    me = new_owner()
    assert is_gone(f"{HOST}:{os.getpid()}:00000000", me)
    assert not is_gone(me, me)


def test_a_process_of_another_host_or_a_name_that_cannot_be_read_is_never_taken_over() -> None:
    me = new_owner()
    assert not is_gone(f"another-host:{ended_pid()}:abcd1234", me)
    assert not is_gone("gone:1:x", me)
    assert not is_gone(f"{HOST}:not-a-pid:x", me)
    assert not is_gone(f"{HOST}:{2**80}:x", me)
    assert not is_gone("", me)


def test_each_worker_gets_its_own_name_on_this_host() -> None:
    first, second = new_owner(), new_owner()
    assert first != second and first.startswith(f"{HOST}:{os.getpid()}:") and len(first) <= 64
