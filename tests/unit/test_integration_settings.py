"""``INTEGRATION_<NAME>_*``: discovery of the integrations, their values, and every problem naming its variable."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from modules.infrastructure.domain.config.configuration import Configuration
from modules.infrastructure.domain.config.integration_settings import integration_name, integration_names
from modules.infrastructure.domain.config.values import AppConfig, IntegrationConfig
from modules.infrastructure.domain.errors import ConfigurationError, InvalidArgumentError
from modules.infrastructure.infrastructure.config.environment_loader import EnvironmentLoader
from modules.infrastructure.infrastructure.config.secret_files import with_secret_files
from tests.secret_volumes import kubernetes_volume, secret_file

TOKEN = "crm-token-0123456789abcdef"
API_KEY = "crm-api-key-fedcba9876543210"
PASSWORD = "crm-Passw0rd-from-vault"
CRM = {"INTEGRATION_CRM_BASE_URL": "https://crm.example/api/v2/"}
PRODUCTION = {
    "APP_ENV": "production", "LLM_PROVIDER": "local", "DATABASE_URL": "postgresql://app@db.internal/app", "DB_SSLMODE": "require",
    "STORAGE_URL_SECRET": "k" * 32,
}


def load(environ: Mapping[str, str]) -> AppConfig:
    return Configuration(environ).load_from_environment()


def crm(**variables: str) -> IntegrationConfig:
    """The ``crm`` integration configured by ``CRM`` and ``INTEGRATION_CRM_<key>=value`` for each of ``variables``."""
    return load({**CRM, **{f"INTEGRATION_CRM_{key}": value for key, value in variables.items()}}).integrations["crm"]


def problems(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The problems loading ``environ`` raises; no secret of the test appears in the message."""
    with pytest.raises(ConfigurationError) as caught:
        load(environ)
    assert all(secret not in str(caught.value) for secret in (TOKEN, API_KEY, PASSWORD))
    return caught.value.problems


def crm_problems(**variables: str) -> tuple[str, ...]:
    return problems({**CRM, **{f"INTEGRATION_CRM_{key}": value for key, value in variables.items()}})


# --- discovery ------------------------------------------------------------------------------------


def test_each_integration_is_found_from_any_of_its_variables() -> None:
    names = [
        "INTEGRATION_CRM_BASE_URL", "INTEGRATION_BILLING_API_KEY", "INTEGRATION_MAIL_API_KEY_HEADER",
        "INTEGRATION_SMS_GATEWAY_TOKEN_FILE", "INTEGRATION_ERP_PASSWORD_FILE", "INTEGRATION_PIM_RETRIES", "OPENAI_API_KEY", "INTEGRATION_",
    ]
    assert integration_names(names) == ("billing", "crm", "erp", "mail", "pim", "sms_gateway")


def test_the_longest_suffix_decides_so_an_api_key_header_is_not_an_api_key_of_another_name() -> None:
    assert integration_names(["INTEGRATION_MAIL_API_KEY_HEADER"]) == ("mail",)
    assert integration_names(["INTEGRATION_MAIL_API_KEY"]) == ("mail",)
    assert integration_names(["INTEGRATION_MY_API_BASE_URL"]) == ("my_api",)


def test_variables_that_name_no_integration_are_not_one() -> None:
    too_long = "A" * 41
    names = ["INTEGRATION_CRM_TOKN", "INTEGRATION_BASE_URL", "INTEGRATION_1CRM_TOKEN", f"INTEGRATION_{too_long}_TOKEN", "CRM_BASE_URL"]
    assert integration_names(names) == ()


def test_an_integration_s_variables_become_its_config_with_the_defaults() -> None:
    config = crm(TOKEN=TOKEN)
    assert config == IntegrationConfig(name="crm", base_url="https://crm.example/api/v2/", auth="bearer", credential=config.credential)
    assert config.credential is not None and config.credential.reveal() == TOKEN
    assert TOKEN not in repr(config)
    assert load({}).integrations == {}


