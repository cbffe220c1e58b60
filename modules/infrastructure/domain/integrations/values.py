"""``HttpResponse``: what an outside service answered, read whole (within the integration's size limit)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from modules.infrastructure.domain.errors import IntegrationResponseError


@dataclass(frozen=True)
class HttpResponse:
    """Status, headers (names in lower case) and body of one answer; ``attempts`` is how many requests the call sent."""

    integration: str
    method: str
    path: str
    status: int
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    content: bytes = b""
    attempts: int = 1
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        """The body as text, in the charset the content type names (UTF-8 when it names none or an unknown one)."""
        charset = _charset(self.headers.get("content-type", ""))
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; ``IntegrationResponseError`` when it is not JSON."""
        try:
            return json.loads(self.content)
        except (ValueError, RecursionError) as exc:
            raise IntegrationResponseError(
                f"{self.integration} answered {self.method} {self.path} with {self.status} and a body that is not JSON "
                f"({type(exc).__name__}); check what the service sends",
                integration=self.integration, method=self.method, path=self.path, status=self.status, response=self,
            ) from None

    def __repr__(self) -> str:
        return f"HttpResponse({self.integration} {self.method} {self.path} -> {self.status}, {len(self.content)} bytes)"


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip('"').strip()
    return "utf-8"
