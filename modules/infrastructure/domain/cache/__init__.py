"""Cache rules with no I/O: namespaces, TTLs and how values are encoded."""
