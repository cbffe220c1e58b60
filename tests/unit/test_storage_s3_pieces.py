"""The S3 backend's pure pieces: where objects go, metadata in and out, a part read as a file, errors mapped."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ParamValidationError  # type: ignore[import-untyped]

from modules.infrastructure.domain.errors import (
    ConfigurationError,
    StorageError,
    StorageUnavailableError,
    StoredFileNotFoundError,
)
from modules.infrastructure.domain.config.values import StorageConfig
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.storage import s3_metadata
from modules.infrastructure.infrastructure.storage.s3_backend import S3Storage
from modules.infrastructure.infrastructure.storage.s3_client import S3Location
from modules.infrastructure.infrastructure.storage.s3_errors import S3Errors
from modules.infrastructure.infrastructure.storage.s3_part_body import PartBody

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ERRORS = S3Errors("files", "http://127.0.0.1:9000", Redactor([SECRET]))


@pytest.mark.parametrize(("url", "bucket", "prefix", "key"), [
    ("s3://files", "files", "", "ns/a/b.pdf"),
    ("s3://files/", "files", "", "ns/a/b.pdf"),
    ("s3://files/app/uploads/", "files", "app/uploads", "app/uploads/ns/a/b.pdf"),
])
def test_an_object_key_is_prefix_namespace_key(url: str, bucket: str, prefix: str, key: str) -> None:
    location = S3Location.parse(url)
    assert (location.bucket, location.prefix, location.object_key("ns", "a/b.pdf")) == (bucket, prefix, key)


@pytest.mark.parametrize("url", ["s3://ab/x", "http://files/x", "s3://files/x?versionId=1", "files/x"])
def test_a_storage_url_that_is_no_bucket_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="s3://bucket/prefix"):
        S3Location.parse(url)


def test_metadata_round_trips_with_case_spaces_and_non_ascii_values_as_ascii() -> None:
    created = datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc)
    caller = {"title": "Wöche  1 — 100%", "owner-id": "42", "quote": 'a "b" \\ c'}
    fields = s3_metadata.encode("ab" * 32, created, caller)
    assert all(value.isascii() and " " not in value for value in fields.values())
    head = {"ContentLength": 7, "ContentType": "application/pdf", "Metadata": fields}
    stored = s3_metadata.stored_file("ns", "k", head)
    assert (stored.size, stored.sha256, stored.created_at, dict(stored.metadata)) == (7, "ab" * 32, created, caller)


def test_an_object_written_by_another_tool_still_has_facts() -> None:
    modified = datetime(2026, 1, 1, tzinfo=timezone.utc)
    stored = s3_metadata.stored_file("ns", "k", {"ContentLength": 3, "LastModified": modified, "Metadata": {"meta": "not json"}})
    assert (stored.sha256, stored.content_type, stored.created_at, dict(stored.metadata)) == ("", "application/octet-stream", modified, {})


def test_metadata_over_what_s3_keeps_is_refused() -> None:
    with pytest.raises(StorageError, match="at most 2,048"):
        s3_metadata.encode("ab" * 32, datetime.now(timezone.utc), {"note": "é" * 400})


def test_a_part_reads_as_one_seekable_file_without_joining_its_chunks() -> None:
    body = PartBody([b"abc", b"", b"defg", b"h"])
    assert body.read() == b"abcdefgh" and body.tell() == 8 and body.read(4) == b""
    assert body.seek(2) == 2 and body.read(3) == b"c" and body.read(3) == b"def"
    assert body.seek(-1, io.SEEK_END) == 7 and body.read() == b"h" and body.seek(0, io.SEEK_END) == body.size == 8


def client_error(code: str, status: int, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")


@pytest.mark.parametrize(("error", "key", "kind", "says"), [
    (client_error("NoSuchKey", 404), "ns/a", StoredFileNotFoundError, "no file 'ns/a'"),
    (client_error("404", 404), "ns/a", StoredFileNotFoundError, "no file"),
    (client_error("404", 404), None, StorageUnavailableError, "'files' does not exist"),
    (client_error("NoSuchBucket", 404), "ns/a", StorageUnavailableError, "'files' does not exist"),
    (client_error("SignatureDoesNotMatch", 403, f"key {SECRET}"), "ns/a", StorageUnavailableError, "AWS_SECRET_ACCESS_KEY"),
    (client_error("InvalidAccessKeyId", 403), None, StorageUnavailableError, "AWS_ACCESS_KEY_ID"),
    (client_error("403", 403), "ns/a", StorageUnavailableError, "refused"),
    (client_error("SlowDown", 503), "ns/a", StorageUnavailableError, "after retries"),
    (client_error("InvalidRange", 416), "ns/a", StorageError, "InvalidRange"),
    (client_error("PreconditionFailed", 412), "ns/a", StorageError, "replaced while it was read"),
    (EndpointConnectionError(endpoint_url="http://127.0.0.1:9000"), None, StorageUnavailableError, "STORAGE_ENDPOINT_URL"),
    (NoCredentialsError(), None, StorageUnavailableError, "credential chain"),
    (ParamValidationError(report="bad"), None, StorageError, "bad"),
])
def test_every_boto_error_leaves_the_seam_as_a_storage_error_without_the_secret(
    error: Exception, key: str | None, kind: type[StorageError], says: str
) -> None:
    with pytest.raises(StorageError, match=says) as caught:
        with ERRORS("could not read", key):
            raise error
    assert type(caught.value) is kind and caught.value.__cause__ is error and SECRET not in str(caught.value)


def test_an_endpoint_given_with_credentials_is_masked_in_every_message() -> None:
    storage = S3Storage(StorageConfig(url="s3://files/app", endpoint_url="http://minio:s3cretpass@127.0.0.1:9"))
    try:
        assert "s3cretpass" not in storage.describe() and "minio:****@127.0.0.1:9" in storage.describe()
        with pytest.raises(StorageUnavailableError) as caught:
            storage.info("ns", "k")
        assert "s3cretpass" not in str(caught.value)
    finally:
        storage.close()
