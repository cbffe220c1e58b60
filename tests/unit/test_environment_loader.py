"""``EnvironmentLoader``: a dotenv file under the real environment, validated once and cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.infrastructure.config.environment_loader import EnvironmentLoader

OPENAI_KEY = "sk-from-dotenv-0123456789"
DB_PASSWORD = "dotenv-db-Passw0rd"



def write(path: Path, *lines: str) -> Path:
    """Write ``lines`` to the dotenv file ``path`` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def loader_error(loader: EnvironmentLoader) -> ConfigurationError:
    """The ``ConfigurationError`` that ``loader.load_config()`` raises."""
    with pytest.raises(ConfigurationError) as caught:
        loader.load_config()
    return caught.value


# --- reading the dotenv file ---------------------------------------------------------------------


def test_values_from_the_dotenv_file_are_used(workdir: Path) -> None:
    write(
        workdir / ".env",
        "# local settings",
        "DB_POOL_SIZE=7",
        f"OPENAI_API_KEY={OPENAI_KEY}",
        'OPENAI_MODEL="gpt-4o"  # quoted, with a comment',
        "export LOG_FORMAT=json",
        "FEATURE_FLAG_NEW_UI=true",
        "",
    )
    config = EnvironmentLoader(environ={}).load_config()
    assert config.database.pool_size == 7
    assert config.llm_config.provider == "openai"
    assert config.llm_config.api_key is not None and config.llm_config.api_key.reveal() == OPENAI_KEY
    assert config.llm_config.model == "gpt-4o"
    assert config.logging.format == "json"
    assert config.feature_flags["new_ui"] is True


def test_the_real_environment_wins_over_the_dotenv_file(workdir: Path) -> None:
    write(workdir / ".env", "DB_POOL_SIZE=7", "LOG_LEVEL=DEBUG", "FEATURE_FLAG_NEW_UI=false")
    loader = EnvironmentLoader(environ={"DB_POOL_SIZE": "9", "FEATURE_FLAG_NEW_UI": "true"})
    config = loader.load_config()
    assert config.database.pool_size == 9
    assert config.logging.level == "DEBUG"
    assert config.feature_flags["new_ui"] is True
    assert loader.environment()["DB_POOL_SIZE"] == "9"


def test_the_merged_environment_holds_both_sources(workdir: Path) -> None:
    write(workdir / ".env", "FROM_FILE=a", "SHARED=file")
    environment = EnvironmentLoader(environ={"FROM_REAL": "b", "SHARED": "real"}).environment()
    assert environment == {"FROM_FILE": "a", "FROM_REAL": "b", "SHARED": "real"}


def test_a_name_without_a_value_in_the_dotenv_file_is_left_out(workdir: Path) -> None:
    write(workdir / ".env", "DB_POOL_SIZE", "LOG_LEVEL=DEBUG")
    environment = EnvironmentLoader(environ={}).environment()
    assert "DB_POOL_SIZE" not in environment
    assert environment["LOG_LEVEL"] == "DEBUG"


def test_no_dotenv_file_is_fine(workdir: Path) -> None:
    loader = EnvironmentLoader(environ={"DB_POOL_SIZE": "3"})
    assert loader.environment() == {"DB_POOL_SIZE": "3"}
    config = loader.load_config()
    assert config.database.pool_size == 3
    assert config.environment == "development"


def test_a_dotenv_directory_is_treated_as_no_file(workdir: Path) -> None:
    (workdir / ".env").mkdir()
    assert EnvironmentLoader(environ={}).environment() == {}


