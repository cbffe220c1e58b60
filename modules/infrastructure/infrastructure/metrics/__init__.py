"""Prometheus metrics of the module: one registry per bootstrapped set of components, scraped through ``metrics_text()``."""
