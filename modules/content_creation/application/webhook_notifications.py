"""Tell an outside "webhook" integration about each new question, from a listener of ``content.question_created``.

Optional: without ``INTEGRATION_WEBHOOK_BASE_URL`` nothing is sent. The event's id is the idempotency key, so the
client may retry the POST and the receiver can drop the copies a listener retry (or a redone batch) sends again.
"""

from __future__ import annotations

import logging
from typing import Any

from modules.content_creation.settings import MODULE
from modules.infrastructure.module_api import DatabaseSession, Envelope, InfrastructureService

logger = logging.getLogger(__name__)

WEBHOOK = "webhook"  # the integration's name: INTEGRATION_WEBHOOK_*
LISTENER_NAME = "notify_webhook"  # the listener is content_creation.notify_webhook
NOTIFICATION_PATH = ""  # the base URL itself
LISTENER_TIMEOUT = 30.0  # seconds one attempt of the listener may take (the listeners' default)
# The call ends before the listener's timeout, so a slow webhook fails as an IntegrationTimeoutError that says why.
TIMEOUT_MARGIN = 5.0


def notify_webhook(event: Envelope, db: DatabaseSession) -> None:
    """POST the new question's id, topic and creation time (never its options or answer) to the webhook.

    An ``IntegrationError`` propagates: the listener's attempt fails, is retried after its backoff and, after
    the last attempt, its publication record is ``failed`` with the error (``list_publications``).
    """
    if not InfrastructureService.has_integration(WEBHOOK):
        logger.debug("No webhook configured (INTEGRATION_WEBHOOK_BASE_URL not set): event %s not sent", event.id)
        return
    client = InfrastructureService.get_http_client(WEBHOOK)
    deadline = min(client.config.deadline, LISTENER_TIMEOUT - TIMEOUT_MARGIN)
    response = client.post(NOTIFICATION_PATH, json=notification(event), idempotency_key=event.id, deadline=deadline)
    logger.debug(
        "Webhook answered %d to question #%s's notification (%d attempt(s))", response.status, event.payload["question_id"], response.attempts,
        extra={"event_id": event.id, "status": response.status},
    )


def notification(event: Envelope) -> dict[str, Any]:
    """The JSON the webhook gets; ``created_at`` is the event's time, taken in the question's own transaction."""
    payload = event.payload
    return {
        "event": event.type,
        "event_id": event.id,
        "question_id": payload["question_id"],
        "topic": payload["topic"],
        "created_at": event.timestamp,
    }

