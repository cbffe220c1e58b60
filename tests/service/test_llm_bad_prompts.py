"""Bad prompts, parameters and contexts are an ``LLMBadRequestError`` naming the input, before any request.

Placeholders are plain names: attribute and index access, conversions and format specs are refused
(``{x.__init__.__globals__[...]}`` once rendered an API key from the environment into a prompt).
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import httpx2
import pytest

from modules.infrastructure.module_api import InfrastructureService, LLMBadRequestError, Prompt, PromptContext
from modules.infrastructure.module_api.testing import fake_infrastructure
from tests.llm_support import Recorder, completion_body, config, gateway

pytestmark = pytest.mark.usefixtures("clean_env")

LEAKED_KEY = "sk-proj-LEAKCANARY-0000"


class Lesson:
    """A variable whose class has a Python ``__init__``: its ``__globals__`` are this module's, ``os`` reachable."""

    def __init__(self, title: str) -> None:
        self.title = title


BAD_PROMPTS: list[tuple[dict[str, Any], str]] = [
    ({"template": None}, "Prompt.template must be text"),
    ({"template": b"Hi"}, "Prompt.template must be text"),
    ({"template": "Hi", "system": 5}, "Prompt.system"),
    ({"template": "Hi", "name": ["n"]}, "Prompt.name"),
    ({"template": "Hi", "version": 3}, "Prompt.version"),
    ({"template": "Hi", "parameters": "temperature=0"}, "Prompt.parameters must be a mapping"),
    ({"template": "Hi", "parameters": {1: 2}}, "parameter names are text"),
    ({"template": "Hi", "parameters": {"max_tokens": "abc"}}, "['max_tokens']"),
    ({"template": "Hi", "parameters": {"max_tokens": -1}}, "['max_tokens']"),
    ({"template": "Hi", "parameters": {"max_tokens": 0}}, "['max_tokens']"),
    ({"template": "Hi", "parameters": {"max_tokens": 10**30}}, "['max_tokens']"),
    ({"template": "Hi", "parameters": {"max_tokens": 10**5000}}, "['max_tokens']"),
    ({"template": "Hi", "parameters": {"max_tokens": 2.5}}, "['max_tokens']"),
    ({"template": "Hi", "parameters": {"max_tokens": True}}, "['max_tokens']"),
    ({"template": "Hi", "parameters": {"temperature": math.nan}}, "['temperature']"),
    ({"template": "Hi", "parameters": {"temperature": math.inf}}, "['temperature']"),
    ({"template": "Hi", "parameters": {"temperature": -0.5}}, "['temperature']"),
    ({"template": "Hi", "parameters": {"temperature": 10**30}}, "['temperature']"),
    ({"template": "Hi", "parameters": {"temperature": "0"}}, "['temperature']"),
    ({"template": "Hi", "parameters": {"top_p": 1.5}}, "['top_p']"),
    ({"template": "Hi", "parameters": {"n": 0}}, "['n']"),
    ({"template": "Hi", "parameters": {"seed": 2**64}}, "['seed']"),
    ({"template": "Hi", "parameters": {"logit_bias": {"42": math.nan}}}, "['logit_bias'] cannot be sent as JSON"),
    ({"template": "Hi", "parameters": {"stop": {"a", "b"}}}, "['stop'] cannot be sent as JSON"),
    ({"template": "Hi", "parameters": {"metadata": object()}}, "['metadata'] cannot be sent as JSON"),
    ({"template": "Hi", "parameters": {"user": b"ann"}}, "['user'] cannot be sent as JSON"),
    ({"template": "Hi", "parameters": {"messages": [{"role": "user", "content": "x"}]}}, "may not set 'messages'"),
    ({"template": "Hi", "parameters": {"model": "gpt-4o"}}, "may not set 'model'"),
    ({"template": "Hi", "parameters": {"tools": [{"type": "function"}]}}, "may not set 'tools': the call sets it from InfrastructureService.chat"),
    ({"template": "Hi", "parameters": {"messages": []}}, "InfrastructureService.chat"),
    ({"template": "Hi", "parameters": {"stream": True}}, "may not set 'stream'"),
    ({"template": "Hi", "parameters": {"timeout": 5}}, "may not set 'timeout'"),
]


