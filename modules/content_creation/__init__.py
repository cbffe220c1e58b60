"""Content creation: multiple-choice questions written by the LLM, stored, and announced as events.

An example sibling module: it uses ``modules.infrastructure.module_api`` and nothing else of the
infrastructure module. Other modules use ``modules.content_creation.module_api`` only.
"""
