"""Ask the model for a multiple-choice question in JSON mode; check it; ask once more if it is not usable."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from modules.content_creation.domain.question import InvalidQuestion, MultipleChoiceQuestion, parse_question
from modules.content_creation.module_api.errors import QuestionGenerationError
from modules.content_creation.settings import MODULE, current
from modules.infrastructure.module_api import InfrastructureService, LLMResponse, Prompt, PromptContext

OPTIONS = 4  # what the prompt asks for; parse_question accepts 2 to 6 different ones
MAX_PROBLEM = 240  # characters of the rejection reason quoted back to the model
QUESTION_PATTERN = r"^(What|Which|Who|Where|When|How) [^\"?]{5,150}[?]$"
# With a grammar-constrained server (the embedded llama.cpp) the schema shapes the reply itself.
SCHEMA = {
    "type": "object",
    "properties": {
        "question": {"type": "string", "pattern": QUESTION_PATTERN},
        "options": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 40}, "minItems": OPTIONS, "maxItems": OPTIONS},
        "answer": {"type": "string", "minLength": 1, "maxLength": 40},
    },
    "required": ["question", "options", "answer"],
    "additionalProperties": False,
}
QUESTION_PROMPT = Prompt(
    "Write a quiz question about {topic}. Give different options; exactly one is correct.",
    system=(
        "You are a teacher. You write one multiple-choice quiz question as JSON with the keys question, "
        "options (four different short answers, one to four words each) and answer (the correct option, copied exactly)."
    ),
    name="content_creation.question",
    version="1",
    parameters={
        "temperature": 0,
        "max_tokens": 200,
        "response_format": {"type": "json_schema", "json_schema": {"name": "question", "schema": SCHEMA}},
    },
)
# The second try says what was wrong and samples (temperature 0 would repeat the first answer word for word), at
# CONTENT_CREATION_RETRY_TEMPERATURE (0.7) in place of the temperature shown.
RETRY_PROMPT = replace(
    QUESTION_PROMPT,
    template=QUESTION_PROMPT.template + " Your last answer was rejected: {problem}. Write a new one.",
    version="1-retry",
    parameters={**QUESTION_PROMPT.parameters, "temperature": 0.7, "seed": 7},
)


@dataclass(frozen=True)
class Generated:
    """The question and what asking for it cost, over every try."""

    question: MultipleChoiceQuestion
    written_by: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    tries: int
    cached: bool


def generate_question(topic: str) -> Generated:
    """A checked question about ``topic``; raises ``QuestionGenerationError`` after two unusable replies.

    ``execute_prompt`` with a ``response_format`` rather than ``execute_prompt_json``: the tokens and
    latency are reported too, and a reply that is not JSON is one more kind of unusable reply.
    """
    problems: list[str] = []
    responses: list[LLMResponse] = []
    for prompt in (QUESTION_PROMPT, _retry_prompt()):
        variables = {"topic": topic, "problem": problems[-1] if problems else ""}
        responses.append(InfrastructureService.execute_prompt(prompt, PromptContext(variables, module=MODULE)))
        try:
            return _generated(parse_question(_json(responses[-1].content)), responses)
        except InvalidQuestion as exc:
            problems.append(str(exc)[:MAX_PROBLEM])
    raise QuestionGenerationError(topic, problems)


def _retry_prompt() -> Prompt:
    return replace(RETRY_PROMPT, parameters={**RETRY_PROMPT.parameters, "temperature": current().retry_temperature})


def _json(content: str) -> object:
    """The parsed reply; ``InvalidQuestion`` when it is not JSON (a server without JSON mode, a cut-off answer)."""
    try:
        return json.loads(content)
    except json.JSONDecodeError as exc:
        raise InvalidQuestion(f"the reply is not valid JSON ({exc.msg} at position {exc.pos})") from exc


def _generated(question: MultipleChoiceQuestion, responses: list[LLMResponse]) -> Generated:
    last = responses[-1].metadata
    return Generated(
        question,
        f"{last['provider']}/{last['model']}",
        sum(r.usage_stats.prompt_tokens for r in responses),
        sum(r.usage_stats.completion_tokens for r in responses),
        round(sum(r.metadata["latency_ms"] for r in responses), 1),
        len(responses),
        bool(last.get("cached")),
    )
