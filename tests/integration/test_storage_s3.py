"""The S3 backend on a private S3-compatible server (moto on 127.0.0.1, credentials checked): the same boto3 calls
as against AWS or MinIO. Large files go up in parts and come down in chunks, in bounded memory; failed uploads
leave no object and no pending multipart upload; refused credentials, a missing bucket and a stopped server are
``StorageUnavailableError`` without a credential in the message."""

from __future__ import annotations

import base64
import hashlib
import time
import tracemalloc
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from modules.infrastructure.domain.errors import FileTooLargeError, StorageError, StorageUnavailableError, StoredFileNotFoundError
from modules.infrastructure.domain.secrets import Secret
from modules.infrastructure.domain.storage.upload import CheckedUpload
from modules.infrastructure.infrastructure.storage.s3_backend import S3Storage
from modules.infrastructure.infrastructure.storage.s3_upload import PART
from tests.integration.private_s3 import PrivateS3
from tests.integration.s3_backends import new_bucket, s3_config, s3_storage
from tests.integration.tcp_proxy import TcpProxy

MiB = 1024 * 1024
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40
BIG = 40 * 1000 * 1000  # five parts of 8 MiB


def upload(source: object, max_size: int = 100 * MiB) -> CheckedUpload:
    return CheckedUpload(source, max_size, ("*",))


