"""``Illustration``: an image attached to a question, as other modules see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Illustration:
    """The stored image's row: its file's key in the ``content_creation`` namespace, size, SHA-256 (hex) and
    content type (detected from its bytes), who uploaded it and when."""

    illustration_id: int
    question_id: int
    file_key: str
    sha256: str
    size: int
    content_type: str
    uploaded_by: str
    created_at: datetime
