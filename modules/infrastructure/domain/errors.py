"""Every error that leaves the infrastructure module.

    InfrastructureError
    ├── InvalidArgumentError        a call got an argument it cannot use (wrong type, out of range); also a ValueError
    ├── ConfigurationError          a setting is missing, malformed or out of range
    ├── DatabaseError               a database operation failed
    │   ├── DatabaseConnectionError        the server is unreachable, refused us or dropped us
    │   │   └── DatabaseCommitUnknownError     dropped during COMMIT: it may or may not have committed
    │   ├── DatabasePoolExhaustedError     no free connection within DB_POOL_TIMEOUT
    │   ├── DatabaseConflictError          serialization failure or deadlock; run it again
    │   ├── DatabaseIntegrityError         a constraint refused the data
    │   ├── DatabaseQueryError             the statement or its arguments are invalid
    │   │   └── InvalidCursorError             a page cursor that is malformed, tampered with or of another query
    │   ├── NotFoundError                  ``get_one`` found no row matching the filters
    │   ├── DatabaseStatementTimeoutError  the statement ran past DB_STATEMENT_TIMEOUT_MS (SQLSTATE 57014)
    │   └── DatabaseReadOnlyError          a write in a read-only transaction or database (25006, SQLITE_READONLY)
    ├── CacheError                  the cache failed (strict callers only), or a value cannot be encoded/decoded
    │   └── CacheConnectionError        Redis refused or dropped the connection, or did not answer in time
    ├── StorageError                a file could not be saved, read, listed or deleted
    │   ├── FileTooLargeError           over STORAGE_MAX_FILE_SIZE (checked while the bytes stream)
    │   ├── ContentTypeNotAllowedError  the type detected from the leading bytes is not in STORAGE_ALLOWED_TYPES
    │   ├── StoredFileNotFoundError     no file under that key
    │   ├── InvalidFileKeyError         a key or namespace that could name something outside the namespace
    │   ├── InvalidDownloadTokenError   a download URL's token is malformed, forged, tampered with or expired
    │   └── StorageUnavailableError     the disk or bucket refused or could not be reached
    ├── IntegrationError            a call to an outside service (get_http_client) failed
    │   ├── IntegrationConnectionError      the service could not be reached, or dropped the connection
    │   ├── IntegrationTimeoutError         no answer within INTEGRATION_<NAME>_TIMEOUT or the call's deadline
    │   ├── IntegrationRateLimitedError     429 from the service, or no room in INTEGRATION_<NAME>_RPM_LIMIT in time
    │   ├── IntegrationAuthenticationError  401 or 403: the service refused the credential
    │   ├── IntegrationClientError          another 4xx: the request is wrong; retrying cannot help
    │   ├── IntegrationServerError          a 5xx answer, after the retries
    │   ├── IntegrationCircuitOpenError     the service failed too often in a row; calls fail fast for a while
    │   └── IntegrationResponseError        the body is over INTEGRATION_<NAME>_MAX_RESPONSE_BYTES, or not the JSON asked for
    ├── MessagingError              an event could not be stored or published
    │   └── MessagingAuthenticationError   RabbitMQ refused the user, password or virtual host
    └── LLMProviderError            a language-model call failed
        ├── LLMRateLimitError       the provider or a local limit said "slow down"
        ├── LLMTimeoutError         no answer within the timeout or deadline
        ├── LLMAuthenticationError  the credentials were refused
        ├── LLMBadRequestError      the request itself is wrong; retrying cannot help
        ├── LLMMalformedResponseError  a success that is no completion (not JSON, no choices, no text); retried
        ├── LLMResponseFormatError  the answer is not in the asked-for format (invalid JSON)
        │   └── LLMToolCallError        a tool call with arguments that break its schema, or of an undeclared tool
        ├── LLMToolError            a tool function the tool loop ran raised (its exception is the cause)
        └── LLMToolLoopError        the tool loop reached its step limit before the model answered

Driver and client exceptions are mapped to this tree at the adapter edge and chained
(``raise ... from exc``). Messages say what failed and what to do, and never carry a
secret: API keys, tokens and URL passwords are masked before a message is built.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "CacheConnectionError",
    "CacheError",
    "ConfigurationError",
    "ContentTypeNotAllowedError",
    "DatabaseCommitUnknownError",
    "DatabaseConflictError",
    "DatabaseConnectionError",
    "DatabaseError",
    "DatabaseIntegrityError",
    "DatabasePoolExhaustedError",
    "DatabaseQueryError",
    "DatabaseReadOnlyError",
    "DatabaseStatementTimeoutError",
    "FileTooLargeError",
    "InfrastructureError",
    "IntegrationAuthenticationError",
    "IntegrationCircuitOpenError",
    "IntegrationClientError",
    "IntegrationConnectionError",
    "IntegrationError",
    "IntegrationRateLimitedError",
    "IntegrationResponseError",
    "IntegrationServerError",
    "IntegrationTimeoutError",
    "InvalidArgumentError",
    "InvalidDownloadTokenError",
    "InvalidCursorError",
    "InvalidFileKeyError",
    "LLMAuthenticationError",
    "LLMBadRequestError",
    "LLMMalformedResponseError",
    "LLMProviderError",
    "LLMRateLimitError",
    "LLMResponseFormatError",
    "LLMTimeoutError",
    "LLMToolCallError",
    "LLMToolError",
    "LLMToolLoopError",
    "MessagingAuthenticationError",
    "MessagingError",
    "NotFoundError",
    "StorageError",
    "StorageUnavailableError",
    "StoredFileNotFoundError",
]


class InfrastructureError(Exception):
    """Base of every failure raised by the infrastructure module."""


class InvalidArgumentError(InfrastructureError, ValueError):
    """A facade or cache call got an argument it cannot use; the message names it. A ``ValueError`` too, as before."""


class ConfigurationError(InfrastructureError):
    """The configuration is unusable; ``problems`` lists every problem found, not just the first."""

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        if self.problems:
            message = message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message)


class DatabaseError(InfrastructureError):
    """A database operation failed."""


class DatabaseConnectionError(DatabaseError):
    """The database server is unreachable, refused the connection, or the connection was lost."""


class DatabaseCommitUnknownError(DatabaseConnectionError):
    """The connection was lost while COMMIT was under way: the transaction may or may not have committed.

    Running it again blindly can apply it twice; ``run_in_transaction`` does not. Check whether its
    changes are there, or make the unit of work idempotent (a unique key, an upsert) before retrying.
    """


class DatabasePoolExhaustedError(DatabaseError):
    """Every pooled connection stayed checked out for DB_POOL_TIMEOUT; sessions may not be closed."""


class DatabaseConflictError(DatabaseError):
    """A serialization failure or deadlock rolled the transaction back; running it again may succeed."""


class DatabaseIntegrityError(DatabaseError):
    """A unique, foreign-key, not-null or check constraint refused the data."""


class DatabaseQueryError(DatabaseError):
    """The statement or its arguments are invalid (bad SQL, unknown column or filter, wrong type)."""


class InvalidCursorError(DatabaseQueryError):
    """A page cursor that is not one this query gave out: bad base64 or JSON, wrong values, or another query's."""


