"""The infrastructure's own tables, imported together so Alembic's autogenerate sees them.

Every module keeps its tables in (or imported by) ``modules/<name>/infrastructure/models.py``;
the migration environment imports that file of each module that has migrations.
"""

from modules.infrastructure.infrastructure.llm_clients.usage_store import LLMUsageRow
from modules.infrastructure.infrastructure.messaging.outbox_model import OutboxRecord
from modules.infrastructure.infrastructure.messaging.publication_model import ListenerRecord, PublicationRecord

__all__ = ["ListenerRecord", "LLMUsageRow", "OutboxRecord", "PublicationRecord"]
