"""``S3Errors``: the one seam between boto3 and callers; every botocore/boto3 exception leaves it as a
``StorageError``: a missing key as ``StoredFileNotFoundError``, refused credentials, a missing bucket and an
unreachable or failing server as ``StorageUnavailableError``. Messages are redacted: no credential in them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from boto3.exceptions import Boto3Error  # type: ignore[import-untyped]
from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    ConnectionError,
    CredentialRetrievalError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
)

from modules.infrastructure.domain.errors import StorageError, StorageUnavailableError, StoredFileNotFoundError
from modules.infrastructure.domain.secrets import Redactor

S3_ERRORS: tuple[type[Exception], ...] = (BotoCoreError, ClientError, Boto3Error)
# Connection refused, reset or timed out (ConnectionError covers EndpointConnectionError, ConnectTimeoutError,
# ReadTimeoutError, ConnectionClosedError); ResponseStreamingError (a body cut mid-read) is an HTTPClientError.
UNREACHABLE: tuple[type[Exception], ...] = (ConnectionError, HTTPClientError)
# A body cut while it streamed: worth a ranged request for the rest.
CUT_MIDWAY: tuple[type[Exception], ...] = (ConnectionError, HTTPClientError, IncompleteReadError)
NO_CREDENTIALS: tuple[type[Exception], ...] = (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError)
NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})
REFUSED = frozenset({"AccessDenied", "403", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                     "ExpiredToken", "InvalidToken", "TokenRefreshRequired", "AllAccessDisabled"})
CHECK_CREDENTIALS = "check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (or boto3's credential chain) and the bucket's policy"


class S3Errors:
    """``with errors("could not read 'ns/key'", key="ns/key"):`` raises a boto3 failure as a ``StorageError``,
    chained. ``key`` says a 404 means "no such file" (without one, a 404 means the bucket is missing)."""

    def __init__(self, bucket: str, endpoint: str, redactor: Redactor) -> None:
        self.bucket = bucket
        self.endpoint = endpoint
        self._redactor = redactor

    @contextmanager
    def __call__(self, failed: str, key: str | None = None) -> Iterator[None]:
        try:
            yield
        except S3_ERRORS as exc:
            raise self.error(exc, failed, key) from exc

    def error(self, exc: BaseException, failed: str, key: str | None = None) -> StorageError:
        """Our error for ``exc``; the caller raises it ``from exc``."""
        where = f"S3 storage (bucket {self.bucket!r} at {self.endpoint})"
        reason = self.reason(exc)
        if isinstance(exc, ClientError):
            return self._client_error(exc, where, failed, key, reason)
        if isinstance(exc, NO_CREDENTIALS):
            return StorageUnavailableError(f"{where} {failed}: {reason}; {CHECK_CREDENTIALS}")
        if isinstance(exc, UNREACHABLE):
            return StorageUnavailableError(f"{where} {failed}: {reason}; check STORAGE_ENDPOINT_URL, the network and that the server runs")
        return StorageError(f"{where} {failed}: {reason}")

    def _client_error(self, exc: ClientError, where: str, failed: str, key: str | None, reason: str) -> StorageError:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code == "NoSuchBucket" or (key is None and code in NOT_FOUND):
            return StorageUnavailableError(f"{where} {failed}: the bucket {self.bucket!r} does not exist; create it or fix STORAGE_URL")
        if code in NOT_FOUND:
            return StoredFileNotFoundError(f"There is no file {key!r} in the S3 storage (bucket {self.bucket!r})")
        if code == "PreconditionFailed":
            return StorageError(f"{where} {failed}: the file was replaced while it was read; read it again")
        if code in REFUSED or status in (401, 403):
            return StorageUnavailableError(f"{where} {failed}: the request was refused ({reason}); {CHECK_CREDENTIALS}")
        if status >= 500 or code in ("SlowDown", "ServiceUnavailable", "InternalError"):
            return StorageUnavailableError(f"{where} {failed}: the server failed after retries ({reason}); try again later")
        return StorageError(f"{where} {failed}: {reason}")

    def reason(self, exc: BaseException) -> str:
        """``Type: message``, secrets masked."""
        return self._redactor.redact(f"{type(exc).__name__}: {exc}".rstrip(". :"))
