"""The bad-input sweep's machinery: a case is one malformed input to one public entry point, and what it
must give: an ``InfrastructureError`` subclass whose message names the input and carries no secret, or a
documented acceptance. Each outcome is recorded, and the table written to ``tests/integration/.results/``."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from modules.infrastructure.module_api import InfrastructureError

SECRET = "tok-SWEEP-9f3c2a7d51-SECRET"  # set as SWEEP_SERVICE_TOKEN: the redactor knows it, no message may show it
RESULTS = Path(__file__).resolve().parent / "integration" / ".results" / "bad_input_sweep.json"
CLEAR, ACCEPTED, OTHER = "clear error", "accepted (documented)", "anything else"


@dataclass(frozen=True)
class Case:
    """``call`` with a malformed input; ``names`` must appear in the error's message (the input's name or value)."""

    area: str
    name: str
    call: Callable[[], object]
    names: str = ""
    error: type[InfrastructureError] = InfrastructureError
    accepted: str | None = None  # why the input is accepted, where the README or a docstring says so

    @property
    def id(self) -> str:
        return f"{self.area}: {self.name}"


def outcome(case: Case) -> tuple[str, str]:
    """(kind, detail): a clear error, a documented acceptance, or anything else (what went wrong)."""
    try:
        case.call()
    except InfrastructureError as exc:
        return judged(case, exc)
    except Exception as exc:  # the sweep's very point: anything that is not the module's error
        return OTHER, f"raw {type(exc).__name__}: {exc}"[:300]
    if case.accepted:
        return ACCEPTED, case.accepted
    return OTHER, "accepted, and no documentation says it should be"


def judged(case: Case, exc: InfrastructureError) -> tuple[str, str]:
    message = str(exc)
    if SECRET in message or SECRET in repr(exc.args):
        return OTHER, "the message shows a secret"
    if not isinstance(exc, case.error):
        return OTHER, f"{type(exc).__name__} instead of {case.error.__name__}: {message}"[:300]
    if case.names.lower() not in message.lower():
        return OTHER, f"the message does not name {case.names!r}: {message}"[:300]
    return CLEAR, f"{type(exc).__name__}: {message}"[:300]


class Tally:
    """Every outcome of the run, by area; written as JSON and printed as the sweep's table."""

    def __init__(self) -> None:
        self.rows: list[dict[str, str]] = []
        self._lock = threading.Lock()

    def add(self, case: Case, kind: str, detail: str) -> None:
        with self._lock:
            self.rows.append({"area": case.area, "case": case.name, "outcome": kind, "detail": detail})

    def table(self) -> dict[str, dict[str, int]]:
        areas: dict[str, Counter[str]] = {}
        for row in self.rows:
            areas.setdefault(row["area"], Counter())[row["outcome"]] += 1
        total: Counter[str] = sum(areas.values(), Counter())
        return {area: {"tried": sum(c.values()), CLEAR: c[CLEAR], ACCEPTED: c[ACCEPTED], OTHER: c[OTHER]} for area, c in {**areas, "all": total}.items()}

    def write(self, path: Path = RESULTS) -> None:
        """Merge this run's rows into the results file (the service and integration parts write to the same one)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        earlier = json.loads(path.read_text())["rows"] if path.is_file() else []
        mine = {(r["area"], r["case"]) for r in self.rows}
        rows = [r for r in earlier if (r["area"], r["case"]) not in mine] + self.rows
        merged = Tally()
        merged.rows = rows
        path.write_text(json.dumps({"table": merged.table(), "rows": rows}, indent=1))