def test_every_variable_is_read() -> None:
    config = crm(
        AUTH="basic", USERNAME="svc", PASSWORD=PASSWORD, TIMEOUT="2.5", DEADLINE="12", RETRIES="0", RPM_LIMIT="600",
        BREAKER_THRESHOLD="3", BREAKER_COOLDOWN="9", HEALTH_PATH="/health", MAX_RESPONSE_BYTES="1024",
    )
    assert (config.auth, config.username, config.timeout, config.deadline, config.retries, config.rpm_limit) == ("basic", "svc", 2.5, 12.0, 0, 600)
    assert (config.breaker_threshold, config.breaker_cooldown, config.health_path, config.max_response_bytes) == (3, 9.0, "/health", 1024)


def test_the_one_credential_given_decides_the_auth() -> None:
    assert crm(API_KEY=API_KEY).auth == "api_key"
    assert crm(API_KEY=API_KEY, API_KEY_HEADER="X-Crm-Key").api_key_header == "X-Crm-Key"
    assert crm(API_KEY=API_KEY, API_KEY_HEADER="Authorization").api_key_header == "Authorization"  # a raw key, as some services want
    assert crm(USERNAME="svc", PASSWORD=PASSWORD).auth == "basic"
    assert crm().auth == "none" and crm().credential is None


@pytest.mark.parametrize("name", ["crm", "CRM", "Sms_Gateway2", "a" * 40])
def test_a_name_is_a_word_of_letters_digits_and_underscores(name: str) -> None:
    assert integration_name(name) == name.lower()


@pytest.mark.parametrize("name", [None, 1, "", "a-b", "1crm", "_crm", "crm.example", "a" * 41, "crm\n"])
def test_any_other_name_is_an_invalid_argument(name: object) -> None:
    with pytest.raises(InvalidArgumentError, match="INTEGRATION_<NAME>_BASE_URL") as caught:
        integration_name(name)
    assert isinstance(caught.value, ValueError)


# --- problems -------------------------------------------------------------------------------------


def test_a_missing_base_url_is_named() -> None:
    assert problems({"INTEGRATION_CRM_TOKEN": TOKEN}) == (
        "INTEGRATION_CRM_BASE_URL is not set, but other INTEGRATION_CRM_* variables are; set it to the service's URL, e.g. https://crm.example/api",
    )


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("crm.example/api", "has scheme ''"),
        ("ftp://crm.example", "has scheme 'ftp'"),
        ("https://svc:pw@crm.example", "carries a user name or password"),
        ("https://crm.example/api?version=2", "has a query string or fragment"),
        ("https://crm.example/api#top", "has a query string or fragment"),
        ("https://crm.example?", "has a query string or fragment"),
        ("https://", "has no host"),
    ],
)
def test_a_malformed_base_url_is_one_problem_naming_the_variable(url: str, problem: str) -> None:
    found = crm_problems(BASE_URL=url, TOKEN=TOKEN)
    assert len(found) == 1
    assert found[0].startswith("INTEGRATION_CRM_BASE_URL=") and problem in found[0]


