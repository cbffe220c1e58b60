"""``RabbitMQModuleQueues``: each listening module's queue on RabbitMQ, its consumer, and its dead letters."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from modules.infrastructure.domain.config.values import MessagingConfig
from modules.infrastructure.domain.errors import MessagingError
from modules.infrastructure.domain.messaging.listeners import Listener
from modules.infrastructure.domain.messaging.ports import ListenerDelivery
from modules.infrastructure.domain.secrets import Redactor


class RabbitMQModuleQueues:
    """Placeholder until the broker side lands: listening with RABBITMQ_URL set is refused with a clear error."""

    def __init__(self, config: MessagingConfig, redactor: Redactor) -> None:
        self._config = config
        self._redactor = redactor

    def bind(self, module: str, patterns: Sequence[str]) -> None:
        raise MessagingError("Listening through RabbitMQ is not available in this build; unset RABBITMQ_URL to use the in-process worker")

    def start(self, module: str, listeners: Callable[[], Sequence[Listener]], delivery: ListenerDelivery) -> None:
        return None

    def replay_dead_letters(self, module: str, reopen: Callable[[str, str], None], max_messages: int | None) -> int:
        raise MessagingError("Listening through RabbitMQ is not available in this build")

    def close(self) -> None:
        return None

    def after_fork(self) -> None:
        return None
