"""Every exception class of each driver, and one instance of each, built without I/O.

``exception_classes`` walks a driver's exceptions modules and, recursively, the subclasses of
its base classes that are loaded; ``instance`` builds one, with a helper for the classes whose
constructor needs more than a message. A class that cannot be built fails its seam test: a
driver upgrade that adds one needs a helper here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any

Builder = Callable[[type[BaseException]], BaseException]

def exception_classes(modules: Iterable[ModuleType], bases: Iterable[type[BaseException]] = ()) -> list[type[BaseException]]:
    """The exception classes defined in ``modules`` plus every loaded subclass of ``bases``, sorted by name."""
    found: set[type[BaseException]] = set()
    for module in modules:
        found.update(
            value
            for value in list(vars(module).values())
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__.startswith(module.__name__.split(".")[0])
        )
    for base in bases:
        found.update(_subclasses(base))
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def instance(cls: type[BaseException], builders: dict[type[BaseException], Builder]) -> BaseException:
    """``cls`` built by its own helper (the nearest in its MRO), else with one message argument, else with none."""
    for klass in cls.__mro__:
        if klass in builders:
            return builders[klass](cls)
    if len(inspect.signature(cls.__init__).parameters) == 1 and cls.__init__ is not BaseException.__init__:
        return cls()  # a fixed message: ``def __init__(self)``
    return cls("scripted failure")


def name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _subclasses(base: type[BaseException]) -> Iterator[type[BaseException]]:
    yield base
    for sub in base.__subclasses__():
        yield from _subclasses(sub)


def sqlalchemy_builders() -> dict[type[BaseException], Builder]:
    """Constructors of the SQLAlchemy classes that take more than a message."""
    import sqlalchemy as sa
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.engine.default import StrCompileDialect
    from sqlalchemy.orm import exc as orm_exc
    from sqlalchemy.sql.compiler import StrSQLCompiler

    class _Model(_orm_base()):  # type: ignore[misc, valid-type]
        __tablename__ = "driver_exceptions_model"
        id = sa.Column(sa.Integer, primary_key=True)

    return {
        sa_exc.DBAPIError: lambda cls: cls("SELECT 1", {}, Exception("scripted failure")),  # type: ignore[call-arg]
        sa_exc.StatementError: lambda cls: cls("scripted failure", "SELECT 1", {}, None),  # type: ignore[call-arg]
        sa_exc.CircularDependencyError: lambda cls: cls("cycle", cycles=set(), edges=set()),  # type: ignore[call-arg]
        sa_exc.NoReferencedTableError: lambda cls: cls("no table", "t"),  # type: ignore[call-arg]
        sa_exc.NoReferencedColumnError: lambda cls: cls("no column", "t", "c"),  # type: ignore[call-arg]
        sa_exc.UnsupportedCompilationError: lambda cls: cls(StrSQLCompiler(StrCompileDialect(), None), sa.Column),  # type: ignore[call-arg]
        orm_exc.LoaderStrategyException: lambda cls: cls(object, "Model.attr", None, None, (("lazy", "nope"),)),  # type: ignore[call-arg]
        orm_exc.ObjectDeletedError: lambda cls: cls(sa.inspect(_Model())),  # type: ignore[call-arg]
    }


def _orm_base() -> Any:
    from sqlalchemy.orm import declarative_base

    return declarative_base()


# The HTTP status the openai client builds each status error for (``_make_status_error``); 418: any other.
OPENAI_STATUS = {
    "BadRequestError": 400, "AuthenticationError": 401, "OAuthError": 401, "PermissionDeniedError": 403,
    "NotFoundError": 404, "ConflictError": 409, "UnprocessableEntityError": 422, "RateLimitError": 429,
    "InternalServerError": 500, "APIStatusError": 418,
}


def openai_response(status: int, headers: dict[str, str] | None = None) -> Any:
    """An ``httpx2.Response`` as the openai client receives it: bound to its request."""
    import httpx2

    request = httpx2.Request("POST", "http://llm.test/v1/chat/completions")
    return httpx2.Response(status, headers=headers or {}, json={"error": {"message": "scripted failure"}}, request=request)


def status_error(status: int, headers: dict[str, str] | None = None, code: str | None = None) -> BaseException:
    """The status error the openai client raises for ``status``, built the way the client builds it."""
    import openai

    body = {"message": "scripted failure", "type": "error", "code": code}
    classes = {400: openai.BadRequestError, 401: openai.AuthenticationError, 403: openai.PermissionDeniedError,
               404: openai.NotFoundError, 409: openai.ConflictError, 422: openai.UnprocessableEntityError,
               429: openai.RateLimitError}
    cls = classes.get(status, openai.InternalServerError if status >= 500 else openai.APIStatusError)
    return cls(f"Error code: {status}", response=openai_response(status, headers), body=body)


def openai_builders() -> dict[type[BaseException], Builder]:
    """Constructors of the openai classes that take more than a message."""
    import openai
    from openai import _exceptions
    from openai.lib._old_api import APIRemovedInV1
    from openai.lib.beta.agents._result import AgentTurnResultError
    from openai.types.chat import ChatCompletion

    request = openai_response(200).request
    completion = ChatCompletion.model_construct(id="c", choices=[], created=0, model="m", object="chat.completion", usage=None)
    return {
        openai.APIError: lambda cls: cls("scripted failure", request, body=None),  # type: ignore[call-arg]
        openai.APIStatusError: lambda cls: cls(  # type: ignore[call-arg]
            "scripted failure", response=openai_response(OPENAI_STATUS[cls.__name__]), body={"message": "scripted failure"}
        ),
        openai.OAuthError: lambda cls: cls(response=openai_response(401), body={"error": "invalid_client"}),  # type: ignore[call-arg]
        openai.APIConnectionError: lambda cls: cls(request=request),  # type: ignore[call-arg]
        openai.APITimeoutError: lambda cls: cls(request),  # type: ignore[call-arg]
        openai.APIResponseValidationError: lambda cls: cls(openai_response(200), None),  # type: ignore[call-arg]
        openai.LengthFinishReasonError: lambda cls: cls(completion=completion),  # type: ignore[call-arg]
        openai.ContentFilterFinishReasonError: lambda cls: cls(),  # type: ignore[call-arg]
        openai.WebSocketConnectionClosedError: lambda cls: cls("closed", unsent_messages=[]),  # type: ignore[call-arg]
        _exceptions.SubjectTokenProviderError: lambda cls: cls("no token"),  # type: ignore[call-arg]
        APIRemovedInV1: lambda cls: cls(symbol="openai.Completion"),  # type: ignore[call-arg]
        AgentTurnResultError: lambda cls: cls(  # type: ignore[call-arg]
            "failed", turn=None, session_id=None, messages=[], required_actions=[]
        ),
    }


def pika_builders() -> dict[type[BaseException], Builder]:
    """Constructors of the pika classes that take more than a message: the closes carry the broker's reply."""
    from pika.exceptions import ChannelClosed, ConnectionClosed

    return {
        ConnectionClosed: lambda cls: cls(320, "CONNECTION_FORCED - broker forced connection closure"),  # type: ignore[call-arg]
        ChannelClosed: lambda cls: cls(406, "PRECONDITION_FAILED - inequivalent arg 'x-queue-type'"),  # type: ignore[call-arg]
    }


def redis_builders() -> dict[type[BaseException], Builder]:
    """Constructors of the redis-py classes that take more than a message: cluster redirections parse theirs."""
    from redis.exceptions import AskError

    return {AskError: lambda cls: cls("3999 127.0.0.1:6381")}
