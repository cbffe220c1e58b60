"""Prometheus metrics of the module: one registry per container, scraped through ``metrics_text()``."""
