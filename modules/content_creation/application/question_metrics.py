"""content_creation's own figures in the application's scrape: the questions it wrote, by how many tries they took."""

from __future__ import annotations

from modules.content_creation.settings import MODULE
from modules.infrastructure.module_api import InfrastructureService


def count_created(tries: int, cached: bool) -> None:
    """One more question stored: ``questions_created_total{module="content_creation",tries="1",cached="false"}``."""
    created = InfrastructureService.get_metrics(MODULE).counter(
        "questions_created", "Questions written by the LLM and stored, by the tries they took", labels=("tries", "cached")
    )
    created.inc(tries=str(tries), cached="true" if cached else "false")
