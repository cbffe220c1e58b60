"""The bad-input sweep: malformed inputs to every public entry point, on the shipped fakes.

Each must give an ``InfrastructureError`` subclass whose message names the input and shows no secret,
or be a documented acceptance; nothing may be lost or stuck afterwards (a good call still works, no
event is left pending). Configuration: every variable of the settings table, with the values its
parser refuses. The table of outcomes goes to ``tests/integration/.results/bad_input_sweep.json``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from modules.content_creation.infrastructure.models import QuestionRecord, QuestionRepository
from modules.infrastructure.domain.config.integration_settings import FIELDS as INTEGRATION_FIELDS
from modules.infrastructure.domain.config.parsers import InvalidValue
from modules.infrastructure.domain.config.settings import SETTINGS, Setting
from modules.infrastructure.module_api import (
    CacheError,
    ConfigurationError,
    DatabaseError,
    InfrastructureService,
    InvalidArgumentError,
    InvalidCursorError,
    LLMBadRequestError,
    Message,
    MessagingError,
    NotFoundError,
    Prompt,
    StorageError,
    PromptContext,
    Tool,
    ToolCall,
)
from modules.infrastructure.module_api.testing import FakeInfrastructure, fake_infrastructure
from tests.bad_input import SECRET, Case, Tally, outcome

S = InfrastructureService
TALLY = Tally()
# Values tried on every variable; the ones its parser refuses become cases.
CANDIDATES = ["abc", "-1", "1e999", "nan", "99999999999999999999999", "1_0", "\u0663", "x://nowhere", "not a url", "0", SECRET]


@contextmanager
def environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    S.reset()
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
        S.reset()


def configured(name: str, raw: str) -> Callable[[], object]:
    def call() -> object:
        with environment(**{name: raw}):
            return S.get_config()

    return call


def refused(setting: Setting, raw: str) -> bool:
    try:
        setting.parse(raw)
    except InvalidValue:
        return True
    return False


def configuration_cases() -> list[Case]:
    cases = []
    for setting in SETTINGS:
        bad = [raw for raw in CANDIDATES if refused(setting, raw)][:2]
        if setting.name == "ENV_FILE":
            cases.append(Case("configuration", "ENV_FILE names no file", configured("ENV_FILE", "/nonexistent/sweep.env"), "ENV_FILE", ConfigurationError))
        for raw in bad:
            shown = "a secret pasted in" if raw == SECRET else repr(raw)
            cases.append(Case("configuration", f"{setting.name}={shown}", configured(setting.name, raw), setting.name, ConfigurationError))
        if not bad and setting.name != "ENV_FILE":
            cases.append(Case("configuration", f"{setting.name}=abc", configured(setting.name, "abc"), accepted="free text, as its description says"))
    cases.append(Case("configuration", "FEATURE_FLAG_X=maybe", configured("FEATURE_FLAG_SWEEP", "maybe"), "FEATURE_FLAG_SWEEP", ConfigurationError))
    for name in ("OPENAI_API_KEY_FILE", "DATABASE_URL_FILE", "DB_PASSWORD_FILE", "SECRETS_DIR"):
        for what, path in (("a relative path", "run/secrets/x"), ("a missing path", "/nonexistent/sweep"), ("a device", "/dev/null")):
            cases.append(Case("configuration", f"{name}={what}", configured(name, path), name, ConfigurationError))
        if name != "SECRETS_DIR":
            cases.append(Case("configuration", f"{name}=a folder", configured(name, "/"), name, ConfigurationError))
    return cases


def good_prompt() -> Prompt:
    return Prompt("Say {word}.", parameters={"temperature": 0})


def prompt_cases() -> list[Case]:
    def execute(prompt: object, context: object = None) -> Callable[[], object]:
        return lambda: S.execute_prompt(prompt, context)  # type: ignore[arg-type]

    def template(text: object, **variables: object) -> Callable[[], object]:
        return lambda: S.execute_prompt(Prompt(text), PromptContext(variables))  # type: ignore[arg-type]

    def parameters(**values: object) -> Callable[[], object]:
        return lambda: S.execute_prompt(Prompt("Say hi.", parameters=values))

    def context(**values: object) -> Callable[[], object]:
        return lambda: S.execute_prompt(good_prompt(), PromptContext(**values))  # type: ignore[arg-type]

    bad = LLMBadRequestError
    return [
        Case("prompts", "a str instead of a Prompt", execute("Say hi."), "Prompt", bad),
        Case("prompts", "None instead of a Prompt", execute(None), "Prompt", bad),
        Case("prompts", "a str instead of a PromptContext", execute(good_prompt(), "word=hi"), "PromptContext", bad),
        Case("prompts", "stream_prompt with a str", lambda: list(S.stream_prompt("Say hi.")), "Prompt", bad),  # type: ignore[arg-type]
        Case("prompts", "execute_prompt_json with a dict", lambda: S.execute_prompt_json({"template": "x"}), "Prompt", bad),  # type: ignore[arg-type]
        Case("prompts", "template None", template(None), "template", bad),
        Case("prompts", "template 123", template(123), "template", bad),
        Case("prompts", "template bytes", template(b"Say hi."), "template", bad),
        Case("prompts", "template empty", template(""), "empty", bad),
        Case("prompts", "attribute access in a placeholder", template("{x.__class__}", x="a"), "x.__class__", bad),
        Case("prompts", "index access in a placeholder", template("{x[0]}", x="ab"), "x[0]", bad),
        Case("prompts", "a conversion", template("{x!r}", x="a"), "x!r", bad),
        Case("prompts", "a format spec 100 MB wide", template("{x:>100000000}", x="a"), "x:>100000000", bad),
        Case("prompts", "a positional placeholder", template("{0}"), "{0}", bad),
        Case("prompts", "an empty placeholder", template("{}"), "{}", bad),
        Case("prompts", "an unclosed brace", template("Say {word"), "Say {word", bad),
        Case("prompts", "a lone closing brace", template("Say }"), "}", bad),
        Case("prompts", "a missing variable", template("Say {word}."), "word", bad),
        Case("prompts", "system not a str", lambda: S.execute_prompt(Prompt("Hi", system=123)), "system", bad),  # type: ignore[arg-type]
        Case("prompts", "name not a str", lambda: S.execute_prompt(Prompt("Hi", name=["x"])), "name", bad),  # type: ignore[arg-type]
        Case("prompts", "variables not a mapping", context(variables=["word"]), "variables", bad),
        Case("prompts", "module not a str", context(variables={"word": "hi"}, module=123), "module", bad),
        Case("prompts", "timeout negative", context(variables={"word": "hi"}, timeout=-1), "timeout", bad),
        Case("prompts", "timeout a str", context(variables={"word": "hi"}, timeout="5"), "timeout", bad),
        Case("prompts", "timeout NaN", context(variables={"word": "hi"}, timeout=math.nan), "timeout", bad),
        Case("prompts", "use_cache a str", context(variables={"word": "hi"}, use_cache="yes"), "use_cache", bad),
        Case("prompts", "an unknown provider", context(variables={"word": "hi"}, provider="nope"), "nope", bad),
        Case("prompts", "max_tokens a str", parameters(max_tokens="abc"), "max_tokens", bad),
        Case("prompts", "max_tokens negative", parameters(max_tokens=-5), "max_tokens", bad),
        Case("prompts", "max_tokens 10**30", parameters(max_tokens=10**30), "max_tokens", bad),
        Case("prompts", "temperature NaN", parameters(temperature=math.nan), "temperature", bad),
        Case("prompts", "temperature 7", parameters(temperature=7), "temperature", bad),
        Case("prompts", "temperature a str", parameters(temperature="hot"), "temperature", bad),
        Case("prompts", "response_format a str", parameters(response_format="json"), "response_format", bad),
        Case("prompts", "messages in the parameters", parameters(messages=[{"role": "user", "content": "x"}]), "messages", bad),
        Case("prompts", "model in the parameters", parameters(model="gpt-x"), "model", bad),
        Case("prompts", "stream in the parameters", parameters(stream=True), "stream", bad),
        Case("prompts", "a lone surrogate in the template", template("Say \ud800"), "surrogate", bad),
        Case("prompts", "a lone surrogate in a variable", template("Say {word}", word="\udcff"), "surrogate", bad),
        Case("prompts", "a lone surrogate in the system text", lambda: S.execute_prompt(Prompt("Hi", system="\ud800")), "surrogate", bad),
        Case("prompts", "a lone surrogate in a parameter", parameters(user="\ud800"), "user", bad),
        Case("prompts", "a header value with a line break", parameters(extra_headers={"X-A": "a\r\nB: 1"}), "extra_headers", bad),
        Case("prompts", "a header value not ASCII", parameters(extra_headers={"X-A": "é"}), "extra_headers", bad),
        Case("prompts", "a header value a number", parameters(extra_headers={"X-A": 5}), "extra_headers", bad),
        Case("prompts", "extra_headers a list", parameters(extra_headers=["X-A"]), "extra_headers", bad),
        Case("prompts", "a parameter JSON cannot hold", parameters(seed=object()), "seed", bad),
        Case("prompts", "an LLM client of an unknown provider", lambda: S.get_llm_client("nope"), "nope", bad),
        Case("prompts", "an LLM client named 123", lambda: S.get_llm_client(123), "123", bad),  # type: ignore[arg-type]
        Case("prompts", "usage since a str", lambda: S.get_llm_usage(since="yesterday"), "since", InvalidArgumentError),  # type: ignore[arg-type]
        Case("prompts", "usage of module 123", lambda: S.get_llm_usage(module=123), "module", InvalidArgumentError),  # type: ignore[arg-type]
    ]


def publish(**changes: object) -> Callable[[], object]:
    arguments: dict[str, object] = {"destination": "lessons", "payload": {"id": 1}, "event_type": "lesson.created", "source": "lessons"}
    arguments.update(changes)
    destination, payload = arguments.pop("destination"), arguments.pop("payload")
    return lambda: S.publish_event(destination, payload, **arguments)  # type: ignore[arg-type]


def publish_cases() -> list[Case]:
    deep: object = "leaf"
    for _ in range(500):
        deep = [deep]
    bad = MessagingError
    return [
        Case("publish_event", "destination None", publish(destination=None), "destination", bad),
        Case("publish_event", "destination empty", publish(destination=""), "destination", bad),
        Case("publish_event", "destination 123", publish(destination=123), "destination", bad),
        Case("publish_event", "destination 300 bytes", publish(destination="q" * 300), "destination", bad),
        Case("publish_event", "destination with a NUL", publish(destination="a\x00b"), "destination", bad),
        Case("publish_event", "event_type None", publish(event_type=None), "event_type", bad),
        Case("publish_event", "event_type with a newline", publish(event_type="a\nb"), "event_type", bad),
        Case("publish_event", "source a list", publish(source=["x"]), "source", bad),
        Case("publish_event", "correlation_id 12345", publish(correlation_id=12345), "correlation_id", bad),
        Case("publish_event", "correlation_id 300 bytes", publish(correlation_id="c" * 300), "correlation_id", bad),
        Case("publish_event", "priority -1", publish(priority=-1), "priority", bad),
        Case("publish_event", "priority 10", publish(priority=10), "priority", bad),
        Case("publish_event", "priority 1.5", publish(priority=1.5), "priority", bad),
        Case("publish_event", "priority True", publish(priority=True), "priority", bad),
        Case("publish_event", "priority '1'", publish(priority="1"), "priority", bad),
        Case("publish_event", "payload an object", publish(payload=object()), "payload", bad),
        Case("publish_event", "payload a set", publish(payload={1, 2}), "payload", bad),
        Case("publish_event", "payload bytes", publish(payload=b"raw"), "payload", bad),
        Case("publish_event", "payload NaN", publish(payload={"x": math.nan}), "payload", bad),
        Case("publish_event", "payload key 1", publish(payload={1: "one"}), "payload", bad),
        Case("publish_event", "payload key None", publish(payload={None: "none"}), "payload", bad),
        Case("publish_event", "payload 500 levels deep", publish(payload=deep), "payload", bad),
        Case("publish_event", "payload over the size limit", publish(payload={"x": "y" * 1_100_000}), "MESSAGING_MAX_PAYLOAD_BYTES", bad),
        Case("publish_event", "payload a datetime", publish(payload={"at": datetime.now(timezone.utc)}), "payload", bad),
        Case("publish_event", "headers a list", publish(headers=[("a", "b")]), "headers", bad),
        Case("publish_event", "headers key 1", publish(headers={1: "x"}), "headers", bad),
        Case("publish_event", "headers value an object", publish(headers={"k": object()}), "headers", bad),
        Case("publish_event", "headers value 2**70", publish(headers={"k": 2**70}), "headers", bad),
        Case("publish_event", "session a str", publish(session="x"), "session", bad),
        Case("publish_event", "session 123", publish(session=123), "session", bad),
        Case("publish_event", "relay_outbox max_messages 'x'", lambda: S.relay_outbox(max_messages="x"), "max_messages", MessagingError),  # type: ignore[arg-type]
        Case("publish_event", "relay_outbox max_messages -1", lambda: S.relay_outbox(max_messages=-1), "max_messages", MessagingError),
        Case("publish_event", "relay_outbox timeout 'x'", lambda: S.relay_outbox(timeout="x"), "timeout", MessagingError),  # type: ignore[arg-type]
        Case("publish_event", "relay_outbox timeout NaN", lambda: S.relay_outbox(timeout=math.nan), "timeout", MessagingError),
        Case("publish_event", "consume with no broker", lambda: S.consume("lessons", print), "RABBITMQ_URL", MessagingError),
    ]


def storage_cases() -> list[Case]:
    """Keys, contents and options through ``get_file_storage`` (on the shipped in-memory storage)."""

    def files() -> Any:
        return S.get_file_storage("sweep")

    def save(key: object = "a.txt", content: object = b"hello", **options: object) -> Callable[[], object]:
        return lambda: files().save(key, content, **options)

    bad = StorageError
    return [
        Case("storage", "namespace '../etc'", lambda: S.get_file_storage("../etc"), "namespace", bad),
        Case("storage", "namespace None", lambda: S.get_file_storage(None), "namespace", bad),  # type: ignore[arg-type]
        Case("storage", "key '../../etc/passwd'", save("../../etc/passwd"), "segment", bad),
        Case("storage", "key '/abs'", save("/abs"), "segment", bad),
        Case("storage", "key with NUL", save("a\x00b"), "U+0000", bad),
        Case("storage", "key with a right-to-left override", save("invoice\u202efdp.exe"), "U+202E", bad),
        Case("storage", "key with a fullwidth solidus", save("a\uff0f..\uff0fb"), "looks like", bad),
        Case("storage", "key decomposed (not NFC)", save("cafe\u0301"), "NFC", bad),
        Case("storage", "key of 5,000 characters", save("k" * 5000), "1,024", bad),
        Case("storage", "key bytes", save(b"a.txt"), "text", bad),
        Case("storage", "content a str", save(content="text"), "encode", bad),
        Case("storage", "content None", save(content=None), "not NoneType", bad),
        Case("storage", "content chunks of ints", save(content=[1, 2]), "chunk", bad),
        Case("storage", "metadata a list", save(metadata=["a"]), "metadata", bad),
        Case("storage", "metadata value an int", save(metadata={"n": 1}), "printable text", bad),
        Case("storage", "max_size -1", save(max_size=-1), "max_size", bad),
        Case("storage", "max_size 10**30", save(max_size=10**30), "max_size", bad),
        Case("storage", "session a dict", save(session={}), "get_database_session", bad),
        Case("storage", "list limit 'ten'", lambda: files().list(limit="ten"), "limit", bad),
        Case("storage", "list cursor with a line break", lambda: files().list(cursor="a\nb"), "cursor", bad),
        Case("storage", "list cursor of 9,000 characters", lambda: files().list(cursor="k" * 9000), "cursor", bad),
        Case("storage", "list cursor '../x'", lambda: files().list(cursor="../x"),
             accepted="a cursor is opaque: the fake and S3 start after it in key order, the local disk refuses one it did not give (README, File storage)"),
        Case("storage", "read of a missing file", lambda: files().read("missing.txt"), "missing.txt", bad),
        Case("storage", "download_url expires_in -5", lambda: files().download_url("a.txt", expires_in=-5), "expires_in", bad),
    ]


def cache_cases() -> list[Case]:
    def cache() -> object:
        return S.get_cache("sweep")

    bad = InvalidArgumentError
    return [
        Case("cache", "namespace None", lambda: S.get_cache(None), "namespace", bad),  # type: ignore[arg-type]
        Case("cache", "namespace empty", lambda: S.get_cache(""), "namespace", bad),
        Case("cache", "namespace with ':'", lambda: S.get_cache("a:b"), "namespace", bad),
        Case("cache", "namespace a glob", lambda: S.get_cache("sweep*"), "namespace", bad),
        Case("cache", "namespace 100 characters", lambda: S.get_cache("n" * 100), "namespace", bad),
        Case("cache", "namespace a list", lambda: S.get_cache(["lessons"]), "namespace", bad),  # type: ignore[arg-type]
        Case("cache", "namespace 'llm', the infrastructure's own", lambda: S.get_cache("llm"), "infrastructure's own", bad),
        Case("cache", "namespace with a trailing newline", lambda: S.get_cache("sweep\n"), "namespace", bad),
        Case("cache", "get key a lone surrogate", lambda: S.get_cache("sweep").get("k\ud800"), "surrogate", bad),
        Case("cache", "set key a lone surrogate", lambda: S.get_cache("sweep").set("k\ud800", "v"), "surrogate", bad),
        Case("cache", "set value a lone surrogate", lambda: S.get_cache("sweep").set("k", "\ud800"), "surrogate", bad),
        Case("cache", "set_json a lone surrogate", lambda: S.get_cache("sweep").set_json("k", {"a": "\ud800"}), "surrogate", bad),
        Case("cache", "pattern a lone surrogate", lambda: S.get_cache("sweep").invalidate_pattern("\ud800*"), "surrogate", bad),
        Case("cache", "strict a str", lambda: S.get_cache("sweep", strict="yes"), "strict", bad),  # type: ignore[arg-type]
        Case("cache", "get key None", lambda: S.get_cache("sweep").get(None), "key", bad),  # type: ignore[arg-type]
        Case("cache", "get key bytes", lambda: S.get_cache("sweep").get(b"k"), "key", bad),  # type: ignore[arg-type]
        Case("cache", "set key 123", lambda: S.get_cache("sweep").set(123, "v"), "key", bad),  # type: ignore[arg-type]
        Case("cache", "set key empty", lambda: S.get_cache("sweep").set("", "v"), accepted="any str is a key, the empty one too (README, Cache)"),
        Case("cache", "set value an object", lambda: S.get_cache("sweep").set("k", object()), "set_json", bad),  # type: ignore[arg-type]
        Case("cache", "set value 5", lambda: S.get_cache("sweep").set("k", 5), "set_json", bad),  # type: ignore[arg-type]
        Case("cache", "set value None", lambda: S.get_cache("sweep").set("k", None), "set_json", bad),  # type: ignore[arg-type]
        Case("cache", "set_json an object", lambda: S.get_cache("sweep").set_json("k", object()), "JSON", CacheError),
        Case("cache", "set_json an int key", lambda: S.get_cache("sweep").set_json("k", {"a": {1: 2}}), "key 1", CacheError),
        Case("cache", "set_json a None key", lambda: S.get_cache("sweep").set_json("k", [{None: 2}]), "key None", CacheError),
        Case("cache", "set_json NaN", lambda: S.get_cache("sweep").set_json("k", math.nan), "JSON", CacheError),
        Case("cache", "ttl -1", lambda: S.get_cache("sweep").set("k", "v", ttl=-1), "ttl", bad),
        Case("cache", "ttl 0", lambda: S.get_cache("sweep").set("k", "v", ttl=0), "ttl", bad),
        Case("cache", "ttl '5'", lambda: S.get_cache("sweep").set("k", "v", ttl="5"), "ttl", bad),  # type: ignore[arg-type]
        Case("cache", "ttl infinite", lambda: S.get_cache("sweep").set("k", "v", ttl=math.inf), "ttl", bad),
        Case("cache", "ttl 10**20", lambda: S.get_cache("sweep").set("k", "v", ttl=10**20), "ttl", bad),
        Case("cache", "ttl True", lambda: S.get_cache("sweep").set("k", "v", ttl=True), "ttl", bad),
        Case("cache", "pattern None", lambda: S.get_cache("sweep").invalidate_pattern(None), "pattern", bad),  # type: ignore[arg-type]
        Case("cache", "pattern 123", lambda: S.get_cache("sweep").invalidate_pattern(123), "pattern", bad),  # type: ignore[arg-type]
        Case("cache", "pattern '['", lambda: S.get_cache("sweep").invalidate_pattern("["), accepted="Redis's glob rules on both backends (README, Cache)"),
        Case("cache", "get_json of text that is not JSON", lambda: (S.get_cache("sweep").set("t", "{no"), S.get_cache("sweep").get_json("t")), "JSON", CacheError),
        Case("cache", "get of bytes that are not UTF-8", lambda: (S.get_cache("sweep").set("b", b"\xff\xfe"), S.get_cache("sweep").get("b")), "UTF-8", CacheError),
        Case("cache", "get_or_set lock_wait 0", lambda: S.get_cache("sweep").get_or_set("k", lambda: 1, lock_wait=0), "lock_wait", bad),
        Case("cache", "get_or_set lock_ttl 10**9", lambda: S.get_cache("sweep").get_or_set("k", lambda: 1, lock_ttl=10**9), "lock_ttl", bad),
        Case("cache", "get_or_set compute None", lambda: S.get_cache("sweep").get_or_set("k", None), "function", bad),  # type: ignore[arg-type]
        Case("cache", "get_or_set refresh_ahead >= ttl", lambda: S.get_cache("sweep").get_or_set("k", lambda: 1, ttl=5, refresh_ahead=5), "refresh_ahead", bad),
        Case("cache", "get_or_set of a set", lambda: S.get_cache("sweep").get_or_set("set", lambda: {1}), "JSON", CacheError),
        Case("cache", "cached key naming no argument", lambda: S.cached("sweep", key="k:{nope}")(lambda a: a), "nope", bad),
        Case("cache", "cached in the llm namespace", lambda: S.cached("llm"), "llm", bad),
        Case("cache", "cached lock_wait -1", lambda: S.cached("sweep", lock_wait=-1), "lock_wait", bad),
        Case("cache", "cached function called with a list", lambda: S.cached("sweep", key="v:{values}")(lambda values: 1)([1, 2]), "hashable", bad),
        Case("cache", "cached over a partial", lambda: S.cached("sweep")(__import__("functools").partial(max, 1)), "function", bad),
        Case("cache", "pattern with 1001 stars", lambda: S.get_cache("sweep").invalidate_pattern("*a" * 1001), "'*'", bad),
    ]


def repository(call: Callable[[QuestionRepository], object]) -> Callable[[], object]:
    def run() -> object:
        with S.get_database_session() as db:
            return call(QuestionRepository(db))

    return run


def database_cases() -> list[Case]:
    row = {"topic": "t", "text": "What?", "options": ["a", "b"], "answer_index": 0, "written_by": "sweep"}
    query = DatabaseError
    return [
        Case("database", "filter on an unknown column", repository(lambda r: r.get_all(nope=1)), "nope", query),
        Case("database", "filter with a NUL", repository(lambda r: r.get_all(topic="a\x00b")), "topic", query),
        Case("database", "get_by_id 2**63", repository(lambda r: r.get_by_id(2**63)), "64 bits", query),
        Case("database", "filter on 2**64", repository(lambda r: r.count(answer_index=2**64)), "64 bits", query),
        Case("database", "create with 2**70", repository(lambda r: r.create(**{**row, "answer_index": 2**70})), "64 bits", query),
        Case("database", "filter with a lone surrogate", repository(lambda r: r.count(topic="\ud800")), "surrogates", query),
        Case("database", "create with a lone surrogate", repository(lambda r: r.create(**{**row, "text": "\udcff"})), "surrogates", query),
        Case("database", "create with an unknown column", repository(lambda r: r.create(nope=1, **row)), "nope", query),
        Case("database", "create with a NUL", repository(lambda r: r.create(**{**row, "text": "a\x00b"})), "text", query),
        Case("database", "create with text too long for SQLite's String", repository(lambda r: r.create(**{**row, "topic": "x" * 1000})),
             accepted="SQLite does not enforce String lengths; PostgreSQL refuses (README, Database)"),
        Case("database", "update with an unknown column", repository(lambda r: r.update(1, nope=1)), "nope", query),
        Case("database", "get_all skip -1", repository(lambda r: r.get_all(skip=-1)), "skip", query),
        Case("database", "get_all limit -1", repository(lambda r: r.get_all(limit=-1)), "limit", query),
        Case("database", "get_all limit 'ten'", repository(lambda r: r.get_all(limit="ten")), "limit", query),
        Case("database", "get_all limit 10**30", repository(lambda r: r.get_all(limit=10**30)), "limit", query),
        Case("database", "filter with an unknown operator", repository(lambda r: r.get_all(topic__like="x")), "'like'", query),
        Case("database", "contains on an integer column", repository(lambda r: r.get_all(answer_index__icontains="1")), "integer", query),
        Case("database", "comparison on a JSON column", repository(lambda r: r.count(options__gt=["a"])), "options", query),
        Case("database", "text for an integer column", repository(lambda r: r.count(answer_index="1")), "answer_index", query),
        Case("database", "in with a str", repository(lambda r: r.get_all(topic__in="sql")), "topic__in", query),
        Case("database", "order_by an unknown column", repository(lambda r: r.get_all(order_by="-nope")), "nope", query),
        Case("database", "get_page 0", repository(lambda r: r.get_page(0)), "page", query),
        Case("database", "get_one of no row", repository(lambda r: r.get_one(id=-1)), "no QuestionRecord", NotFoundError),
        Case("database", "a cursor that is not one", repository(lambda r: r.get_cursor_page("abc")), "cursor", InvalidCursorError),
        Case("database", "repository without a model", lambda: type("NoModel", (QuestionRepository,), {"model": None})(None), "model", query),
        Case("database", "session read_only 'yes'", lambda: S.get_database_session(read_only="yes"), "read_only", InvalidArgumentError),  # type: ignore[arg-type]
        Case("database", "run_in_transaction of None", lambda: S.run_in_transaction(None), "fn", InvalidArgumentError),  # type: ignore[arg-type]
        Case("database", "run_in_transaction retries -1", lambda: S.run_in_transaction(lambda db: 1, retries=-1), "retries", InvalidArgumentError),
        Case("database", "run_in_transaction retries '3'", lambda: S.run_in_transaction(lambda db: 1, retries="3"), "retries", InvalidArgumentError),  # type: ignore[arg-type]
        Case("database", "run_in_transaction retries 10**9", lambda: S.run_in_transaction(lambda db: 1, retries=10**9), "retries", InvalidArgumentError),
        Case("database", "migrate to None", lambda: S.migrate(None), "target", InvalidArgumentError),  # type: ignore[arg-type]
        Case("database", "migrate to an unknown revision", lambda: S.migrate("nope"), "nope", InvalidArgumentError),
        Case("database", "a raw statement that is not SQL", repository(lambda r: r.session.execute(__import__("sqlalchemy").text("SELEC 1"))), "SELEC", query),
        Case("database", "a row that breaks a NOT NULL", repository(lambda r: r.create(**{**row, "topic": None})), "topic", query),
        Case("database", "add_many of an empty list", repository(lambda r: r.add_many([])), "no rows", query),
        Case("database", "add_many of None", repository(lambda r: r.add_many(None)), "list of rows", query),  # type: ignore[arg-type]
        Case("database", "add_many of one dict", repository(lambda r: r.add_many(row)), "list of rows", query),
        Case("database", "add_many with an unknown column", repository(lambda r: r.add_many([{**row, "nope": 1}])), "nope", query),
        Case("database", "add_many with 2**70", repository(lambda r: r.add_many([{**row, "answer_index": 2**70}])), "answer_index", query),
        Case("database", "add_many return_ids 'no'", repository(lambda r: r.add_many([row], return_ids="no")), "return_ids", query),  # type: ignore[arg-type]
        Case("database", "upsert without unique_by", repository(lambda r: r.upsert([row])), "unique_by", query),
        Case("database", "upsert unique_by None", repository(lambda r: r.upsert([row], unique_by=None)), "unique_by", query),  # type: ignore[arg-type]
        Case("database", "upsert on a column that is not unique", repository(lambda r: r.upsert([row], unique_by=("topic",))), "topic", query),
        Case("database", "update_many without a filter", repository(lambda r: r.update_many({"topic": "t"})), "all=True", query),
        Case("database", "update_many of no values", repository(lambda r: r.update_many({}, all=True)), "column", query),
        Case("database", "delete_many without a filter", repository(lambda r: r.delete_many()), "all=True", query),
        Case("database", "hard_delete_many on an unknown column", repository(lambda r: r.hard_delete_many(nope=1)), "nope", query),
        Case("database", "restore_many with a wrong value type", repository(lambda r: r.restore_many(id="1")), "id", query),
    ]


def integration_setting_cases() -> list[Case]:
    """Every INTEGRATION_<NAME>_* field of an integration named sweep, with the values its parser refuses."""
    cases = []
    base = {"INTEGRATION_SWEEP_BASE_URL": "https://sweep.example"}
    for suffix, _, _, parse in INTEGRATION_FIELDS:
        name = f"INTEGRATION_SWEEP_{suffix}"
        bad = [raw for raw in [*CANDIDATES, "ftp://x", "http://u:p@x", "https://x/?k=v", "no scheme", "tok en"] if _refuses(parse, raw)][:3]
        for raw in bad:
            shown = "a secret pasted in" if raw == SECRET else repr(raw)
            cases.append(Case("configuration", f"{name}={shown}", configured_all({**base, name: raw}), name, ConfigurationError))
    cases.append(Case("configuration", "INTEGRATION_SWEEP_TOKEN without BASE_URL", configured_all({"INTEGRATION_SWEEP_TOKEN": "t"}), "INTEGRATION_SWEEP_BASE_URL", ConfigurationError))
    cases.append(Case("configuration", "INTEGRATION_SWEEP_AUTH=basic without a password", configured_all({**base, "INTEGRATION_SWEEP_AUTH": "basic"}), "INTEGRATION_SWEEP_PASSWORD", ConfigurationError))
    return cases


def configured_all(values: dict[str, str]) -> Callable[[], object]:
    def call() -> object:
        with environment(**values):
            return S.get_config()

    return call


def _refuses(parse: Callable[[str], object], raw: str) -> bool:
    try:
        parse(raw)
    except InvalidValue:
        return True
    return False


def integration_cases() -> list[Case]:
    """Names, paths, headers, bodies and options through ``get_http_client`` (on the shipped FakeHttp)."""

    def get(path: object = "/ok", **options: object) -> Callable[[], object]:
        return lambda: S.get_http_client("sweep").get(path, **options)  # type: ignore[arg-type]

    def post(**options: object) -> Callable[[], object]:
        return lambda: S.get_http_client("sweep").post("/ok", **options)

    bad = InvalidArgumentError
    return [
        Case("integrations", "name None", lambda: S.get_http_client(None), "name", bad),  # type: ignore[arg-type]
        Case("integrations", "name 'a-b'", lambda: S.get_http_client("a-b"), "a-b", bad),
        Case("integrations", "name of 500 characters", lambda: S.get_http_client("n" * 500), "name", bad),
        Case("integrations", "name not configured", lambda: S.get_http_client("nowhere"), "INTEGRATION_NOWHERE_BASE_URL", ConfigurationError),
        Case("integrations", "path a URL to another host", get("https://evil.example/x"), "URL", bad),
        Case("integrations", "path '//evil.example/x'", get("//evil.example/x"), "URL", bad),
        Case("integrations", "path with '..'", get("/a/../../admin"), "..", bad),
        Case("integrations", "path with '%2e%2e'", get("/a/%2e%2e/admin"), "..", bad),
        Case("integrations", "path with a line break", get("/a\r\nHost: evil"), "path", bad),
        Case("integrations", "path with a query", get("/a?token=x"), "params=", bad),
        Case("integrations", "path None", get(None), "path", bad),
        Case("integrations", "method 'BREW'", lambda: S.get_http_client("sweep").request("BREW", "/"), "BREW", bad),
        Case("integrations", "header with a line break", get(headers={"X-A": "a\r\nX-B: b"}), "X-A", bad),
        Case("integrations", "header Authorization", get(headers={"Authorization": "Bearer other"}), "Authorization", bad),
        Case("integrations", "header value not ASCII", get(headers={"X-Name": "Zo\u00eb"}), "X-Name", bad),
        Case("integrations", "header name with a space", get(headers={"X A": "b"}), "header", bad),
        Case("integrations", "idempotency key empty", post(idempotency_key=""), "idempotency_key", bad),
        Case("integrations", "idempotency key of 1,000 characters", post(idempotency_key="k" * 1000), "idempotency_key", bad),
        Case("integrations", "json with NaN", post(json={"x": math.nan}), "json=", bad),
        Case("integrations", "json an object", post(json=object()), "json=", bad),
        Case("integrations", "json and content", post(json={}, content=b"x"), "not both", bad),
        Case("integrations", "content an int", post(content=5), "content=", bad),
        Case("integrations", "params a list", get(params=["a"]), "params", bad),
        Case("integrations", "params value a dict", get(params={"q": {"a": 1}}), "q", bad),
        Case("integrations", "deadline -1", get(deadline=-1), "deadline", bad),
        Case("integrations", "deadline NaN", get(deadline=math.nan), "deadline", bad),
        Case("integrations", "deadline 10**12", get(deadline=10**12), "deadline", bad),
        Case("integrations", "deadline '5'", get(deadline="5"), "deadline", bad),
    ]


def facade_cases() -> list[Case]:
    bad = InvalidArgumentError
    return [
        Case("facade", "feature flag None", lambda: S.is_feature_enabled(None), "name", bad),  # type: ignore[arg-type]
        Case("facade", "feature flag 123", lambda: S.is_feature_enabled(123), "name", bad),  # type: ignore[arg-type]
        Case("facade", "feature flag default 'no'", lambda: S.is_feature_enabled("x", default="no"), "default", bad),  # type: ignore[arg-type]
        Case("facade", "validate_environment timeout -1", lambda: S.validate_environment(timeout=-1), "timeout", bad),
        Case("facade", "validate_environment timeout 'x'", lambda: S.validate_environment(timeout="x"), "timeout", bad),  # type: ignore[arg-type]
        Case("facade", "validate_environment timeout NaN", lambda: S.validate_environment(timeout=math.nan), "timeout", bad),
        Case("facade", "override of an unknown component", lambda: S.override(databse=object()).__enter__(), "databse", bad),
    ]


def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


def _circular() -> dict:
    loop: dict = {}
    loop["self"] = loop
    return loop


def _dated(when: datetime) -> str:
    """A parameter type a JSON schema cannot state."""
    return when.isoformat()


def conversation_cases() -> list[Case]:
    """Histories, tools and loop limits through ``chat``, ``stream_chat`` and ``run_tools``."""
    hi = [Message.user("Hi")]
    bad = LLMBadRequestError

    def chat(history: object = hi, **options: object) -> Callable[[], object]:
        return lambda: S.chat(history, **options)  # type: ignore[arg-type]

    def loop(tools: object = (add,), **options: object) -> Callable[[], object]:
        return lambda: S.run_tools(hi, tools, **options)  # type: ignore[arg-type]

    nested: dict = {"type": "object", "properties": {}}
    for _ in range(5000):
        nested = {"type": "object", "properties": {"x": nested}}
    return [
        Case("conversations", "history None", chat(None), "list of Message", bad),
        Case("conversations", "history a str", chat("Hi"), "list of Message", bad),
        Case("conversations", "history a dict", chat({"role": "user"}), "list of Message", bad),
        Case("conversations", "history of wire dicts", chat([{"role": "user", "content": "Hi"}]), "not a Message", bad),
        Case("conversations", "content an int", chat([Message("user", 5)]), "content", bad),  # type: ignore[arg-type]
        Case("conversations", "role None", chat([Message(None, "x")]), "role", bad),  # type: ignore[arg-type]
        Case("conversations", "tool call id None", chat([Message.assistant(tool_calls=[ToolCall(None, "add")])]), "id and name", bad),  # type: ignore[arg-type]
        Case("conversations", "tool call id of 10 KB", chat([Message.assistant(tool_calls=[ToolCall("x" * 10_000, "add")])]), "id and name", bad),
        Case("conversations", "a result before its call", chat([Message.tool("c1", "5"), Message.user("x")]), "c1", bad),
        Case("conversations", "20,000 messages", chat([Message.user("x")] * 20_000), "20,000", bad),
        Case("conversations", "a 5 MB message", chat([Message.user("x" * 5_000_000)]), "over", bad),
        Case("conversations", "a lone surrogate", chat([Message.user("\udc80")]), "surrogate", bad),
        Case("conversations", "prompt a str", chat(hi, prompt="Say hi"), "Prompt", bad),
        Case("conversations", "context a dict", chat(hi, context={"module": "x"}), "PromptContext", bad),
        Case("conversations", "tools a str", chat(hi, tools="add"), "tools", bad),
        Case("conversations", "tools a dict", chat(hi, tools={"add": add}), "tools", bad),
        Case("conversations", "tool an int", chat(hi, tools=[5]), "function", bad),
        Case("conversations", "tool with *args", chat(hi, tools=[lambda *a: 0]), "*args", bad),
        Case("conversations", "tool of a datetime parameter", chat(hi, tools=[_dated]), "cannot state", bad),
        Case("conversations", "tool name with a space", lambda: S.chat(hi, tools=[Tool("two words")]), "name", bad),
        Case("conversations", "tool schema not an object", lambda: S.chat(hi, tools=[Tool("t", "", {"type": "string"})]), "object schema", bad),
        Case("conversations", "tool schema with NaN", lambda: S.chat(hi, tools=[Tool("t", "", {"type": "object", "properties": {"x": {"maximum": math.nan}}})]), "JSON", bad),
        Case("conversations", "tool schema invalid", lambda: S.chat(hi, tools=[Tool("t", "", {"type": "object", "required": "x"})]), "required", bad),
        Case("conversations", "tool schema nested 5,000 deep", lambda: S.chat(hi, tools=[Tool("t", "", nested)]), "JSON", bad),
        Case("conversations", "tool_choice 5", chat(hi, tools=[add], tool_choice=5), "tool_choice", bad),
        Case("conversations", "tool_choice of an undeclared tool", chat(hi, tools=[add], tool_choice="rm"), "tool_choice", bad),
        Case("conversations", "stream_chat of None", lambda: S.stream_chat(None).text(), "list of Message", bad),  # type: ignore[arg-type]
        Case("conversations", "tool_choice in OpenAI's dict form", chat(hi, tools=[add], tool_choice={"type": "function", "function": {"name": "add"}}), "tool_choice", bad),
        Case("conversations", "tool_choice a list", chat(hi, tools=[add], tool_choice=["add"]), "tool_choice", bad),
        Case("conversations", "tool call arguments None", chat([Message.assistant(tool_calls=[ToolCall("c1", "add", None)])]), "arguments", bad),  # type: ignore[arg-type]
        Case("conversations", "tool call arguments with a set", chat([Message.assistant(tool_calls=[ToolCall("c1", "add", {"a": {1, 2}})])]), "arguments", bad),
        Case("conversations", "tool call arguments with NaN", chat([Message.assistant(tool_calls=[ToolCall("c1", "add", {"a": math.nan})])]), "arguments", bad),
        Case("conversations", "tool call arguments that contain themselves", chat([Message.assistant(tool_calls=[ToolCall("c1", "add", _circular())])]), "arguments", bad),
        Case("conversations", "an empty user message", chat([Message.user("  ")]), "empty user message", bad),
        Case("conversations", "an empty assistant message", chat([Message.user("Hi"), Message.assistant(""), Message.user("Hi")]), "empty assistant message", bad),
        Case("conversations", "tool schema $ref to nowhere", lambda: S.chat(hi, tools=[Tool("t", "", {"type": "object", "properties": {"a": {"$ref": "#/$defs/none"}}})]), "$ref", bad),
        Case("conversations", "tool schema $ref to a remote schema", lambda: S.chat(hi, tools=[Tool("t", "", {"type": "object", "properties": {"a": {"$ref": "http://127.0.0.1:9/s.json"}}})]), "$ref", bad),
        Case("conversations", "tool schema with a key that is not text", lambda: S.chat(hi, tools=[Tool("t", "", {"type": "object", "properties": {1: {}}})]), "not text", bad),
        Case("conversations", "max_steps 0", loop(max_steps=0), "max_steps", bad),
        Case("conversations", "max_steps 10**12", loop(max_steps=10**12), "max_steps", bad),
        Case("conversations", "max_steps 2.5", loop(max_steps=2.5), "max_steps", bad),
        Case("conversations", "max_steps '3'", loop(max_steps="3"), "max_steps", bad),
        Case("conversations", "loop without tools", loop(()), "at least one tool", bad),
        Case("conversations", "loop tool without function", lambda: S.run_tools(hi, [Tool("t")]), "no function", bad),
    ]


CONFIGURATION = configuration_cases() + integration_setting_cases()
CALLS = (
    prompt_cases() + conversation_cases() + storage_cases() + publish_cases() + cache_cases() + database_cases() + integration_cases()
    + facade_cases()
)
ALL = CONFIGURATION + CALLS
SWEEP_ENVIRONMENT = {"SWEEP_SERVICE_TOKEN": SECRET}


def test_the_sweep_tries_at_least_200_inputs_and_every_variable() -> None:
    assert len(ALL) >= 200
    tried = " ".join(case.name for case in CONFIGURATION)
    assert [setting.name for setting in SETTINGS if setting.name not in tried] == []


@pytest.fixture(scope="module", autouse=True)
def tally() -> Iterator[Tally]:
    yield TALLY
    TALLY.write()


@pytest.fixture
def fakes(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeInfrastructure]:
    for name, value in SWEEP_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    with fake_infrastructure(respond=lambda prompt: "hi", environment={"INTEGRATION_SWEEP_BASE_URL": "https://sweep.test", "INTEGRATION_SWEEP_TOKEN": SECRET}) as installed:
        yield installed


@pytest.mark.parametrize("case", CONFIGURATION, ids=[case.id for case in CONFIGURATION])
def test_a_bad_setting_is_a_configuration_error_naming_it(case: Case, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the facade as an application reads it: the process environment, no fakes."""
    for name, value in SWEEP_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    kind, detail = outcome(case)
    TALLY.add(case, kind, detail)
    assert kind != "anything else", detail


@pytest.mark.parametrize("case", CALLS, ids=[case.id for case in CALLS])
def test_a_bad_input_gets_a_clear_error_and_leaves_nothing_behind(case: Case, fakes: FakeInfrastructure) -> None:
    kind, detail = outcome(case)
    TALLY.add(case, kind, detail)
    assert kind != "anything else", detail
    nothing_lost_or_stuck(fakes)


def nothing_lost_or_stuck(fakes: FakeInfrastructure) -> None:
    """A good prompt is answered and a good event reaches the broker; no other event waits in the outbox."""
    assert S.execute_prompt(good_prompt(), PromptContext({"word": "hi"})).content == "hi"
    event_id = S.publish_event("lessons", {"id": 1}, event_type="lesson.created", source="lessons")
    delivered = fakes.events()
    assert delivered[-1].id == event_id
    assert S.relay_outbox().pending == 0
    assert S.get_http_client("sweep").get("/ok").status == 200
    assert [request.path for request in fakes.http.requests("sweep")] == ["/ok"]  # nothing a bad call made was sent
    with S.get_database_session() as db:
        assert db.query(QuestionRecord).filter(QuestionRecord.written_by == "sweep").count() in (0, 1)
