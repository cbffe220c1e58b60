"""The frames of values in Redis: compressed from a size up, marked, and every older value still read as it was."""

from __future__ import annotations

import os
import zlib

import pytest

from modules.infrastructure.domain.cache import compression
from modules.infrastructure.domain.cache.compression import COMPRESSED, RAW, Compression
from modules.infrastructure.module_api import CacheError

TEXT = ("The quick brown fox jumps over the lazy dog. " * 100).encode()


def test_a_value_from_the_size_up_is_compressed_and_marked() -> None:
    packed = Compression(1024).pack(TEXT)
    assert packed.startswith(COMPRESSED) and len(packed) < len(TEXT) / 10
    assert Compression(1024).unpack("k", packed) == TEXT


@pytest.mark.parametrize("data", [b"short", b"", "é".encode() * 100])
def test_a_value_below_the_size_is_stored_as_it_is(data: bytes) -> None:
    assert Compression(1024).pack(data) == data


def test_a_value_compression_would_not_shrink_is_stored_as_it_is() -> None:
    noise = os.urandom(4096)
    assert Compression(1024).pack(noise) == noise


def test_zero_turns_compression_off() -> None:
    assert Compression(0).pack(TEXT) == TEXT


@pytest.mark.parametrize("data", [b"\x00\xff", b"\x00\xffz not compressed", b"\x00\xffr", b"\x00\xff\x01binary"])
def test_a_value_that_starts_like_a_frame_is_kept_raw_and_read_back_unchanged(data: bytes) -> None:
    for codec in (Compression(0), Compression(1024)):
        packed = codec.pack(data)
        assert packed == RAW + data and codec.unpack("k", packed) == data


@pytest.mark.parametrize("stored", [b"plain text written before", "grüß".encode(), b"\x00\xff\x01 someone's binary", b""])
def test_values_written_before_the_frames_read_unchanged(stored: bytes) -> None:
    assert Compression(1024).unpack("k", stored) == stored


@pytest.mark.parametrize(
    "stored",
    [COMPRESSED + b"not zlib at all", COMPRESSED + zlib.compress(TEXT)[:-8], COMPRESSED],
)
def test_a_broken_compressed_value_is_a_cache_error_naming_the_key(stored: bytes) -> None:
    with pytest.raises(CacheError, match="'lesson:42' is marked compressed"):
        Compression(1024).unpack("lesson:42", stored)


def test_a_value_that_would_inflate_past_redis_s_largest_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compression, "MAX_VALUE_BYTES", 1000)
    bomb = COMPRESSED + zlib.compress(b"\x00" * 100_000)
    with pytest.raises(CacheError, match="cut short or too large"):
        Compression(1024).unpack("k", bomb)