@pytest.mark.parametrize("url", [f"https://{TOKEN}@crm.example", f"https://svc:{TOKEN}@crm.example", f"https://crm.example/api?key={TOKEN}"])
def test_a_token_pasted_into_the_base_url_is_not_shown(url: str) -> None:
    (found,) = problems({"INTEGRATION_CRM_BASE_URL": url})
    assert "****" in found and "crm.example" in found


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("TIMEOUT", "0", "must be greater than 0"),
        ("TIMEOUT", "-1", "must be greater than 0"),
        ("DEADLINE", "0", "must be greater than 0"),
        ("DEADLINE", "1e30", "is above the maximum 2147483"),
        ("BREAKER_COOLDOWN", "-5", "must be greater than 0"),
        ("TIMEOUT", "ten", "expected a number"),
        ("RETRIES", "11", "is above the maximum 10"),
        ("RETRIES", "-1", "expected a whole number from 0 to 10"),
        ("RPM_LIMIT", "0", "expected a whole number from 1"),
        ("MAX_RESPONSE_BYTES", "0", "expected a whole number from 1"),
        ("AUTH", "oauth", "expected one of none, bearer, api_key, basic"),
        ("API_KEY_HEADER", "X API Key", "is not an HTTP header name"),
        ("API_KEY_HEADER", "Idempotency-Key", "is a header the client sets itself"),
        ("API_KEY_HEADER", "content-length", "is a header the client sets itself"),
        ("API_KEY_HEADER", "Host", "is a header the client sets itself"),
        ("HEALTH_PATH", "health", "is not a path on the service"),
        ("HEALTH_PATH", "//other.example/health", "is not a path on the service"),
        ("HEALTH_PATH", "/health?full=1", "is not a path on the service"),
        ("HEALTH_PATH", "/api/../admin/health", "is not a path on the service"),
        ("HEALTH_PATH", "/%2e%2e/health", "is not a path on the service"),
        ("HEALTH_PATH", "/health#top", "is not a path on the service"),
    ],
)
def test_a_malformed_value_is_one_problem_naming_its_variable(variable: str, value: str, problem: str) -> None:
    (found,) = crm_problems(**{variable: value})
    assert found.startswith(f"INTEGRATION_CRM_{variable}={value!r}") and problem in found


def test_every_problem_is_listed_together() -> None:
    found = crm_problems(TIMEOUT="0", RETRIES="99", AUTH="bearer")
    assert [problem.split("=")[0].split()[0] for problem in found] == ["INTEGRATION_CRM_TIMEOUT", "INTEGRATION_CRM_RETRIES", "INTEGRATION_CRM_AUTH"]


def test_auth_bearer_without_a_token_names_the_token() -> None:
    assert crm_problems(AUTH="bearer") == ("INTEGRATION_CRM_AUTH=bearer needs INTEGRATION_CRM_TOKEN; set it (or its _FILE)",)
    assert crm_problems(AUTH="basic", USERNAME="svc") == ("INTEGRATION_CRM_AUTH=basic needs INTEGRATION_CRM_PASSWORD; set it (or its _FILE)",)
    assert crm_problems(PASSWORD=PASSWORD) == ("INTEGRATION_CRM_AUTH=basic needs INTEGRATION_CRM_USERNAME; set it (or its _FILE)",)


def test_two_credentials_without_auth_ask_which_one() -> None:
    assert crm_problems(TOKEN=TOKEN, API_KEY=API_KEY) == (
        "INTEGRATION_CRM_TOKEN and INTEGRATION_CRM_API_KEY are all set; set INTEGRATION_CRM_AUTH to the one to use, or unset the others",
    )


def test_a_credential_auth_does_not_send_is_a_problem() -> None:
    assert crm_problems(AUTH="bearer", TOKEN=TOKEN, API_KEY=API_KEY) == (
        "INTEGRATION_CRM_API_KEY set but INTEGRATION_CRM_AUTH=bearer does not send it; unset it or change INTEGRATION_CRM_AUTH",
    )
    assert crm_problems(AUTH="none", PASSWORD=PASSWORD) == (
        "INTEGRATION_CRM_PASSWORD set but INTEGRATION_CRM_AUTH=none does not send it; unset it or change INTEGRATION_CRM_AUTH",
    )


def test_a_credential_of_more_than_one_line_is_refused_without_showing_it() -> None:
    assert crm_problems(TOKEN=f"{TOKEN}\nX-Admin: yes") == (
        "INTEGRATION_CRM_TOKEN holds a line break or another control character; a secret is one line of text",
    )
    assert crm_problems(AUTH="bearer", TOKEN=f"{TOKEN}\rX") == crm_problems(TOKEN=f"{TOKEN}\rX")  # not also "needs a token"


