"""Module settings: what a declaration refuses, and how ``<MODULE>_*`` values are parsed, held and reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from modules.infrastructure.domain.config.configuration import Configuration
from modules.infrastructure.domain.config.module_settings import clashes, settings_of
from modules.infrastructure.domain.config.reload import ConfigReload, plan_reload
from modules.infrastructure.domain.config.settings import SETTINGS_BY_NAME
from modules.infrastructure.infrastructure.config.environment_loader import EnvironmentLoader
from modules.infrastructure.module_api import (
    ConfigurationError,
    InvalidArgumentError,
    ModuleSettings,
    Secret,
    SettingValues,
    setting,
)
from modules.infrastructure.module_api import setting_types as kinds

KEY = "sk-billing-0123456789abcdef"


def billing() -> ModuleSettings:
    return ModuleSettings(
        "billing",
        setting("BILLING_RETRIES", kinds.integer(0, 10), default=3, description="Attempts after the first"),
        setting("BILLING_RATE", kinds.number(above=0), default=0.5, description="Share charged"),
        setting("BILLING_LIVE", kinds.boolean, default=False, description="Charge for real"),
        setting("BILLING_MODE", kinds.choice(("card", "invoice")), default="card", description="How customers pay"),
        setting("BILLING_GATEWAY_URL", kinds.url(("https",)), description="Payment gateway"),
        setting("BILLING_CURRENCIES", kinds.comma_list(kinds.text), default="EUR,USD", description="Currencies offered"),
        setting("BILLING_API_KEY", kinds.text, description="Gateway key"),
    )


def test_unset_variables_take_their_defaults_parsed_and_none_without_one() -> None:
    values, problems = billing().read({})
    assert problems == []
    assert (values.retries, values.rate, values.live, values.mode) == (3, 0.5, False, "card")
    assert (values.gateway_url, values.currencies, values.api_key) == (None, ("EUR", "USD"), None)


def test_set_variables_are_parsed_by_their_kind() -> None:
    environ = {"BILLING_RETRIES": " 7 ", "BILLING_LIVE": "yes", "BILLING_MODE": "INVOICE", "BILLING_CURRENCIES": "CHF, ,GBP", "BILLING_RATE": ""}
    values, problems = billing().read(environ)
    assert problems == []
    assert (values.retries, values.live, values.mode, values.currencies, values.rate) == (7, True, "invoice", ("CHF", "GBP"), 0.5)
    assert values["BILLING_RETRIES"] == 7 and values.module == "billing"


def test_a_secret_is_held_as_a_secret_and_never_shown() -> None:
    values, _ = billing().read({"BILLING_API_KEY": KEY, "BILLING_GATEWAY_URL": "https://shop:pa55word@pay.example"})
    assert values.api_key == Secret(KEY) and values.api_key.reveal() == KEY
    shown = repr(values)
    assert KEY not in shown and "pa55word" not in shown and "https://shop:****@pay.example" in shown


def test_malformed_values_are_reported_as_the_infrastructure_reports_its_own() -> None:
    environ = {"BILLING_RETRIES": "abc", "BILLING_MODE": "cash", "BILLING_GATEWAY_URL": "ftp://x", "DB_POOL_SIZE": "abc"}
    with pytest.raises(ConfigurationError) as caught:
        Configuration(environ, [billing()]).load_from_environment()
    assert caught.value.problems == (
        "DB_POOL_SIZE='abc' is not a whole number; expected a whole number from 1 to 1000",
        "BILLING_RETRIES='abc' is not a whole number; expected a whole number from 0 to 10",
        "BILLING_MODE='cash' is not a known value; expected one of card, invoice",
        "BILLING_GATEWAY_URL='ftp://x' has scheme 'ftp'; expected a URL such as https://...",
    )


def test_no_secret_appears_in_a_problem_whatever_variable_it_is_in() -> None:
    ship = ModuleSettings("shipping", setting("SHIPPING_TOKEN", kinds.integer(1, 5), description="Carrier token"))
    environ = {"BILLING_RETRIES": KEY, "SHIPPING_TOKEN": "tok-secret-value", "BILLING_GATEWAY_URL": "ftp://u:hunter22@x"}
    with pytest.raises(ConfigurationError) as caught:
        Configuration({**environ, "BILLING_API_KEY": KEY}, [billing(), ship]).load_from_environment()
    message = str(caught.value)
    assert "BILLING_RETRIES='****' is not a whole number" in message and "SHIPPING_TOKEN=<hidden> is not a whole number" in message
    assert KEY not in message and "tok-secret-value" not in message and "hunter22" not in message


def test_the_values_are_frozen_and_name_what_they_lack() -> None:
    values, _ = billing().read({})
    with pytest.raises(AttributeError, match="frozen; set BILLING_RETRIES"):
        values.retries = 4
    with pytest.raises(AttributeError, match="billing declares no setting 'retry'; it has retries, rate"):
        values.retry  # noqa: B018
    with pytest.raises(KeyError, match="no variable 'RETRIES'"):
        values["RETRIES"]
    assert values == billing().read({})[0] and isinstance(values, SettingValues)


def test_the_configuration_carries_every_module_s_values() -> None:
    config = Configuration({"BILLING_RETRIES": "9"}, [billing()]).load_from_environment()
    assert settings_of(config.module_settings, "billing").retries == 9
    assert settings_of(config.module_settings, billing()).retries == 9
    with pytest.raises(InvalidArgumentError, match="'shipping' has no settings table here \\(found: billing\\); declare SETTINGS"):
        settings_of(config.module_settings, "shipping")
    with pytest.raises(InvalidArgumentError, match="takes a module's name or its ModuleSettings table"):
        settings_of(config.module_settings, 7)


def test_a_dotenv_file_feeds_module_settings_too(tmp_path: Path) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text("CONTENT_CREATION_MAX_TOPIC_LENGTH=40\nCONTENT_CREATION_RETRY_TEMPERATURE=1.5\n")
    config = EnvironmentLoader({"ENV_FILE": str(env_file), "CONTENT_CREATION_RETRY_TEMPERATURE": "0.2"}).load_config()
    values = config.module_settings["content_creation"]
    assert (values.max_topic_length, values.retry_temperature, values.max_image_bytes) == (40, 0.2, 10 * 1024 * 1024)


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (lambda: ModuleSettings("billing", setting("billing_retries", kinds.integer(), description="d")), "named BILLING_<NAME> in upper case"),
        (lambda: ModuleSettings("billing", setting("RETRIES", kinds.integer(), description="d")), "declares 'RETRIES'"),
        (lambda: ModuleSettings("billing", setting("BILLING_", kinds.integer(), description="d")), "BILLING_<NAME>"),
        (lambda: ModuleSettings("billing", setting("BILLING_1X", kinds.integer(), description="d")), "a letter first"),
        (lambda: ModuleSettings("billing", setting("BILLING_A", kinds.text, description="d"), setting("BILLING_A", kinds.text, description="e")), "BILLING_A twice"),
        (lambda: ModuleSettings("billing", setting("BILLING_MODULE", kinds.text, description="d")), "'module' is taken by the values' own"),
        (lambda: ModuleSettings("billing", setting("BILLING_VARIABLES", kinds.integer(), description="d")), "'variables' is taken by the values' own"),
        (lambda: ModuleSettings("Billing"), "module's package name"),
        (lambda: ModuleSettings("infrastructure"), "module's package name"),
        (lambda: ModuleSettings("billing", ("BILLING_A", "1")), "takes setting\\(...\\) declarations, not tuple"),  # type: ignore[arg-type]
        (lambda: setting("BILLING_A", kinds.integer(1, 5), default=9, description="d"), "default '9' that is above the maximum 5; expected a whole number from 1 to 5"),
        (lambda: setting("BILLING_A", kinds.boolean, default="maybe", description="d"), "is not a boolean"),
        (lambda: setting("BILLING_A", kinds.text, default=["a"], description="d"), "default of text, a number or a bool, not list"),  # type: ignore[arg-type]
        (lambda: setting("BILLING_A", "integer", description="d"), "a parser of setting_types"),  # type: ignore[arg-type]
        (lambda: setting("BILLING_A", kinds.text, description=" "), "needs a description"),
        (lambda: setting(7, kinds.text, description="d"), "takes the variable's name"),  # type: ignore[arg-type]
        (lambda: setting("BILLING_SALT", kinds.text, description="d", secret=True), "a secret's name ends with one of"),
        (lambda: setting("BILLING_API_KEY", kinds.text, description="d", secret=False), "rename the variable or drop secret="),
    ],
)
def test_a_bad_declaration_is_refused_when_it_is_made(declare: object, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        declare()  # type: ignore[operator]


@pytest.mark.parametrize("default", ["sk-live-99999", 12345])
def test_a_secret_takes_no_default_and_the_refusal_does_not_show_it(default: str | int) -> None:
    with pytest.raises(InvalidArgumentError, match=r"setting\('BILLING_API_KEY'\) is a secret and takes no default") as caught:
        setting("BILLING_API_KEY", kinds.text, default=default, description="d")
    assert "sk-live" not in str(caught.value) and "12345" not in str(caught.value)


def test_every_public_attribute_of_the_values_is_reserved() -> None:
    public = {name for name in dir(SettingValues) if not name.startswith("_")}
    assert {"module", "variables"} <= public
    for attribute in public:
        with pytest.raises(InvalidArgumentError, match=f"{attribute!r} is taken"):
            ModuleSettings("billing", setting(f"BILLING_{attribute.upper()}", kinds.text, description="d"))


def test_tables_may_not_share_a_variable_with_each_other_or_the_infrastructure() -> None:
    llm = ModuleSettings("llm", setting("LLM_PROVIDER", kinds.text, description="d"))
    twin = ModuleSettings("billing", setting("BILLING_RETRIES", kinds.integer(), description="d"))
    bill = ModuleSettings("bill", setting("BILL_ING_RETRIES", kinds.integer(), description="d"))
    assert clashes([billing(), llm, twin, bill], SETTINGS_BY_NAME) == [
        "LLM_PROVIDER of llm is already the infrastructure's; rename it",
        "The module billing has two settings tables; declare one, in modules/billing/settings.py",
        "BILLING_RETRIES of billing is already billing's; rename it",
    ]


def test_a_reread_applies_a_module_s_new_values_at_once() -> None:
    old, new = {"BILLING_RETRIES": "3"}, {"BILLING_RETRIES": "5", "BILLING_MODE": "invoice"}
    reread = plan_reload(old, new, Configuration(old, [billing()]).load_from_environment(), Configuration(new, [billing()]).load_from_environment())
    assert reread.report == ConfigReload(applied=("BILLING_MODE", "BILLING_RETRIES"))
    assert (reread.config.module_settings["billing"].retries, reread.config.module_settings["billing"].mode) == (5, "invoice")
