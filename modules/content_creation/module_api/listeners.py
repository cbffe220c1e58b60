"""content_creation's listeners: what the module does when its own events are committed."""

from __future__ import annotations

from modules.content_creation.application.webhook_notifications import LISTENER_NAME, LISTENER_TIMEOUT, notify_webhook
from modules.content_creation.module_api.question_service import QUESTION_CREATED
from modules.content_creation.settings import MODULE
from modules.infrastructure.module_api import InfrastructureService

WEBHOOK_LISTENER = f"{MODULE}.{LISTENER_NAME}"  # the listener's identity in list_publications and listener_status


def register_listeners() -> None:
    """Call once at start-up: each new question is posted to the "webhook" integration when one is configured
    (scripts/run_listeners.py takes this function). ``MessagingError`` when called twice in a process."""
    InfrastructureService.listen(QUESTION_CREATED, notify_webhook, module=MODULE, name=LISTENER_NAME, timeout=LISTENER_TIMEOUT)