def pattern(size: int, chunk: int = MiB) -> Iterator[bytes]:
    """``size`` bytes that are not all alike, made a chunk at a time (never held whole), each chunk a new object
    as a file's reads would be."""
    block = (hashlib.sha256(b"seed").digest() * (chunk // 32 + 1))[:chunk]
    for start in range(0, size, chunk):
        yield bytearray(block[: min(chunk, size - start)])


def pattern_sha256(size: int) -> str:
    digest = hashlib.sha256()
    for chunk in pattern(size):
        digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture
def storage(private_s3: PrivateS3) -> Iterator[S3Storage]:
    backend = s3_storage(private_s3)
    try:
        yield backend
    finally:
        backend.close()


def leftovers(server: PrivateS3, storage: S3Storage) -> tuple[list[str], list[str]]:
    """Every object in the bucket and every multipart upload still pending."""
    client = server.client()
    objects = [o["Key"] for o in client.list_objects_v2(Bucket=storage.location.bucket).get("Contents", ())]
    pending = [u["Key"] for u in client.list_multipart_uploads(Bucket=storage.location.bucket).get("Uploads", ())]
    return objects, pending


def test_a_file_is_an_object_under_prefix_namespace_key_with_its_facts_as_metadata(storage: S3Storage, private_s3: PrivateS3) -> None:
    metadata = {"title": "Wöche  1 — 100%", "owner-id": "42", "note": '{"json": "as text"}'}
    stored = storage.save("lessons", "plans/week 1.pdf", upload(PDF), metadata)
    head = private_s3.client().head_object(Bucket=storage.location.bucket, Key="app/files/lessons/plans/week 1.pdf")
    assert head["ContentType"] == "application/pdf" and head["Metadata"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert head["Metadata"]["meta"].isascii() and "%" in head["Metadata"]["meta"]
    info = storage.info("lessons", "plans/week 1.pdf")
    assert info == stored and dict(info.metadata) == metadata and info.created_at.tzinfo is not None
    assert b"".join(storage.open("lessons", "plans/week 1.pdf", 1000)) == PDF and storage.exists("lessons", "plans/week 1.pdf")


def test_a_small_file_goes_up_with_its_sha256_for_the_server_to_check(storage: S3Storage) -> None:
    sent: list[dict[str, str]] = []
    storage._client.meta.events.register("before-send.s3.PutObject", lambda request, **_: sent.append(dict(request.headers)))
    storage.save("lessons", "a.pdf", upload(PDF), {})
    headers = {name.lower(): value if isinstance(value, str) else value.decode() for name, value in sent[0].items()}
    expected = base64.b64encode(hashlib.sha256(PDF).digest()).decode()  # AWS and MinIO refuse the object if it differs
    assert headers["x-amz-checksum-sha256"] == expected
    assert "x-amz-checksum-crc32" not in headers  # botocore computes no checksum of its own on top


def test_listing_pages_with_the_last_key_as_cursor(storage: S3Storage) -> None:
    for name in ("c", "a", "b/2", "b/1", "d"):
        storage.save("lessons", name, upload(PDF), {})
    storage.save("other", "a", upload(PDF), {})
    first = storage.list("lessons", "", 2, None)
    second = storage.list("lessons", "", 2, first.next_cursor)
    third = storage.list("lessons", "", 2, second.next_cursor)
    assert (first.next_cursor, second.next_cursor, third.next_cursor) == ("b/1", "c", None)
    assert [f.key for p in (first, second, third) for f in p.files] == ["a", "b/1", "b/2", "c", "d"]
    assert [f.sha256 for f in storage.list("lessons", "b/", 10, None).files] == [hashlib.sha256(PDF).hexdigest()] * 2
    stats = storage.stats()
    assert (stats.files, stats.bytes, dict(stats.by_namespace)) == (6, 6 * len(PDF), {"lessons": (5, 5 * len(PDF)), "other": (1, len(PDF))})


def test_delete_and_a_missing_file(storage: S3Storage) -> None:
    storage.save("lessons", "a.pdf", upload(PDF), {})
    assert storage.delete("lessons", "a.pdf") and not storage.delete("lessons", "a.pdf") and not storage.exists("lessons", "a.pdf")
    for call in (storage.info, lambda n, k: storage.open(n, k, 10), lambda n, k: storage.download_url(n, k, datetime.now(timezone.utc))):
        with pytest.raises(StoredFileNotFoundError, match="a.pdf"):
            call("lessons", "a.pdf")


def test_a_presigned_url_fetches_the_file_and_says_when_it_expires(private_s3_for_urls: PrivateS3) -> None:
    storage = s3_storage(private_s3_for_urls)
    storage.save("lessons", "a b.pdf", upload(PDF), {})
    url = storage.download_url("lessons", "a b.pdf", datetime.now(timezone.utc) + timedelta(minutes=5))
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"][0] in ("299", "300") and query["X-Amz-Signature"] and "/app/files/lessons/a%20b.pdf" in url
    assert query["response-content-disposition"] == ["attachment; filename=\"a b.pdf\"; filename*=UTF-8''a%20b.pdf"]
    with urllib.request.urlopen(url, timeout=10) as answer:  # moto does not enforce the expiry; AWS and MinIO do
        assert answer.read() == PDF
        assert answer.headers["Content-Disposition"].startswith("attachment;")  # never shown inline on the bucket's origin
    storage.close()


def test_a_large_file_goes_up_in_parts_and_comes_down_in_chunks_in_bounded_memory(storage: S3Storage, private_s3: PrivateS3) -> None:
    tracemalloc.start()
    try:
        stored = storage.save("media", "big.bin", upload(pattern(BIG)), {"kind": "video"})
        _, save_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest, size = hashlib.sha256(), 0
        for chunk in storage.open("media", "big.bin", MiB):
            digest.update(chunk)
            size += len(chunk)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (stored.size, stored.sha256) == (BIG, pattern_sha256(BIG)) and (size, digest.hexdigest()) == (BIG, stored.sha256)
    assert storage.info("media", "big.bin").sha256 == stored.sha256 and dict(storage.info("media", "big.bin").metadata) == {"kind": "video"}
    assert save_peak < PART + 8 * MiB < BIG / 2 and read_peak < 4 * MiB, (save_peak, read_peak)  # one part in memory, not the file
    assert leftovers(private_s3, storage) == (["app/files/media/big.bin"], [])  # the staging object is gone


def test_a_read_cut_midway_resumes_with_a_ranged_request_where_it_stopped(private_s3: PrivateS3) -> None:
    bucket = new_bucket(private_s3)
    s3_storage(private_s3, bucket).save("media", "big.bin", upload(pattern(BIG)), {})
    with TcpProxy("127.0.0.1", private_s3.port) as proxy:
        storage = S3Storage(s3_config(private_s3, bucket, endpoint_url=f"http://127.0.0.1:{proxy.port}"))
        chunks = storage.open("media", "big.bin", MiB)
        digest = hashlib.sha256(b"".join(next(chunks) for _ in range(3)))
        proxy.cut()
        for chunk in chunks:
            digest.update(chunk)
        assert digest.hexdigest() == pattern_sha256(BIG) and proxy.connections == 2


def test_a_file_replaced_while_a_cut_read_resumes_is_an_error_not_a_splice(private_s3: PrivateS3) -> None:
    bucket = new_bucket(private_s3)
    direct = s3_storage(private_s3, bucket)
    direct.save("media", "big.bin", upload(pattern(BIG)), {})
    with TcpProxy("127.0.0.1", private_s3.port) as proxy:
        storage = S3Storage(s3_config(private_s3, bucket, endpoint_url=f"http://127.0.0.1:{proxy.port}"))
        chunks = storage.open("media", "big.bin", MiB)
        next(chunks)
        direct.save("media", "big.bin", upload(PDF), {})
        proxy.cut()
        with pytest.raises(StorageError, match="replaced while it was read"):
            list(chunks)


def test_a_file_over_the_copy_limit_gets_its_facts_by_a_multipart_copy(storage: S3Storage, private_s3: PrivateS3) -> None:
    storage.uploader.copy_limit = 6 * MiB
    stored = storage.save("media", "big.bin", upload(pattern(BIG)), {})
    assert storage.info("media", "big.bin") == stored and stored.sha256 == pattern_sha256(BIG)
    assert leftovers(private_s3, storage) == (["app/files/media/big.bin"], [])


def test_an_upload_refused_midway_leaves_no_object_and_no_pending_upload(storage: S3Storage, private_s3: PrivateS3) -> None:
    with pytest.raises(FileTooLargeError):
        storage.save("media", "big.bin", upload(pattern(BIG), max_size=20 * MiB), {})

    def broken() -> Iterator[bytes]:
        yield from pattern(10 * MiB)
        raise OSError("the client went away")

    with pytest.raises(OSError, match="went away"):
        storage.save("media", "cut.bin", upload(broken()), {})
    assert leftovers(private_s3, storage) == ([], [])


def test_refused_credentials_are_unavailable_without_the_secret(private_s3: PrivateS3) -> None:
    config = s3_config(private_s3, new_bucket(private_s3), secret_access_key=Secret("wrong-secret-0123456789"))
    storage = S3Storage(config)
    for call in (storage.check, lambda: storage.save("a", "b", upload(PDF), {}), lambda: storage.info("a", "b")):
        with pytest.raises(StorageUnavailableError, match="AWS_SECRET_ACCESS_KEY") as caught:
            call()
        assert "wrong-secret" not in str(caught.value) and private_s3.access_key_id not in str(caught.value)
    unknown = S3Storage(s3_config(private_s3, "files", access_key_id="AKIAUNKNOWN000000000"))
    with pytest.raises(StorageUnavailableError, match="AWS_ACCESS_KEY_ID") as caught:
        unknown.list("a", "", 10, None)
    assert "AKIAUNKNOWN" not in str(caught.value) and private_s3.secret_access_key not in str(caught.value)


def test_a_missing_bucket_is_named(private_s3: PrivateS3) -> None:
    storage = S3Storage(s3_config(private_s3, "no-such-bucket"))
    for call in (storage.check, lambda: storage.save("a", "b", upload(PDF), {}), lambda: list(storage.open("a", "b", 10)), storage.stats):
        with pytest.raises(StorageUnavailableError, match="'no-such-bucket' does not exist"):
            call()


def test_a_stopped_server_is_unavailable_within_the_timeouts(tmp_path: Path) -> None:
    with PrivateS3(tmp_path) as server:
        storage = s3_storage(server, connect_timeout=1, read_timeout=2)
        storage.save("a", "b", upload(PDF), {})
        assert storage.check() and "app/files" in storage.describe() and server.secret_access_key not in storage.describe()
    started = time.monotonic()
    for call in (storage.check, lambda: storage.info("a", "b"), lambda: storage.save("a", "c", upload(PDF), {})):
        with pytest.raises(StorageUnavailableError, match="STORAGE_ENDPOINT_URL"):
            call()
    assert time.monotonic() - started < 3 * 3 * (1 + 2 + 2)  # three calls, each three attempts of timeout + backoff at most


def test_after_fork_the_storage_works_on_a_client_of_its_own(storage: S3Storage) -> None:
    storage.save("a", "b", upload(PDF), {})
    storage.after_fork()
    assert b"".join(storage.open("a", "b", 4096)) == PDF