class NotFoundError(DatabaseError):
    """``get_one`` found no row matching the filters; the message names the model and the filters."""


class DatabaseStatementTimeoutError(DatabaseError):
    """The server cancelled the statement (SQLSTATE 57014): it ran past DB_STATEMENT_TIMEOUT_MS, or was cancelled."""


class DatabaseReadOnlyError(DatabaseError):
    """A write was refused: the transaction is read-only (SQLSTATE 25006) or the SQLite file cannot be written."""


class CacheError(InfrastructureError):
    """A cache operation failed (raised only in strict mode), or a value is not valid JSON or UTF-8 text."""


class StorageError(InfrastructureError):
    """A file could not be saved, read, listed or deleted; nothing was left half-written."""


class FileTooLargeError(StorageError):
    """The file is over STORAGE_MAX_FILE_SIZE (or the call's ``max_size``); found while it streamed, nothing kept."""


class ContentTypeNotAllowedError(StorageError):
    """The content type detected from the file's leading bytes is not one STORAGE_ALLOWED_TYPES (or the call) allows."""


class StoredFileNotFoundError(StorageError):
    """There is no file under that key in that namespace."""


class InvalidFileKeyError(StorageError, ValueError):
    """A key or namespace that is not a plain path inside the namespace (``..``, absolute, NUL, look-alikes...)."""


class InvalidDownloadTokenError(StorageError):
    """A download URL's token is malformed, its signature does not match (forged or tampered with) or it expired."""


class StorageUnavailableError(StorageError):
    """The disk or the bucket refused the operation or could not be reached; check STORAGE_URL and permissions."""


class CacheConnectionError(CacheError):
    """Redis refused or dropped the connection, or did not answer within CACHE_SOCKET_TIMEOUT."""


