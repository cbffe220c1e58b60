#!/usr/bin/env python3
"""The module's main job on whatever is configured (embedded defaults when nothing is): migrate the
database, register the siblings' listeners, run the content_creation sibling's flow once (the
LLM writes a question, it is stored and announced through the outbox, learning adds it to its
practice pool when the event reaches it, content_creation posts it to the "webhook" integration, a
local receiver when INTEGRATION_WEBHOOK_BASE_URL is not set, then learning ranks its topics against a
learner's search by embeddings), then print the start-up report.

Run through ``./scripts/run``; exit status as ``validate_environment.py`` (0 valid, 1 not), and 1
when the migrations or the question could not be made.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modules.content_creation.module_api import EVENTS, CreatedQuestion, QuestionGenerationError, QuestionService  # noqa: E402
from modules.content_creation.module_api import register_listeners as register_content_listeners  # noqa: E402
from modules.infrastructure.module_api import InfrastructureError, InfrastructureService  # noqa: E402
from modules.learning.module_api import PracticePool, register_listeners  # noqa: E402
from scripts.validate_environment import parse_args, render_text  # noqa: E402
from scripts.webhook_demo import StandIn, stand_in_webhook, webhook_delivery  # noqa: E402

TOPIC = "the solar system"
SEARCH = "moons and planets"  # a learner's search, ranked against the practice topics by meaning
DELIVERY_WAIT = 10.0  # seconds to wait for the broker to take the event
REACTION_WAIT = 15.0  # seconds to wait for the learning module's listener to react


def migrate(out: TextIO) -> bool:
    """Bring the primary database to the newest migrations; False (with the reason) when it cannot."""
    try:
        status = InfrastructureService.migrate()
    except InfrastructureError as exc:
        print(f"Migrations not applied: {exc}", file=out)
        return False
    print(f"Database migrated: at {', '.join(status.current) or 'base (no migrations yet)'}", file=out)
    return True


def create_question(out: TextIO, webhook: StandIn | None) -> bool:
    """The sibling's flow once: print the question, where its event is, tokens and latency."""
    try:
        llm = InfrastructureService.get_config().llm_config
        starting = " (its first call starts the embedded model)" if llm.provider == "local" else ""
        print(f"Asking {llm.provider}/{llm.model} for a question about {TOPIC!r}{starting}...", file=out, flush=True)
        created = QuestionService.create_question(TOPIC)
    except (InfrastructureError, QuestionGenerationError) as exc:
        print(f"Question not created: {exc}", file=out)
        return False
    print(f"Question #{created.question_id} about {created.topic!r}, written by {created.written_by}:", file=out)
    print(f"  {created.text}", file=out)
    for index, option in enumerate(created.options):
        print(f"  {'*' if index == created.answer_index else ' '} {chr(ord('a') + index)}) {option}", file=out)
    print(f"  answer: {created.answer}", file=out)
    print(f"  event content.question_created {created.event_id}: {delivery()}", file=out)
    print(f"  {reaction(created.question_id, time.monotonic())}", file=out)
    if (notified := webhook_delivery(webhook, created.event_id)) is not None:
        print(f"  {notified}", file=out)
    print(f"  {closest_topic()}", file=out)
    print(_usage(created), file=out)
    return True


def reaction(question_id: int, committed: float) -> str:
    """What the learning module's listener did with the question's event, and how long after the commit."""
    deadline = committed + REACTION_WAIT
    try:
        while (entry := PracticePool.entry_for(question_id)) is None and time.monotonic() < deadline:
            time.sleep(0.005)
    except InfrastructureError as exc:
        return f"learning's listener: could not be checked ({exc})"
    if entry is None:
        return f"learning's listener did not react within {REACTION_WAIT:g} s (see InfrastructureService.list_publications())"
    waited = (time.monotonic() - committed) * 1000
    return f"learning's listener learning.add_to_practice reacted: question #{entry.question_id} added to practice (within {waited:.0f} ms)"


def closest_topic() -> str:
    """The learning module's practice topic closest in meaning to a learner's search, by embeddings."""
    try:
        ranked = PracticePool.closest_topics(SEARCH, limit=1)
    except InfrastructureError as exc:
        return f"learning's topic search by embeddings: not available ({exc})"
    if not ranked:
        return "learning's topic search by embeddings: no practice topics yet"
    topic, score = ranked[0]
    return f"learning's closest practice topic to {SEARCH!r} by embeddings: {topic!r} (cosine {score:.2f})"


def delivery() -> str:
    """'sent' once the outbox has nothing pending (relayed to RabbitMQ), else why the event waits."""
    if not InfrastructureService.get_config().messaging.rabbitmq_urls:
        return "pending in the outbox (RABBITMQ_URL not set)"
    deadline = time.monotonic() + DELIVERY_WAIT
    while True:
        try:
            result = InfrastructureService.relay_outbox(timeout=DELIVERY_WAIT)
        except InfrastructureError as exc:
            return f"pending in the outbox ({exc})"
        if result.pending == 0 and result.failed == 0:
            return f"sent to RabbitMQ (queue {EVENTS})"
        if time.monotonic() >= deadline:
            return f"pending in the outbox ({result.pending} pending, {result.failed} failed)"
        time.sleep(0.2)


def _usage(created: CreatedQuestion) -> str:
    return (
        f"  tokens {created.prompt_tokens} in + {created.completion_tokens} out, "
        f"LLM latency {created.latency_ms:.0f} ms, {created.tries} tr{'y' if created.tries == 1 else 'ies'}"
        + (", answer from the LLM cache" if created.cached else "")
    )


USAGE = (
    "The infrastructure module's main job: migrate the database, let the content_creation module write one "
    "quiz question with the LLM (stored, and announced with an event in the same transaction), show the learning "
    "module's listener reacting to that event and content_creation's webhook notification (a local receiver stands in "
    "when INTEGRATION_WEBHOOK_BASE_URL is not set), then print the start-up report. With nothing configured it runs offline on the embedded defaults: SQLite in var/, "
    "an in-memory cache, events waiting in the outbox, the embedded local model. Set DATABASE_URL, "
    "REDIS_URL, RABBITMQ_URL or LLM_PROVIDER (or write them in .env) to use real services. "
    "Exit status 0 when everything worked and the report is valid, else 1."
)


def listen(out: TextIO) -> bool:
    """Register the sibling modules' listeners, as an application does at start-up."""
    try:
        register_listeners()
        register_content_listeners()
    except InfrastructureError as exc:
        print(f"Listeners not registered: {exc}", file=out)
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, prog="./scripts/run", description=USAGE)
    human = sys.stderr if args.json else sys.stdout
    webhook = stand_in_webhook()  # before the run uses the configuration
    try:
        print("Migrating the database...", file=human, flush=True)
        migrated = migrate(human)
        created = migrated and listen(human) and create_question(human, webhook)
        status = InfrastructureService.validate_environment(timeout=args.timeout)
    finally:
        if webhook is not None:
            webhook.close()
    print(json.dumps(status.to_dict(), indent=2) if args.json else render_text(status))
    return 0 if status.is_valid and created else 1


if __name__ == "__main__":
    sys.exit(main())
