"""The kinds of value a module's setting may hold: the parsers (and messages) of the infrastructure's own settings.

``setting("BILLING_RETRIES", setting_types.integer(0, 10), default=3, description="...")``
"""

from modules.infrastructure.domain.config.parsers import boolean, choice, comma_list, integer, number, text, url

__all__ = ["boolean", "choice", "comma_list", "integer", "number", "text", "url"]