class IntegrationError(InfrastructureError):
    """A call to an outside service failed. ``integration``, ``method`` and ``path`` (without its query) say which
    call, ``status`` the HTTP status when one came, ``response`` the answer (an ``HttpResponse``) when there was one;
    never the credential or a query string."""

    def __init__(
        self,
        message: str,
        *,
        integration: str,
        method: str,
        path: str,
        status: int | None = None,
        retry_after: float | None = None,
        response: object = None,
    ) -> None:
        super().__init__(message)
        self.integration = integration
        self.method = method
        self.path = path
        self.status = status
        self.retry_after = retry_after
        self.response = response


class IntegrationConnectionError(IntegrationError):
    """The service could not be reached (refused, name not found, TLS failed) or dropped the connection."""


class IntegrationTimeoutError(IntegrationError):
    """No answer within the attempt's timeout or the call's deadline."""


class IntegrationRateLimitedError(IntegrationError):
    """The service answered 429, or the integration's own rate limit has no room before the deadline;
    ``retry_after`` is the wait in seconds, when known."""


class IntegrationAuthenticationError(IntegrationError):
    """401 or 403: the service refused the credential; check INTEGRATION_<NAME>_TOKEN, _API_KEY or _PASSWORD."""


class IntegrationClientError(IntegrationError):
    """A 4xx other than 401, 403 and 429: the request is wrong (``status`` and ``response`` say how)."""


class IntegrationServerError(IntegrationError):
    """The service answered 5xx, on every attempt the call was allowed."""


class IntegrationCircuitOpenError(IntegrationError):
    """The integration failed INTEGRATION_<NAME>_BREAKER_THRESHOLD times in a row; calls fail fast until the cool-down ends."""


class IntegrationResponseError(IntegrationError):
    """The answer cannot be used: its body is over INTEGRATION_<NAME>_MAX_RESPONSE_BYTES, or it is not the JSON asked for."""


class MessagingError(InfrastructureError):
    """An event could not be stored in the outbox or published to the broker."""


class MessagingAuthenticationError(MessagingError):
    """RabbitMQ refused the user, password or virtual host of RABBITMQ_URL; retrying cannot help."""


class LLMProviderError(InfrastructureError):
    """A language-model call failed; ``code`` is the provider's error code (``insufficient_quota``), when given,
    ``retry_after`` the wait in seconds the provider suggested (a Retry-After header), when it did, and
    ``should_retry`` its ``x-should-retry`` header (``True``/``False``), which overrides the status-based decision."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        should_retry: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status_code = status_code
        self.code = code
        self.retry_after = retry_after
        self.should_retry = should_retry


class LLMRateLimitError(LLMProviderError):
    """Rate limited; ``retry_after`` is the suggested wait in seconds, when known."""


class LLMTimeoutError(LLMProviderError):
    """The provider did not answer within the per-attempt timeout or the call's deadline."""


class LLMAuthenticationError(LLMProviderError):
    """The provider refused the credentials (HTTP 401/403); check the API key setting."""


class LLMBadRequestError(LLMProviderError):
    """The request is invalid (bad prompt, missing variable, too long); retrying cannot help."""


class LLMMalformedResponseError(LLMProviderError):
    """The provider answered with success but not with a completion: a body that is not JSON, no choices,
    or no text and no tool calls. A fault of the provider, so it is retried (like a 5xx) and never cached."""


class LLMResponseFormatError(LLMProviderError):
    """The answer is not in the format asked for (``execute_prompt_json``: not valid JSON); ``content`` holds it."""

    def __init__(self, message: str, *, provider: str | None = None, content: str = "") -> None:
        super().__init__(message, provider=provider)
        self.content = content


class LLMToolCallError(LLMResponseFormatError):
    """The model called a tool it was not given, or with arguments that are not JSON or break the tool's schema.

    ``response`` is the whole answer (an ``LLMResponse``): ``response.feedback()`` gives the messages that tell
    the model what was wrong, to send back as the next turn. Never cached.
    """

    def __init__(self, message: str, *, provider: str | None = None, response: object = None) -> None:
        super().__init__(message, provider=provider)
        self.response = response


class LLMToolError(LLMProviderError):
    """A tool function run by the tool loop raised; the exception is ``__cause__``, ``tool`` names the tool."""

    def __init__(self, message: str, *, tool: str) -> None:
        super().__init__(message)
        self.tool = tool


class LLMToolLoopError(LLMProviderError):
    """The tool loop reached its step limit while the model still called tools; ``messages`` is the history so
    far (a tuple of ``Message``), so the caller can continue it."""

    def __init__(self, message: str, *, messages: object = ()) -> None:
        super().__init__(message)
        self.messages = messages
