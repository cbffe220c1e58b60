"""Keys cannot leave their namespace folder on local disk, not even through a symbolic link planted inside
the storage folder; download tokens cannot be forged, altered or used after they expire."""

from __future__ import annotations

import multiprocessing
import os
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from modules.infrastructure.domain.errors import ConfigurationError, InvalidDownloadTokenError, InvalidFileKeyError, StorageUnavailableError
from modules.infrastructure.domain.storage.keys import MAX_KEY, check_key, check_namespace
from modules.infrastructure.domain.storage.upload import CheckedUpload
from modules.infrastructure.infrastructure.storage.local_disk import LocalDiskBackend
from modules.infrastructure.infrastructure.storage.url_signing import MAX_TOKEN_LENGTH, sign_download_token, signing_secret, verify_download_token

SECRET = b"s" * 32
LATER = datetime.now(UTC) + timedelta(minutes=10)


@pytest.fixture
def backend(tmp_path: Path) -> LocalDiskBackend:
    store = LocalDiskBackend(tmp_path / "store")
    store.save("docs", "inside/file.txt", CheckedUpload(b"mine", 100, ["*"]))
    return store


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(b"not yours")
    return folder


def every_access_is_refused(backend: LocalDiskBackend, key: str) -> None:
    for attempt in (
        lambda: backend.save("docs", key, CheckedUpload(b"new", 100, ["*"])),
        lambda: backend.info("docs", key),
        lambda: backend.open("docs", key, 10),
        lambda: backend.exists("docs", key),
        lambda: backend.delete("docs", key),
    ):
        with pytest.raises(InvalidFileKeyError, match="symbolic link"):
            attempt()


def test_a_folder_link_planted_inside_the_namespace_is_not_followed(backend: LocalDiskBackend, outside: Path) -> None:
    os.symlink(outside, backend.root / "docs" / "planted")
    every_access_is_refused(backend, "planted/secret.txt")
    assert (outside / "secret.txt").read_bytes() == b"not yours"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_a_file_link_planted_under_a_key_is_not_followed(backend: LocalDiskBackend, outside: Path) -> None:
    os.symlink(outside / "secret.txt", backend.root / "docs" / "inside" / "link.txt")
    every_access_is_refused(backend, "inside/link.txt")
    assert (outside / "secret.txt").read_bytes() == b"not yours"


def test_a_namespace_folder_replaced_by_a_link_is_refused(tmp_path: Path, outside: Path) -> None:
    store = LocalDiskBackend(tmp_path / "store")
    store.root.mkdir()
    os.symlink(outside, store.root / "docs")
    every_access_is_refused(store, "secret.txt")


def test_a_listing_of_a_namespace_folder_replaced_by_a_link_is_refused_naming_the_namespace(tmp_path: Path, outside: Path) -> None:
    store = LocalDiskBackend(tmp_path / "store")
    store.root.mkdir()
    os.symlink(outside, store.root / "docs")
    with pytest.raises(InvalidFileKeyError, match="namespace 'docs'.*symbolic link") as refused:
        store.list("docs", "", 100, None)
    assert "secret" not in str(refused.value)
    with pytest.raises(InvalidFileKeyError, match="namespace 'docs'.*symbolic link"):
        store.save("docs", "new.txt", CheckedUpload(b"new", 100, ["*"]))
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_a_lock_file_replaced_by_a_link_is_refused_naming_the_lock(backend: LocalDiskBackend, outside: Path) -> None:
    lock = backend.root / "docs" / ".lock"
    lock.unlink()
    os.symlink(outside / "secret.txt", lock)
    for attempt in (lambda: backend.save("docs", "inside/file.txt", CheckedUpload(b"new", 100, ["*"])), lambda: backend.delete("docs", "inside/file.txt")):
        with pytest.raises(StorageUnavailableError, match=r"lock file .*\.lock is a symbolic link"):
            attempt()
    assert (outside / "secret.txt").read_bytes() == b"not yours"
    assert b"".join(backend.open("docs", "inside/file.txt", 100)) == b"mine"


def test_listing_and_statistics_skip_planted_links(backend: LocalDiskBackend, outside: Path) -> None:
    os.symlink(outside, backend.root / "docs" / "planted")
    os.symlink(outside / "secret.txt", backend.root / "docs" / "link")
    assert [f.key for f in backend.list("docs", "", 100, None).files] == ["inside/file.txt"]
    assert backend.stats().by_namespace["docs"] == (1, 4)


def test_a_storage_root_that_is_itself_a_link_is_allowed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "store")
    store = LocalDiskBackend(tmp_path / "store")
    store.save("docs", "a/b", CheckedUpload(b"x", 10, ["*"]))
    assert (tmp_path / "real" / "docs" / "a" / "b").read_bytes() == b"x"


def test_a_token_round_trips_to_its_namespace_and_key() -> None:
    token = sign_download_token("docs", "a/ré sumé.pdf", LATER, SECRET)
    assert verify_download_token(token, SECRET, datetime.now(UTC)) == ("docs", "a/ré sumé.pdf")


def tampered(token: str) -> list[str]:
    payload, signature = token.split(".")
    other = sign_download_token("docs", "../../etc/passwd", LATER, SECRET).split(".")[0]
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    return [f"{other}.{signature}", f"{payload}.{flipped}", f"{payload}.", f"{payload}", "", "a.b.c", f"{payload}.{signature}é", "%%%.%%%"]