def test_a_malformed_auth_is_the_only_problem_even_with_two_credentials() -> None:
    (found,) = crm_problems(AUTH="token", TOKEN=TOKEN, API_KEY=API_KEY)
    assert found.startswith("INTEGRATION_CRM_AUTH='token' is not a known value")


# --- secret files and typos -----------------------------------------------------------------------


def test_the_token_can_come_from_its_file(tmp_path: Path) -> None:
    environ = {**CRM, "INTEGRATION_CRM_TOKEN_FILE": str(secret_file(tmp_path / "crm-token", f"{TOKEN}\n"))}
    resolved = with_secret_files(environ)
    assert resolved["INTEGRATION_CRM_TOKEN"] == TOKEN
    config = load(resolved).integrations["crm"]
    assert config.auth == "bearer" and config.credential is not None and config.credential.reveal() == TOKEN


def test_a_file_alone_configures_the_integration_through_the_environment_loader(tmp_path: Path, workdir: Path) -> None:
    environ = {
        "INTEGRATION_ERP_BASE_URL": "https://erp.example",
        "INTEGRATION_ERP_API_KEY_FILE": str(secret_file(tmp_path / "erp-key", API_KEY)),
        "INTEGRATION_ERP_PASSWORD_FILE": str(secret_file(tmp_path / "erp-password", PASSWORD)),
    }
    with pytest.raises(ConfigurationError) as caught:
        EnvironmentLoader(environ).load_config()  # two credentials from files: which one is meant?
    assert "INTEGRATION_ERP_API_KEY and INTEGRATION_ERP_PASSWORD are all set" in str(caught.value)
    environ["INTEGRATION_ERP_AUTH"] = "api_key"
    environ.pop("INTEGRATION_ERP_PASSWORD_FILE")
    config = EnvironmentLoader(environ).load_config().integrations["erp"]
    assert config.credential is not None and config.credential.reveal() == API_KEY


def test_the_credential_can_come_from_a_kubernetes_secret_volume(tmp_path: Path) -> None:
    volume = kubernetes_volume(tmp_path / "secrets", {"INTEGRATION_CRM_API_KEY": f"{API_KEY}\n", "INTEGRATION_OTHER_TOKEN": TOKEN})
    resolved = with_secret_files({**CRM, "SECRETS_DIR": str(volume)})
    assert resolved["INTEGRATION_CRM_API_KEY"] == API_KEY
    assert "INTEGRATION_OTHER_TOKEN" not in resolved  # an integration is configured by its variables, not by a file alone
    config = load(resolved).integrations["crm"]
    assert config.auth == "api_key" and config.credential is not None and config.credential.reveal() == API_KEY


def test_a_token_file_that_differs_from_the_variable_is_a_problem(tmp_path: Path) -> None:
    environ = {**CRM, "INTEGRATION_CRM_TOKEN": TOKEN, "INTEGRATION_CRM_TOKEN_FILE": str(secret_file(tmp_path / "t", "another-token-value"))}
    with pytest.raises(ConfigurationError) as caught:
        with_secret_files(environ)
    assert caught.value.problems == ("INTEGRATION_CRM_TOKEN and INTEGRATION_CRM_TOKEN_FILE are both set and differ; keep one of them",)
    assert TOKEN not in str(caught.value) and "another-token-value" not in str(caught.value)


def test_a_missing_token_file_names_the_variable_not_a_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        with_secret_files({**CRM, "INTEGRATION_CRM_TOKEN_FILE": str(tmp_path / "absent")})
    assert caught.value.problems == (f"INTEGRATION_CRM_TOKEN_FILE={str(tmp_path / 'absent')!r} does not exist; check the path and the file's permissions",)


