"""Hand-written fakes for the ports, shared by the service tests and the contract tests.

``RecordingPublisher`` ships with the module (``module_api.testing``); it is re-exported here
so the tests that import it from ``tests.fakes`` keep working.
"""

from __future__ import annotations

from modules.infrastructure.module_api.testing import RecordingPublisher

__all__ = ["RecordingPublisher"]