def test_forged_altered_and_malformed_tokens_are_refused() -> None:
    token = sign_download_token("docs", "inside/file.txt", LATER, SECRET)
    for bad in [*tampered(token), sign_download_token("docs", "inside/file.txt", LATER, b"t" * 32), "x" * 5000]:
        with pytest.raises(InvalidDownloadTokenError):
            verify_download_token(bad, SECRET, datetime.now(UTC))


def respelled(token: str) -> list[str]:
    """The same bytes spelled otherwise: padding added, a trailing bit set that decoding drops, a space."""
    payload, signature = token.split(".")
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    last = alphabet[alphabet.index(signature[-1]) ^ 1]
    return [f"{payload}.{signature}=", f"{payload}.{signature}==", f"{payload}=.{signature}", f"{payload}.{signature[:-1]}{last}",
            f"{payload}.{signature[:20]} {signature[20:]}", f"{payload}.{signature}\n"]


def test_a_token_spelled_otherwise_is_refused() -> None:
    token = sign_download_token("docs", "inside/file.txt", LATER, SECRET)
    for bad in respelled(token):
        with pytest.raises(InvalidDownloadTokenError):
            verify_download_token(bad, SECRET, datetime.now(UTC))


def longest_key() -> str:
    """The valid key of the most UTF-8: 1,024 characters, each segment 63 four-byte characters (252 bytes)
    and the last with a three-byte one more (255 bytes, the most a segment takes)."""
    return "/".join(["\U0001F600" * 63] * 16) + "\u6587"


def test_the_token_of_the_longest_namespace_and_key_is_within_the_limit_and_the_limit_is_not_far_above() -> None:
    namespace, key = "n" * 64, longest_key()
    assert (check_namespace(namespace), check_key(key), len(key)) == (namespace, key, MAX_KEY)
    token = sign_download_token(namespace, key, datetime(9999, 12, 31, tzinfo=UTC), SECRET)
    assert verify_download_token(token, SECRET, datetime.now(UTC)) == (namespace, key)
    assert len(token) <= MAX_TOKEN_LENGTH < len(token) + 100


def test_an_expired_token_is_refused() -> None:
    token = sign_download_token("docs", "k", datetime.now(UTC) + timedelta(seconds=30), SECRET)
    with pytest.raises(InvalidDownloadTokenError, match="expired"):
        verify_download_token(token, SECRET, datetime.now(UTC) + timedelta(seconds=31))


def with_file(store: LocalDiskBackend) -> LocalDiskBackend:
    store.save("docs", "k", CheckedUpload(b"x", 10, ["*"]))
    return store


def test_without_a_configured_secret_one_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    url = with_file(LocalDiskBackend(tmp_path / "store")).download_url("docs", "k", LATER)
    key_file = tmp_path / "store" / ".signing-key"
    assert key_file.stat().st_mode & 0o077 == 0
    assert len(key_file.read_bytes()) >= 32
    assert LocalDiskBackend(tmp_path / "store").verify_download_token(url.removeprefix("/files/")) == ("docs", "k")


def first_uses(root: str, rounds: int, barrier: Any, results: Any) -> None:
    """In a child process: each round, at once with the others, the signing key of a new folder."""
    for n in range(rounds):
        barrier.wait(timeout=60)
        try:
            results.put((n, signing_secret(None, Path(root) / str(n), False)))
        except Exception as exc:
            results.put((n, repr(exc)))


def test_processes_using_a_new_folder_at_once_all_get_the_one_kept_signing_key(tmp_path: Path) -> None:
    processes, rounds = 6, 20
    for n in range(rounds):
        (tmp_path / str(n)).mkdir()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    children = [context.Process(target=first_uses, args=(str(tmp_path), rounds, barrier, results)) for _ in range(processes)]
    for child in children:
        child.start()
    keys: dict[int, list[object]] = {n: [] for n in range(rounds)}
    for _ in range(processes * rounds):
        n, key = results.get(timeout=120)
        keys[n].append(key)
    for child in children:
        child.join(timeout=60)
    assert {n: set(got) for n, got in keys.items()} == {n: {(tmp_path / str(n) / ".signing-key").read_bytes()} for n in range(rounds)}
    assert [p.name for p in tmp_path.glob("*/.tmp-*")] == []


def test_a_configured_secret_signs_and_the_base_prefixes_the_url(tmp_path: Path) -> None:
    store = with_file(LocalDiskBackend(tmp_path / "store", url_base="https://files.example/dl/", url_secret="c" * 40, production=True))
    url = store.download_url("docs", "k", LATER)
    assert url.startswith("https://files.example/dl/")
    assert verify_download_token(url.rsplit("/", 1)[1], b"c" * 40, datetime.now(UTC)) == ("docs", "k")
    assert not (tmp_path / "store" / ".signing-key").exists()


@pytest.mark.parametrize(("secret", "production", "message"), [("short", False, "at least 32"), (None, True, "required")])
def test_an_unusable_secret_is_a_configuration_error(tmp_path: Path, secret: str | None, production: bool, message: str) -> None:
    store = with_file(LocalDiskBackend(tmp_path / "store", url_secret=secret, production=production))
    with pytest.raises(ConfigurationError, match=message):
        store.download_url("docs", "k", LATER)
