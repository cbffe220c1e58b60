"""``./scripts/run``'s webhook part: content_creation notifies the "webhook" integration of its new question.

With ``INTEGRATION_WEBHOOK_BASE_URL`` set, that service gets the POST and the script says how it answered; without
it, a ``LocalWebhook`` on 127.0.0.1 stands in (set as the base URL before the run uses the configuration) and the
script shows what it received.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass

from modules.content_creation.module_api import WEBHOOK_LISTENER
from modules.infrastructure.module_api import InfrastructureError, InfrastructureService, Publication
from scripts.local_webhook import LocalWebhook, ReceivedPost

WEBHOOK = "webhook"  # the integration content_creation notifies of new questions, when configured
WAIT = 15.0  # seconds to wait for the listener's POST
# This process's count of POSTs the webhook answered with 2xx or 3xx (metrics_text(), Prometheus text format).
ANSWERED = re.compile(r'^infrastructure_integration_calls_total\{integration="webhook",method="POST",outcome="ok"\} [1-9]', re.M)
SEE_RECORDS = f"see InfrastructureService.list_publications(listener={WEBHOOK_LISTENER!r})"


@dataclass
class StandIn:
    """The local receiver standing in for an unconfigured webhook, or why none could start."""

    receiver: LocalWebhook | None = None
    problem: str | None = None

    def close(self) -> None:
        if self.receiver is not None:
            self.receiver.close()


def stand_in_webhook() -> StandIn | None:
    """With no webhook configured, a local receiver becomes it and the configuration is read again; ``None`` when a
    webhook is configured or the configuration is not valid (the run's next steps say why)."""
    try:
        if InfrastructureService.has_integration(WEBHOOK):
            return None
    except InfrastructureError:
        return None
    try:
        receiver = LocalWebhook()
    except OSError as exc:
        return StandIn(problem=str(exc))
    os.environ["INTEGRATION_WEBHOOK_BASE_URL"] = receiver.url
    os.environ["INTEGRATION_WEBHOOK_HEALTH_PATH"] = "/health"  # the start-up report checks the receiver too
    InfrastructureService.reset()  # the next call reads the configuration again, with the receiver
    return StandIn(receiver)


def webhook_delivery(stand_in: StandIn | None, event_id: str) -> str | None:
    """One line on the notification of ``event_id``; ``None`` when no webhook is configured and none stands in."""
    try:
        if stand_in is None:
            return answered(event_id) if InfrastructureService.has_integration(WEBHOOK) else None
        if stand_in.receiver is None:
            return f"webhook: skipped (INTEGRATION_WEBHOOK_BASE_URL not set); a local receiver could not start: {stand_in.problem}"
        return received(stand_in.receiver, event_id)
    except InfrastructureError as exc:
        return f"webhook: could not be checked ({exc})"


def received(receiver: LocalWebhook, event_id: str) -> str:
    """What the local receiver got for ``event_id``; an earlier run's event retried now is passed over."""
    deadline = time.monotonic() + WAIT
    post = receiver.next_post(WAIT)
    while post is not None and post.headers.get("idempotency-key") != event_id:
        post = receiver.next_post(max(0.0, deadline - time.monotonic()))
    if post is None:
        return f"webhook: nothing received within {WAIT:g} s ({SEE_RECORDS})"
    key = post.headers.get("idempotency-key")
    return f"webhook received: {_described(post)} (Idempotency-Key {key}) by a local receiver, as INTEGRATION_WEBHOOK_BASE_URL is not set"


def _described(post: ReceivedPost) -> str:
    try:
        note = post.json()
        return f"question #{note['question_id']} about {note['topic']!r} created {note['created_at']}"
    except (ValueError, TypeError, KeyError):
        return f"{len(post.body)} bytes that are not the expected notification"


def answered(event_id: str) -> str:
    """How the configured webhook answered the listener's POST of ``event_id``, or the error its attempt failed with."""
    base_url = InfrastructureService.get_http_client(WEBHOOK).config.base_url
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        record = _open_record(event_id)
        if record is None and ANSWERED.search(InfrastructureService.metrics_text()):
            return f"webhook {base_url}: notified of event {event_id}, answered 2xx"
        if record is not None and record.last_error:
            return f"webhook {base_url}: not notified yet, the listener tries again after its backoff ({record.last_error})"
        time.sleep(0.05)
    return f"webhook {base_url}: no answer within {WAIT:g} s ({SEE_RECORDS})"


def _open_record(event_id: str) -> Publication | None:
    """The webhook listener's record of ``event_id`` while it is pending or failed; ``None`` once completed."""
    records = InfrastructureService.list_publications(listener=WEBHOOK_LISTENER)
    return next((r for r in records if r.event_id == event_id), None)