def test_a_mistyped_variable_of_an_integration_is_warned_about_with_the_name_meant() -> None:
    warnings = load({**CRM, "INTEGRATION_CRM_TOKN": TOKEN, "INTEGRATION_CRM_RETRYS": "3"}).warnings
    assert "INTEGRATION_CRM_TOKN is not a setting of the crm integration and is ignored: did you mean INTEGRATION_CRM_TOKEN?" in warnings
    assert "INTEGRATION_CRM_RETRYS is not a setting of the crm integration and is ignored: did you mean INTEGRATION_CRM_RETRIES?" in warnings
    assert all(TOKEN not in warning for warning in warnings)
    lone = load({"INTEGRATION_CRM_TOKN": TOKEN}).warnings  # no INTEGRATION_CRM_* variable is right: no table to compare with
    assert "INTEGRATION_CRM_TOKN is not a setting of the infrastructure module and is ignored; check its spelling (.env.example lists every setting)" in lone


# --- plain http -----------------------------------------------------------------------------------


def test_plain_http_to_a_remote_host_is_warned_about_in_production() -> None:
    config = load({**PRODUCTION, "INTEGRATION_CRM_BASE_URL": "http://crm.example/api"})
    assert "INTEGRATION_CRM_BASE_URL reaches crm.example without TLS (http://); use https://" in config.warnings
    assert not [w for w in load({"INTEGRATION_CRM_BASE_URL": "http://crm.example/api"}).warnings if "without TLS" in w]  # development


def test_require_tls_refuses_plain_http_to_a_remote_host() -> None:
    assert problems({"REQUIRE_TLS": "true", "INTEGRATION_CRM_BASE_URL": "http://crm.example/api"}) == (
        "INTEGRATION_CRM_BASE_URL reaches crm.example without TLS (http://); use https://; REQUIRE_TLS=true refuses it",
    )


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:8080/api", "http://[::1]:8080"])
def test_plain_http_on_this_machine_is_fine_even_with_require_tls(url: str) -> None:
    config = load({**PRODUCTION, "REQUIRE_TLS": "true", "INTEGRATION_CRM_BASE_URL": url})
    assert config.integrations["crm"].base_url == url.rstrip("/")
    assert not [w for w in config.warnings if "without TLS" in w]


# --- base URLs the client could not reach as written, and names no integration can have ---------------


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://exa mple.com", "a character a host name cannot hold"),
        ("http://a..b", "not valid (an empty or over-long label)"),
        ("http://-bad-.com", "a character a host name cannot hold"),
        ("http://host:0", "port 0"),
        ("http://@host", "user information"),
        ("http://host/a b/../x", "a path the client cannot send"),
        ("http://host/%zz", "a path the client cannot send"),
        ("https://x.example/#SECRET", "query string or fragment"),
        ("http://[fe80::1%25eth0]:1/", "IPv6 zone"),
    ],
)
def test_a_base_url_the_client_could_not_reach_is_refused_at_start_up(url: str, problem: str) -> None:
    [found] = problems({"INTEGRATION_CRM_BASE_URL": url})
    assert found.startswith("INTEGRATION_CRM_BASE_URL=") and problem in found and "SECRET" not in found


@pytest.mark.parametrize("url", ["http://[::1]:8080/api", "https://bücher.example/x", "http://127.0.0.1:9", "https://hooks.example/quiz/"])
def test_a_base_url_is_kept_as_written(url: str) -> None:
    assert load({"INTEGRATION_CRM_BASE_URL": url}).integrations["crm"].base_url == url


def test_the_config_s_repr_shows_the_base_url_s_origin_only() -> None:
    config = load({"INTEGRATION_HOOK_BASE_URL": "https://hooks.example/services/T0/B0/SECRETPATH"}).integrations["hook"]
    assert "SECRETPATH" not in repr(config) and "https://hooks.example/..." in repr(config)


@pytest.mark.parametrize("variable", ["INTEGRATION__X_BASE_URL", "INTEGRATION_X-Y_TOKEN", "INTEGRATION_9X_BASE_URL", f"INTEGRATION_{'A' * 41}_TOKEN"])
def test_a_variable_of_an_integration_no_name_can_have_is_a_problem_naming_it(variable: str) -> None:
    [found] = problems({variable: "https://crm.example"})
    assert found.startswith(f"{variable}: ") and "is not an integration's name" in found
