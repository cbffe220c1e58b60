"""Saving a checked upload to S3 so that readers see the old object or the whole new one, in constant memory.

Up to one part (8 MiB): one ``put_object`` with every fact. Larger: a multipart upload of 8 MiB parts to a
staging key (``<prefix>/.uploads/<uuid>``), then a server-side copy to the file's key that sets the metadata
(SHA-256 is only known at the end), then the staging object goes. Any exception aborts the multipart upload,
so no part is left behind. Copies over 5 GB (``copy_object``'s limit) go as a multipart copy of 5 GB parts.
"""

from __future__ import annotations

import base64
import contextlib
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from modules.infrastructure.domain.storage.upload import CheckedUpload, Chunk
from modules.infrastructure.infrastructure.storage import s3_metadata
from modules.infrastructure.infrastructure.storage.s3_client import S3Location
from modules.infrastructure.infrastructure.storage.s3_errors import S3Errors
from modules.infrastructure.infrastructure.storage.s3_part_body import PartBody

PART = 8 * 1024 * 1024
MAX_PARTS = 10_000  # S3's limit per multipart upload
COPY_LIMIT = 5 * 1024**3  # largest object copy_object copies in one request
STAGING = ".uploads"  # under the prefix; no namespace starts with "."


class S3Uploader:
    """``save`` of the S3 backend; ``part_size`` and ``copy_limit`` are parameters so tests reach every path."""

    def __init__(self, client: Any, location: S3Location, errors: S3Errors, part_size: int = PART, copy_limit: int = COPY_LIMIT) -> None:
        self._client = client
        self._location = location
        self._errors = errors
        self.part_size = part_size
        self.copy_limit = copy_limit

    def save(self, target: str, upload: CheckedUpload, metadata: Mapping[str, str]) -> dict[str, str]:
        """Store ``upload`` under the object key ``target``; the S3 metadata written (with the facts)."""
        created_at = datetime.now(timezone.utc)
        s3_metadata.encode("0" * 64, created_at, metadata)  # metadata too long: refused before any byte moves
        parts = Parts(upload, self._part_size(upload))
        if parts.current.size < parts.size:
            sha256 = upload.facts().sha256
            fields = s3_metadata.encode(sha256, created_at, metadata)
            with self._errors(f"could not save {target!r}"):  # the server checks our SHA-256; botocore adds no CRC32 of its own
                self._client.put_object(Bucket=self._location.bucket, Key=target, Body=parts.body(), ContentType=upload.content_type,
                                        Metadata=fields, ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode())
            return fields
        staging = f"{self._location.root}{STAGING}/{uuid.uuid4().hex}"
        size = self._multipart(staging, upload.content_type, parts)
        try:
            fields = s3_metadata.encode(upload.facts().sha256, created_at, metadata)
            self._copy(staging, target, size, upload.content_type, fields)
        finally:
            with contextlib.suppress(Exception):
                self._client.delete_object(Bucket=self._location.bucket, Key=staging)
        return fields

    def _part_size(self, upload: CheckedUpload) -> int:
        """8 MiB, or more when the size limit could need more than 10,000 parts."""
        return max(self.part_size, -(-upload.max_size // MAX_PARTS))

    def _multipart(self, staging: str, content_type: str, parts: Parts) -> int:
        """Upload ``parts`` as the parts of ``staging``; its size."""
        size = 0
        with self._multipart_upload(staging, "the upload to", ContentType=content_type) as (upload_id, done):
            while parts.current.size:
                number = len(done) + 1
                with self._errors(f"could not upload part {number} of {staging!r}"):
                    answer = self._client.upload_part(Bucket=self._location.bucket, Key=staging, UploadId=upload_id,
                                                      PartNumber=number, Body=parts.body())
                done.append({"PartNumber": number, "ETag": answer["ETag"]})
                size += parts.current.size
                parts.advance()
        return size

    def _copy(self, source: str, target: str, size: int, content_type: str, fields: dict[str, str]) -> None:
        """Server-side copy of ``source`` to ``target`` with new metadata."""
        bucket = self._location.bucket
        if size <= self.copy_limit:
            with self._errors(f"could not move the upload to {target!r}"):
                self._client.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": source},
                                         MetadataDirective="REPLACE", ContentType=content_type, Metadata=fields)
            return
        with self._multipart_upload(target, "the copy to", ContentType=content_type, Metadata=fields) as (upload_id, done):
            for number, start in enumerate(range(0, size, self.copy_limit), start=1):
                done.append(self._copy_part(source, target, upload_id, number, start, min(start + self.copy_limit, size)))

    @contextmanager
    def _multipart_upload(self, key: str, what: str, **options: Any) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """A multipart upload to ``key``: the block adds its parts to the list; completed when the block ends,
        aborted when anything (ours, boto3's, the caller's source) raises, so no part is left behind."""
        bucket = self._location.bucket
        with self._errors(f"could not start {what} {key!r}"):
            upload_id = self._client.create_multipart_upload(Bucket=bucket, Key=key, **options)["UploadId"]
        done: list[dict[str, Any]] = []
        try:
            yield upload_id, done
            with self._errors(f"could not complete {what} {key!r}"):
                self._client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done})
        except BaseException:
            with contextlib.suppress(Exception):
                self._client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise

    def _copy_part(self, source: str, target: str, upload_id: str, number: int, start: int, end: int) -> dict[str, Any]:
        bucket = self._location.bucket
        with self._errors(f"could not copy part {number} to {target!r}"):
            answer = self._client.upload_part_copy(Bucket=bucket, Key=target, UploadId=upload_id, PartNumber=number,
                                                   CopySource={"Bucket": bucket, "Key": source}, CopySourceRange=f"bytes={start}-{end - 1}")
        return {"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]}


class Parts:
    """The upload read a part at a time: ``current`` is at least ``size`` bytes (at most one chunk more), or all
    that was left (empty at the end); ``advance`` lets it go before reading the next, so one part is in memory."""

    def __init__(self, upload: CheckedUpload, size: int) -> None:
        self._chunks = iter(upload)
        self.size = size
        self.current = PartBody(())
        self.advance()

    def advance(self) -> None:
        self.current = PartBody(())
        taken: list[Chunk] = []
        total = 0
        for chunk in self._chunks:
            taken.append(chunk)
            total += len(chunk)
            if total >= self.size:
                break
        self.current = PartBody(taken)

    def body(self) -> bytes | PartBody:
        """The current part of one chunk as the bytes themselves (botocore's quickest path), else as a file."""
        chunks = self.current.chunks
        return _as_bytes(chunks[0]) if len(chunks) == 1 else self.current


def _as_bytes(chunk: Chunk) -> bytes:
    """A chunk as bytes for botocore: the bytes object itself when a view covers all of it (a small file
    given whole), a copy of the view otherwise."""
    if isinstance(chunk, memoryview) and isinstance(chunk.obj, bytes) and chunk.nbytes == len(chunk.obj):
        return chunk.obj
    return bytes(chunk)
