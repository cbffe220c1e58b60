"""``RabbitMQModuleQueues``: each listening module's queue on RabbitMQ, a consumer kept running for it, its dead letters."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from modules.infrastructure.domain.config.values import MessagingConfig
from modules.infrastructure.domain.errors import InfrastructureError, MessagingAuthenticationError
from modules.infrastructure.domain.messaging.listeners import Listener
from modules.infrastructure.domain.messaging.ports import ListenerDelivery
from modules.infrastructure.domain.policies.backoff import backoff_delay
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.messaging import dead_letter_replay
from modules.infrastructure.infrastructure.messaging.listener_consumer import ModuleQueueConsumer, prepare_module_queue
from modules.infrastructure.infrastructure.messaging.rabbitmq_publisher import broker_settings

logger = logging.getLogger(__name__)

STOP_TIMEOUT = 5.0
RESTART_CAP = 30.0  # seconds at most between attempts to consume again after the consumer gave up reconnecting


class RabbitMQModuleQueues:
    """Declares a module's queue when its listeners register, and keeps one consumer per module running until closed.

    A consumer gives up after its reconnect attempts; here it is started again after 1, 2, 4 ... 30 s,
    so listeners come back by themselves after a broker outage of any length.
    """

    def __init__(self, config: MessagingConfig, redactor: Redactor) -> None:
        self._settings = broker_settings(config)
        self._prefetch = config.listener_prefetch
        self._redactor = redactor
        self._running: dict[str, _KeptRunning] = {}
        self._lock = threading.Lock()

    def bind(self, module: str, patterns: Sequence[str]) -> None:
        """Declare the module's queue bound to ``patterns`` now; an unreachable broker is left to the consumer to do it."""
        try:
            prepare_module_queue(self._settings, module, patterns, self._redactor)
        except MessagingAuthenticationError:
            raise  # a wrong setting: listening could never work
        except InfrastructureError as exc:
            logger.warning("The listener queue of module '%s' is declared when its consumer connects: %s", module, exc)

    def start(self, module: str, listeners: Callable[[], Sequence[Listener]], delivery: ListenerDelivery) -> None:
        with self._lock:
            if module not in self._running:
                consumer = ModuleQueueConsumer(self._settings, module, listeners, delivery, prefetch=self._prefetch, redactor=self._redactor)
                self._running[module] = _KeptRunning(consumer)

    def replay_dead_letters(self, module: str, reopen: Callable[[str, str], None], max_messages: int | None) -> int:
        return dead_letter_replay.replay_dead_letters(self._settings, module, reopen, max_messages, self._redactor)

    def close(self) -> None:
        with self._lock:
            running, self._running = list(self._running.values()), {}
        for kept in running:
            kept.stop(0)
        for kept in running:
            kept.stop(STOP_TIMEOUT)

    def after_fork(self) -> None:
        """In a forked child: the consumers' threads and connections stayed with the parent."""
        self._running = {}
        self._lock = threading.Lock()


class _KeptRunning:
    """A consumer on a thread of its own, started again whenever it stops on an error, until ``stop``."""

    def __init__(self, consumer: ModuleQueueConsumer) -> None:
        self._consumer = consumer
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"listeners-{consumer.module}"[:60], daemon=True)
        self._thread.start()

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self._consumer.run()
                failures = 0
            except Exception as exc:  # the broker is away for longer than the consumer's reconnects: try again later
                failures += 1
                wait = backoff_delay(failures - 1, base=1.0, cap=RESTART_CAP)
                logger.warning("Listeners of module '%s' stopped consuming (%s); starting again in %.1f s", self._consumer.module, exc, wait)
                self._stopping.wait(wait)

    def stop(self, timeout: float) -> None:
        self._stopping.set()
        self._consumer.stop(timeout=0)
        if timeout and self._thread is not threading.current_thread():
            self._thread.join(timeout)