def test_the_dotenv_file_is_read_from_the_working_directory(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(workdir / "app" / ".env", "DB_POOL_SIZE=4")
    assert EnvironmentLoader(environ={}).load_config().database.pool_size == 5
    monkeypatch.chdir(workdir / "app")
    assert EnvironmentLoader(environ={}).load_config().database.pool_size == 4


# --- ENV_FILE ----------------------------------------------------------------------------------


def test_env_file_picks_another_file_instead_of_dotenv(workdir: Path) -> None:
    write(workdir / ".env", "DB_POOL_SIZE=7", "LOG_LEVEL=DEBUG")
    write(workdir / "config" / "staging.env", "DB_POOL_SIZE=12", "APP_ENV=staging")
    config = EnvironmentLoader(environ={"ENV_FILE": "config/staging.env"}).load_config()
    assert config.database.pool_size == 12
    assert config.environment == "staging"
    assert config.logging.level == "INFO"


def test_env_file_may_be_an_absolute_path(workdir: Path) -> None:
    other = write(workdir / "elsewhere" / "prod.env", "DB_MAX_OVERFLOW=0")
    config = EnvironmentLoader(environ={"ENV_FILE": f"  {other}  "}).load_config()
    assert config.database.max_overflow == 0


def test_a_blank_env_file_means_the_default_dotenv(workdir: Path) -> None:
    write(workdir / ".env", "DB_POOL_SIZE=7")
    assert EnvironmentLoader(environ={"ENV_FILE": " "}).load_config().database.pool_size == 7


def test_the_real_environment_also_wins_over_env_file(workdir: Path) -> None:
    write(workdir / "x.env", "DB_POOL_SIZE=12")
    config = EnvironmentLoader(environ={"ENV_FILE": "x.env", "DB_POOL_SIZE": "2"}).load_config()
    assert config.database.pool_size == 2


def test_env_file_naming_a_missing_file_is_a_configuration_error(workdir: Path) -> None:
    write(workdir / ".env", "DB_POOL_SIZE=7")
    loader = EnvironmentLoader(environ={"ENV_FILE": "missing.env"})
    error = loader_error(loader)
    assert "ENV_FILE" in str(error)
    assert "missing.env" in str(error)
    with pytest.raises(ConfigurationError, match="ENV_FILE"):
        loader.environment()


def test_env_file_naming_a_directory_is_a_configuration_error(workdir: Path) -> None:
    (workdir / "conf").mkdir()
    error = loader_error(EnvironmentLoader(environ={"ENV_FILE": "conf"}))
    assert "ENV_FILE" in str(error)


# --- malformed dotenv files --------------------------------------------------------------------


def test_a_malformed_dotenv_line_names_the_file_and_the_line(workdir: Path) -> None:
    write(workdir / ".env", "DB_POOL_SIZE=7", "this line is not valid", "LOG_LEVEL=DEBUG")
    error = loader_error(EnvironmentLoader(environ={}))
    assert ".env" in str(error)
    assert error.problems == (".env line 2 is not NAME=value",)
    assert "line 2" in str(error)


def test_every_malformed_dotenv_line_is_listed(workdir: Path) -> None:
    write(workdir / ".env", "A=1", "not valid", "B=2", "=no-name", "C D=3")
    error = loader_error(EnvironmentLoader(environ={}))
    assert [problem.split(" is ")[0] for problem in error.problems] == [".env line 2", ".env line 4", ".env line 5"]


def test_a_malformed_line_in_the_env_file_file_names_that_file(workdir: Path) -> None:
    write(workdir / "conf" / "local.env", "OK=1", "OK2=2", "broken line")
    error = loader_error(EnvironmentLoader(environ={"ENV_FILE": "conf/local.env"}))
    assert "local.env" in str(error)
    assert len(error.problems) == 1
    assert "local.env line 3" in error.problems[0]


def test_a_malformed_value_in_the_dotenv_file_names_the_variable(workdir: Path) -> None:
    write(workdir / ".env", "DB_POOL_SIZE=abc")
    error = loader_error(EnvironmentLoader(environ={}))
    assert len(error.problems) == 1
    assert error.problems[0].startswith("DB_POOL_SIZE='abc'")


def test_a_malformed_dotenv_value_is_hidden_by_a_good_real_one(workdir: Path) -> None:
    write(workdir / ".env", "DB_POOL_SIZE=abc")
    assert EnvironmentLoader(environ={"DB_POOL_SIZE": "6"}).load_config().database.pool_size == 6


# --- unreadable dotenv files ------------------------------------------------------------------

BINARY = bytes(range(256))  # not UTF-8 from byte 0x80 on


@pytest.mark.parametrize("content", [BINARY, "DB_POOL_SIZE=5\nLOG_LEVEL=débug\n".encode("latin-1")], ids=["binary", "latin-1"])
def test_an_env_file_that_is_not_utf8_is_a_configuration_error_naming_it(workdir: Path, content: bytes) -> None:
    (workdir / "settings.bin").write_bytes(content)
    offset = next(i for i, byte in enumerate(content) if byte >= 0x80)
    error = loader_error(EnvironmentLoader(environ={"ENV_FILE": "settings.bin"}))
    assert str(error).startswith(f"ENV_FILE='settings.bin' is not UTF-8 text (byte 0x{content[offset]:02x} at offset {offset}); ")
    assert error.__cause__ is None and error.__suppress_context__


def test_a_default_dotenv_that_is_not_utf8_names_the_file(workdir: Path) -> None:
    (workdir / ".env").write_bytes(BINARY)
    assert str(loader_error(EnvironmentLoader(environ={}))).startswith("The dotenv file '.env' is not UTF-8 text")


def test_an_env_file_that_cannot_be_read_is_a_configuration_error_naming_it(workdir: Path) -> None:
    # A regular file whose read fails for any user, root included (EIO at offset 0).
    error = loader_error(EnvironmentLoader(environ={"ENV_FILE": "/proc/self/mem"}))
    assert str(error) == "ENV_FILE='/proc/self/mem' cannot be read (Input/output error); check its permissions, or unset ENV_FILE"


def test_the_redactor_reads_past_an_env_file_that_is_not_utf8(workdir: Path) -> None:
    (workdir / "settings.bin").write_bytes(BINARY)
    redactor = EnvironmentLoader(environ={"ENV_FILE": "settings.bin", "OPENAI_API_KEY": OPENAI_KEY}).redactor()
    assert redactor.redact(f"key {OPENAI_KEY}") == "key ****"


# --- caching -----------------------------------------------------------------------------------


def test_load_config_is_cached_until_reset(workdir: Path) -> None:
    dotenv = write(workdir / ".env", "DB_POOL_SIZE=7")
    loader = EnvironmentLoader(environ={})
    first = loader.load_config()
    write(dotenv, "DB_POOL_SIZE=8")
    assert loader.load_config() is first
    assert loader.environment()["DB_POOL_SIZE"] == "7"

    loader.reset()
    second = loader.load_config()
    assert second is not first
    assert second.database.pool_size == 8
    assert loader.load_config() is second


def test_reset_rereads_the_real_environment_mapping(workdir: Path) -> None:
    environ = {"DB_POOL_SIZE": "7"}
    loader = EnvironmentLoader(environ=environ)
    assert loader.load_config().database.pool_size == 7
    environ["DB_POOL_SIZE"] = "8"
    assert loader.load_config().database.pool_size == 7
    loader.reset()
    assert loader.load_config().database.pool_size == 8


def test_a_failed_load_is_not_cached(workdir: Path) -> None:
    dotenv = write(workdir / ".env", "DB_POOL_SIZE=abc")
    loader = EnvironmentLoader(environ={})
    loader_error(loader)
    write(dotenv, "DB_POOL_SIZE=4")
    loader.reset()
    assert loader.load_config().database.pool_size == 4


def test_a_fixed_env_file_is_found_after_reset(workdir: Path) -> None:
    loader = EnvironmentLoader(environ={"ENV_FILE": "late.env"})
    loader_error(loader)
    write(workdir / "late.env", "DB_POOL_SIZE=3")
    loader.reset()
    assert loader.load_config().database.pool_size == 3


# --- the redactor knows the secrets ------------------------------------------------------------


def test_the_redactor_knows_secrets_from_the_dotenv_file(workdir: Path) -> None:
    write(
        workdir / ".env",
        f"OPENAI_API_KEY={OPENAI_KEY}",
        f"DATABASE_URL=postgresql://app:{DB_PASSWORD}@db/app",
        "LOG_LEVEL=DEBUG",
    )
    redactor = EnvironmentLoader(environ={"AZURE_OPENAI_API_KEY": "real-env-azure-key"}).redactor()
    text = redactor.redact(f"calling with {OPENAI_KEY} and {DB_PASSWORD} and real-env-azure-key at DEBUG")
    assert OPENAI_KEY not in text
    assert DB_PASSWORD not in text
    assert "real-env-azure-key" not in text
    assert text == "calling with **** and **** and **** at DEBUG"


def test_the_redactor_knows_secrets_even_when_the_dotenv_file_is_malformed(workdir: Path) -> None:
    write(workdir / ".env", "not a valid line", f"OPENAI_API_KEY={OPENAI_KEY}")
    loader = EnvironmentLoader(environ={})
    loader_error(loader)
    assert loader.redactor().redact(f"key={OPENAI_KEY}") == "key=****"


def test_the_redactor_reads_a_malformed_env_file_file_leniently(workdir: Path) -> None:
    write(workdir / ".env", "OPENAI_API_KEY=not-the-one-in-use")
    write(workdir / "broken.env", "broken line", f"OPENAI_API_KEY={OPENAI_KEY}")
    loader = EnvironmentLoader(environ={"ENV_FILE": "broken.env"})
    loader_error(loader)
    assert loader.redactor().redact(f"key {OPENAI_KEY}") == "key ****"

def test_the_redactor_works_when_env_file_is_missing(workdir: Path) -> None:
    loader = EnvironmentLoader(environ={"ENV_FILE": "missing.env", "OPENAI_API_KEY": OPENAI_KEY})
    assert loader.redactor().redact(f"key {OPENAI_KEY}") == "key ****"


def test_the_redactor_knows_secrets_from_the_env_file_file(workdir: Path) -> None:
    write(workdir / "secrets.env", f"RABBITMQ_URL=amqp://mq:{DB_PASSWORD}@mq1")
    redactor = EnvironmentLoader(environ={"ENV_FILE": "secrets.env"}).redactor()
    assert DB_PASSWORD not in redactor.redact(f"failed with {DB_PASSWORD}")


# --- interpolation -----------------------------------------------------------------------------


def test_dotenv_variables_can_refer_to_earlier_ones(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODINFRA_TEST_DB_HOST", raising=False)
    write(workdir / ".env", "MODINFRA_TEST_DB_HOST=db.internal", "DATABASE_URL=postgresql://app@${MODINFRA_TEST_DB_HOST}/app")
    assert EnvironmentLoader(environ={}).load_config().database.url == "postgresql+psycopg2://app@db.internal/app"


def test_interpolation_uses_the_given_environment(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODINFRA_TEST_DB_PASSWORD", "from-os-environ")
    write(workdir / ".env", "DATABASE_URL=postgresql://app:${MODINFRA_TEST_DB_PASSWORD}@db/app")
    loader = EnvironmentLoader(environ={"MODINFRA_TEST_DB_PASSWORD": "from-environ"})
    assert loader.load_config().database.url == "postgresql+psycopg2://app:from-environ@db/app"


def test_interpolation_prefers_the_real_environment(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODINFRA_TEST_DB_HOST", "real-db")
    write(workdir / ".env", "MODINFRA_TEST_DB_HOST=localhost", "DATABASE_URL=postgresql://app@${MODINFRA_TEST_DB_HOST}/app")
    loader = EnvironmentLoader(environ={"MODINFRA_TEST_DB_HOST": "real-db"})
    assert loader.load_config().database.url == "postgresql+psycopg2://app@real-db/app"
