"""The content_creation module's own settings: ``CONTENT_CREATION_*`` variables, read through the infrastructure.

The infrastructure finds this table by its place (``modules/<name>/settings.py``, ``SETTINGS``): it checks the
values at start-up with its own, and lists them in ``.env.example`` and the README.
"""

from modules.infrastructure.module_api import InfrastructureService, ModuleSettings, SettingValues, setting
from modules.infrastructure.module_api import setting_types as kinds

MODULE = "content_creation"
TOPIC_COLUMN = 100  # characters of the questions.topic column

SETTINGS = ModuleSettings(
    MODULE,
    setting(
        "CONTENT_CREATION_MAX_IMAGE_BYTES", kinds.integer(1, 1024**3, note="1 GiB"), default=10 * 1024 * 1024,
        description="Largest illustration image accepted, in bytes (a lower STORAGE_MAX_FILE_SIZE caps it)",
    ),
    setting(
        "CONTENT_CREATION_MAX_TOPIC_LENGTH", kinds.integer(1, TOPIC_COLUMN, note="the topic column's length"), default=TOPIC_COLUMN,
        description="Characters a question's topic may have, once stripped",
    ),
    setting(
        "CONTENT_CREATION_RETRY_TEMPERATURE", kinds.number(0, 2), default=0.7,
        description="Sampling temperature of the second try after an unusable reply (the first asks with 0)",
    ),
)


def current() -> SettingValues:
    """The values in force: ``current().max_image_bytes``; the infrastructure read and checked them at start-up."""
    return InfrastructureService.get_module_settings(SETTINGS)
