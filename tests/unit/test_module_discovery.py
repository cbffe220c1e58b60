"""Module settings tables are found by their place, ``modules/<name>/settings.py``, and every mistake is listed together."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.infrastructure.config.environment_loader import EnvironmentLoader
from modules.infrastructure.infrastructure.config.module_discovery import discover_module_settings
from tests.secret_volumes import secret_file

GOOD = '''
from modules.infrastructure.module_api import ModuleSettings, setting, setting_types
SETTINGS = ModuleSettings("{name}", setting("{prefix}_RETRIES", setting_types.integer(0, 9), default=2, description="Retries"))
'''

SECRET = '''
from modules.infrastructure.module_api import ModuleSettings, setting, setting_types
SETTINGS = ModuleSettings("billing", setting("BILLING_API_KEY", setting_types.text, description="Payment provider key"))
'''


@pytest.fixture
def modules_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A second ``modules`` folder on the import path, its packages forgotten again afterwards."""
    root = tmp_path / "modules"
    root.mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield root
    for name in set(sys.modules) - before:
        del sys.modules[name]


def package(root: Path, name: str, settings: str | None) -> None:
    (root / name).mkdir()
    (root / name / "__init__.py").write_text("")
    if settings is not None:
        (root / name / "settings.py").write_text(settings)


def test_the_repository_s_content_creation_table_is_found() -> None:
    [table] = discover_module_settings()
    assert table.module == "content_creation"
    assert "CONTENT_CREATION_MAX_IMAGE_BYTES" in {s.name for s in table}


def test_each_module_with_a_settings_file_is_found_by_name(modules_root: Path) -> None:
    package(modules_root, "shipping", GOOD.format(name="shipping", prefix="SHIPPING"))
    package(modules_root, "billing", GOOD.format(name="billing", prefix="BILLING"))
    package(modules_root, "reports", None)
    assert [t.module for t in discover_module_settings([modules_root])] == ["billing", "shipping"]


def test_every_module_s_mistake_is_reported_together(modules_root: Path) -> None:
    package(modules_root, "billing", GOOD.format(name="billing", prefix="billing"))
    package(modules_root, "shipping", "SETTINGS = {}\n")
    package(modules_root, "orders", GOOD.format(name="shipping", prefix="SHIPPING"))
    package(modules_root, "broken", "import no_such_package_here\n")
    package(modules_root, "llm", GOOD.format(name="llm", prefix="LLM").replace("LLM_RETRIES", "LLM_MAX_RETRIES"))
    with pytest.raises(ConfigurationError) as caught:
        discover_module_settings([modules_root])
    assert caught.value.problems == (
        "modules/billing/settings.py cannot be imported: InvalidArgumentError: billing declares 'billing_RETRIES'; its variables "
        "are named BILLING_<NAME> in upper case (letters, digits, _; a letter first), e.g. BILLING_MAX_ITEMS",
        "modules/broken/settings.py cannot be imported: ModuleNotFoundError (no module 'no_such_package_here') raised at line 1; "
        "run python -c 'import modules.broken.settings' to see it",
        "modules/orders/settings.py declares the module 'shipping'; use its folder's name, 'orders', so its variables start ORDERS_",
        "modules/shipping/settings.py defines no SETTINGS = ModuleSettings('shipping', ...); found dict",
        "LLM_MAX_RETRIES of llm is already the infrastructure's; rename it",
    )
    assert str(caught.value).startswith("The modules' settings tables have 5 problem(s); fix the declarations:")


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("import sys\nsys.exit('bye')\n", "SystemExit raised at line 2"),
        ("KEY = 'sk-live-123456'\nraise ValueError(f'bad {KEY}')\n", "ValueError raised at line 2"),
        ("x = = 1\n", "SyntaxError raised at line 1"),
    ],
)
def test_a_failing_settings_file_is_a_problem_naming_the_class_and_line_never_the_message(modules_root: Path, source: str, problem: str) -> None:
    package(modules_root, "billing", source)
    with pytest.raises(ConfigurationError) as caught:
        discover_module_settings([modules_root])
    assert caught.value.problems == (
        f"modules/billing/settings.py cannot be imported: {problem}; run python -c 'import modules.billing.settings' to see it",
    )
    assert "sk-live" not in str(caught.value) and "bye" not in str(caught.value)


def test_the_loader_reads_a_module_s_secret_from_its_file_and_masks_it(modules_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package(modules_root, "billing", SECRET)
    key = secret_file(tmp_path / "billing_key", "\ufeffbk-from-a-file-123\n")
    monkeypatch.chdir(tmp_path)
    loader = EnvironmentLoader(environ={"BILLING_API_KEY_FILE": str(key)})
    assert loader.load_config().module_settings["billing"].api_key.reveal() == "bk-from-a-file-123"
    assert loader.redactor().redact("key bk-from-a-file-123") == "key ****"
