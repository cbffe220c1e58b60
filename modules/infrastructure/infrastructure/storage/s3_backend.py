"""``S3Storage``: the storage port on an S3-compatible bucket (AWS, MinIO, ...) through boto3.

Objects are ``<prefix>/<namespace>/<key>``; sizes, SHA-256, creation time and the caller's metadata are object
metadata (``s3_metadata``). Saves go through ``S3Uploader``; reads stream the body in chunks (constant memory),
resumed with ranged requests when a connection is cut;
listings page with ``StartAfter`` (the cursor is the last key of a page) and read each file's facts with
``head_object`` on a few threads; statistics walk every object under the prefix (O(objects), 1,000 a request).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from modules.infrastructure.domain.config.values import StorageConfig
from modules.infrastructure.domain.errors import StorageError, StoredFileNotFoundError
from modules.infrastructure.domain.secrets import Redactor, mask_url
from modules.infrastructure.domain.storage.upload import CheckedUpload
from modules.infrastructure.domain.storage.values import FilePage, StorageStats, StoredFile
from modules.infrastructure.infrastructure.storage import s3_metadata
from modules.infrastructure.infrastructure.storage.download_headers import content_disposition
from modules.infrastructure.infrastructure.storage.s3_client import (
    CONNECT_TIMEOUT, READ_TIMEOUT, S3Location, credential_values, make_client,
)
from modules.infrastructure.infrastructure.storage.s3_errors import CUT_MIDWAY, S3Errors
from modules.infrastructure.infrastructure.storage.s3_upload import PART, STAGING, S3Uploader

MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4's longest validity
HEAD_THREADS = 8
MAX_RESUMES = 3  # ranged requests after connections cut while a body streams


class S3Storage:
    """The S3 backend; ``redactor`` learns the AWS_* credentials and masks them in every message; ``connect_timeout``/``read_timeout`` in seconds, ``part_size`` the multipart part."""

    kind = "s3"

    def __init__(self, config: StorageConfig, redactor: Redactor | None = None, connect_timeout: float = CONNECT_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT, part_size: int = PART) -> None:
        self._config = config
        self._timeouts = (connect_timeout, read_timeout)
        self.location = S3Location.parse(config.url)
        self.endpoint = mask_url(config.endpoint_url) if config.endpoint_url else "AWS"
        redactor = redactor or Redactor()
        redactor.add(credential_values(config))
        self.errors = S3Errors(self.location.bucket, self.endpoint, redactor)
        self._client = make_client(config, *self._timeouts)
        self.uploader = S3Uploader(self._client, self.location, self.errors, part_size)

    def save(self, namespace: str, key: str, upload: CheckedUpload, metadata: Mapping[str, str]) -> StoredFile:
        fields = self.uploader.save(self.location.object_key(namespace, key), upload, metadata)
        facts = upload.facts()
        created_at = datetime.fromisoformat(fields["created-at"])
        return StoredFile(namespace, key, facts.size, facts.sha256, facts.content_type, created_at, dict(metadata))

    def open(self, namespace: str, key: str, chunk_size: int) -> Iterator[bytes]:
        """The body streamed in chunks; a connection cut midway is resumed with a ranged request from the
        byte reached (``If-Match`` the object's ETag, so a file replaced meanwhile is never spliced)."""
        name = f"{_name(namespace, key)}"
        with self.errors(f"could not read {name}", key):
            answer = self._client.get_object(Bucket=self.location.bucket, Key=self.location.object_key(namespace, key))
        return self._chunks(self.location.object_key(namespace, key), answer, name, chunk_size)

    def _chunks(self, object_key: str, answer: dict[str, Any], name: str, chunk_size: int) -> Iterator[bytes]:
        body, size, offset, resumed = answer["Body"], int(answer["ContentLength"]), 0, 0
        try:
            while offset < size:
                try:
                    chunk: bytes = body.read(min(chunk_size, size - offset))
                except CUT_MIDWAY as exc:
                    if resumed == MAX_RESUMES:
                        raise self.errors.error(exc, f"could not read {name} (cut {MAX_RESUMES + 1} times)") from exc
                    resumed += 1
                    body.close()
                    body = self._rest(object_key, answer["ETag"], offset, name)
                    continue
                if not chunk:
                    raise StorageError(f"S3 storage: {name} ended after {offset:,} of {size:,} bytes; read it again")
                offset += len(chunk)
                yield chunk
        finally:
            body.close()

    def _rest(self, object_key: str, etag: str, offset: int, name: str) -> Any:
        with self.errors(f"could not resume reading {name} at byte {offset:,}"):
            return self._client.get_object(Bucket=self.location.bucket, Key=object_key, Range=f"bytes={offset}-", IfMatch=etag)["Body"]

    def info(self, namespace: str, key: str) -> StoredFile:
        with self.errors(f"could not read the facts of {_name(namespace, key)}", key):
            head = self._client.head_object(Bucket=self.location.bucket, Key=self.location.object_key(namespace, key))
        return s3_metadata.stored_file(namespace, key, head)

    def exists(self, namespace: str, key: str) -> bool:
        try:
            self.info(namespace, key)
        except StoredFileNotFoundError:
            return False
        return True

    def delete(self, namespace: str, key: str) -> bool:
        if not self.exists(namespace, key):
            return False  # S3 answers a delete of nothing as a success
        with self.errors(f"could not delete {_name(namespace, key)}", key):
            self._client.delete_object(Bucket=self.location.bucket, Key=self.location.object_key(namespace, key))
        return True

    def list(self, namespace: str, prefix: str, limit: int, cursor: str | None) -> FilePage:
        base = self.location.object_key(namespace, "")
        request: dict[str, Any] = {"Bucket": self.location.bucket, "Prefix": base + prefix, "MaxKeys": limit}
        if cursor is not None:
            request["StartAfter"] = base + cursor
        with self.errors(f"could not list the prefix {prefix!r} in the namespace {namespace!r}"):
            answer = self._client.list_objects_v2(**request)
        keys = [item["Key"][len(base):] for item in answer.get("Contents", ())]
        with ThreadPoolExecutor(HEAD_THREADS) as pool:
            found = list(pool.map(lambda key: self._info_or_none(namespace, key), keys))
        files = tuple(f for f in found if f is not None)  # a file deleted since the listing is left out
        return FilePage(files, keys[-1] if answer.get("IsTruncated") and keys else None)

    def _info_or_none(self, namespace: str, key: str) -> StoredFile | None:
        try:
            return self.info(namespace, key)
        except StoredFileNotFoundError:
            return None

    def download_url(self, namespace: str, key: str, expires_at: datetime) -> str:
        seconds = int((expires_at - datetime.now(timezone.utc)).total_seconds())
        if seconds > MAX_PRESIGN_SECONDS:
            raise StorageError(f"An S3 download URL is valid for at most 7 days; {expires_at.isoformat()} is later")
        self.info(namespace, key)
        params = {"Bucket": self.location.bucket, "Key": self.location.object_key(namespace, key),
                  "ResponseContentDisposition": content_disposition(key)}
        with self.errors(f"could not sign a download URL for {_name(namespace, key)}", key):
            url: str = self._client.generate_presigned_url("get_object", Params=params, ExpiresIn=max(1, seconds))
        return url

    def stats(self) -> StorageStats:
        """Count every object under the prefix, a request per 1,000: O(objects)."""
        root = self.location.root
        by_namespace: dict[str, tuple[int, int]] = {}
        with self.errors("could not count the files"):
            for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.location.bucket, Prefix=root):
                for item in page.get("Contents", ()):
                    namespace, slash, _ = item["Key"][len(root):].partition("/")
                    if slash and namespace != STAGING:
                        files, size = by_namespace.get(namespace, (0, 0))
                        by_namespace[namespace] = (files + 1, size + int(item["Size"]))
        return StorageStats(sum(f for f, _ in by_namespace.values()), sum(b for _, b in by_namespace.values()), by_namespace)

    def describe(self) -> str:
        return f"s3://{self.location.bucket}/{self.location.prefix} at {self.endpoint}"

    def check(self) -> str:
        with self.errors("is not usable"):
            self._client.head_bucket(Bucket=self.location.bucket)
        return f"bucket {self.location.bucket!r} reachable"

    def close(self) -> None:
        self._client.close()

    def after_fork(self) -> None:
        """A client of the child's own; the parent's connections are left alone, not closed."""
        self._client = make_client(self._config, *self._timeouts)
        self.uploader = S3Uploader(self._client, self.location, self.errors, self.uploader.part_size, self.uploader.copy_limit)


def _name(namespace: str, key: str) -> str:
    """A file as messages name it, as the other backends do."""
    return f"{key[:120]!r} in the namespace {namespace!r}"
