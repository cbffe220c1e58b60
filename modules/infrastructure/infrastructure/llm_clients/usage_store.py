"""``LLM_USAGE_PERSIST``: every LLM call's usage record also written to the ``llm_usage`` table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import BigInteger, Boolean, DateTime, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from modules.infrastructure.domain.llm.usage import UsageRecord
from modules.infrastructure.infrastructure.database.orm import Base
from modules.infrastructure.infrastructure.database.session import DatabaseSession


class LLMUsageRow(Base):
    """One LLM call: who, against which provider and model, tokens, latency, cost and outcome."""

    __tablename__ = "llm_usage"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    called_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    model: Mapped[str] = mapped_column(String(200))
    module: Mapped[str | None] = mapped_column(String(100), index=True)
    prompt_name: Mapped[str | None] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    cached: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(60))


class DatabaseUsageSink:
    """Writes each record in a transaction of its own (the caller's work is not held up by a rollback)."""

    def __init__(self, open_session: Callable[[], DatabaseSession]) -> None:
        self._open_session = open_session

    def __call__(self, record: UsageRecord) -> None:
        with self._open_session() as db:
            db.add(
                LLMUsageRow(
                    called_at=datetime.fromtimestamp(record.timestamp, timezone.utc),
                    provider=record.provider,
                    model=record.model,
                    module=record.module,
                    prompt_name=record.prompt_name,
                    prompt_tokens=record.prompt_tokens,
                    completion_tokens=record.completion_tokens,
                    latency_ms=record.latency_ms,
                    cost_usd=record.cost_usd,
                    cached=record.cached,
                    outcome=record.outcome,
                )
            )
