"""Whether a SQL text changes data: how a session's textual statements count for read-your-writes."""

from __future__ import annotations

import re

# First words of statements that change nothing; any other statement counts as a write (a wrong guess
# only sends a few reads to the primary).
_READS = frozenset(
    {"SELECT", "SHOW", "EXPLAIN", "VALUES", "TABLE", "SET", "RESET", "BEGIN", "START", "COMMIT", "END", "ROLLBACK",
     "SAVEPOINT", "RELEASE", "PRAGMA", "FETCH", "DECLARE", "CLOSE", "MOVE", "LISTEN", "UNLISTEN", "DISCARD"}
)
_LEADING = re.compile(r"(?:\s+|--[^\n]*+\n?|/\*.*?\*/|\()*+([A-Za-z]+)", re.DOTALL)
_DML = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)


def is_write_sql(sql: str) -> bool:
    """True unless ``sql`` starts (after comments and brackets) with a reading word; ``WITH`` counts when a
    data-changing word follows (``SELECT ... FOR UPDATE`` in it counts too)."""
    match = _LEADING.match(sql)
    if match is None:
        return False  # blank or only comments
    word = match.group(1).upper()
    if word == "WITH":
        return _DML.search(sql, match.end()) is not None
    return word not in _READS