@pytest.mark.parametrize(("fields", "named"), BAD_PROMPTS, ids=[f"{n}:{named}" for n, (_, named) in enumerate(BAD_PROMPTS)])
def test_a_bad_prompt_is_a_bad_request_naming_the_input(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(LLMBadRequestError) as raised:
        Prompt(**fields)
    assert named in str(raised.value)


PLACEHOLDERS = [
    "{lesson.__init__.__globals__[os].environ[OPENAI_API_KEY]}",
    "{lesson.title}",
    "{items[0]}",
    "{name!r}",
    "{name:>100000000}",
    "{name:{width}}",
    "{}",
    "{0}",
    "{ name }",
]


@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
@pytest.mark.parametrize("where", ["template", "system"])
def test_a_placeholder_that_is_not_a_plain_name_is_refused(placeholder: str, where: str) -> None:
    fields = {"template": f"Write about {placeholder}."} if where == "template" else {"template": "Hi", "system": placeholder}
    with pytest.raises(LLMBadRequestError, match="a placeholder is a variable's name") as raised:
        Prompt(**fields)  # type: ignore[arg-type]
    assert placeholder[:40] in str(raised.value) and ("system prompt" in str(raised.value)) == (where == "system")


@pytest.mark.parametrize("template", ["{name", "name}", "{name}}", "{{name}"])
def test_unbalanced_braces_are_refused(template: str) -> None:
    with pytest.raises(LLMBadRequestError, match="not a valid template"):
        Prompt(template)


def test_the_api_key_in_the_environment_never_reaches_a_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", LEAKED_KEY)
    assert Lesson.__init__.__globals__["os"].environ["OPENAI_API_KEY"] == os.environ["OPENAI_API_KEY"]  # reachable so
    with fake_infrastructure(respond=lambda prompt: prompt.user) as fakes:
        with pytest.raises(LLMBadRequestError) as raised:
            InfrastructureService.execute_prompt(
                Prompt("Summarise {lesson.__init__.__globals__[os].environ[OPENAI_API_KEY]}"),
                PromptContext({"lesson": Lesson("Fractions")}),
            )
        assert fakes.llm.calls == 0 and LEAKED_KEY not in str(raised.value)


def test_literal_braces_and_plain_names_render() -> None:
    with fake_infrastructure(respond=lambda prompt: prompt.user) as fakes:
        prompt = Prompt('Answer as {{"title": "{title}"}} for {title}.', system="You write {kind}.")
        InfrastructureService.execute_prompt(prompt, PromptContext({"title": "Fractions", "kind": "JSON"}))
    [sent] = fakes.llm.prompts
    assert sent.user == 'Answer as {"title": "Fractions"} for Fractions.' and sent.system == "You write JSON."


class Unprintable:
    def __format__(self, spec: str) -> str:
        raise ValueError("no text for this one")


@pytest.mark.parametrize(
    ("variables", "named"),
    [({}, "has no 'title'"), ({"title": Unprintable()}, "variables['title'] cannot be turned into text")],
)
def test_a_variable_that_is_missing_or_cannot_be_text_is_a_bad_request(variables: dict[str, Any], named: str) -> None:
    with fake_infrastructure(respond=lambda prompt: prompt.user) as fakes:
        with pytest.raises(LLMBadRequestError, match=named.replace("[", r"\[").replace("]", r"\]")):
            InfrastructureService.execute_prompt(Prompt("About {title}"), PromptContext(variables))
        assert fakes.llm.calls == 0


BAD_CONTEXTS: list[tuple[dict[str, Any], str]] = [
    ({"variables": "title=x"}, "PromptContext.variables"),
    ({"variables": None}, "PromptContext.variables"),
    ({"module": 5}, "PromptContext.module"),
    ({"request_id": b"r"}, "PromptContext.request_id"),
    ({"provider": ["openai"]}, "PromptContext.provider"),
    ({"use_cache": "yes"}, "PromptContext.use_cache"),
    ({"timeout": 0}, "PromptContext.timeout"),
    ({"timeout": -1}, "PromptContext.timeout"),
    ({"timeout": math.nan}, "PromptContext.timeout"),
    ({"timeout": math.inf}, "PromptContext.timeout"),
    ({"timeout": 10**400}, "PromptContext.timeout"),
    ({"timeout": "5"}, "PromptContext.timeout"),
    ({"timeout": True}, "PromptContext.timeout"),
]


@pytest.mark.parametrize(("fields", "named"), BAD_CONTEXTS, ids=[f"{n}:{named}" for n, (_, named) in enumerate(BAD_CONTEXTS)])
def test_a_bad_context_is_a_bad_request_naming_the_input(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(LLMBadRequestError) as raised:
        PromptContext(**fields)
    assert named in str(raised.value)


@pytest.mark.parametrize("prompt", [None, b"Hi", 5])
def test_generate_completion_takes_text_only(prompt: Any) -> None:
    with fake_infrastructure(["unused"]) as fakes:
        with pytest.raises(LLMBadRequestError, match="prompt as text"):
            InfrastructureService.get_llm_client().generate_completion(prompt)
        with pytest.raises(LLMBadRequestError, match=r"\['max_tokens'\]"):
            InfrastructureService.get_llm_client().generate_completion("Hi", max_tokens="abc")
        assert fakes.llm.calls == 0


def test_a_parameter_the_client_does_not_know_is_sent_as_it_is() -> None:
    recorder = Recorder(lambda request: httpx2.Response(200, json=completion_body()))
    llm = gateway(recorder.provider(config()))
    llm.execute(Prompt("Hi", parameters={"top_k": 40, "temperature": 0.2, "extra_body": {"min_p": 0.05}}), PromptContext())
    sent = json.loads(recorder.requests[0].content)
    assert (sent["top_k"], sent["temperature"], sent["min_p"]) == (40, 0.2, 0.05)


@pytest.mark.parametrize("name", ["extra_body", "extra_headers", "extra_query"])
@pytest.mark.parametrize("others", [{}, {"top_k": 40}], ids=["alone", "with a parameter of the server's own"])
def test_a_client_argument_that_is_not_a_mapping_is_a_bad_request(name: str, others: dict[str, Any]) -> None:
    recorder = Recorder(lambda request: httpx2.Response(200, json=completion_body()))
    llm = gateway(recorder.provider(config()))
    with pytest.raises(LLMBadRequestError, match=rf"\['{name}'\] must be a mapping"):
        llm.execute(Prompt("Hi", parameters={**others, name: "min_p=0.05"}), PromptContext())
    assert recorder.requests == []
