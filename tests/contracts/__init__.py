"""Behaviour every adapter of a port must show, written once and run against the fake and the real adapter."""
