"""THE secrets test: recognisable secrets go in, and no output of the module ever shows them.

Every secret variable and every URL password holds a unique value containing ``MARK``. The
configuration is given three ways (process environment, ``.env`` in the working directory,
a file named by ``ENV_FILE``), then every place a secret could surface is driven and collected:
``repr``/``str`` of the configuration, the start-up report (in process and from the script, text
and JSON), a raised ``ConfigurationError``, and DEBUG log records in text and JSON. ``MARK``
itself must not appear either, so half-masked secrets are caught too.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pprint
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from modules.infrastructure.domain.config.settings import secret_setting_names
from modules.infrastructure.domain.secrets import MASK
from modules.infrastructure.module_api import ConfigurationError, InfrastructureService
from tests.logging_helpers import bare_root, restore_root_logger  # noqa: F401 (autouse fixture)

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "validate_environment.py"
MARK = "LEAKCANARY"

OPENAI_KEY = f"sk-proj-{MARK}-openai-4f1d9a"
AZURE_KEY = f"az-{MARK}-azure-77c2e0"
ANTHROPIC_KEY = f"sk-ant-{MARK}-claude-3d5b"
SMTP_PASSWORD = f"smtp-{MARK}-pw-3b8e"
PAYMENTS_TOKEN = f"tok-{MARK}-payments-91aa"
DB_PASSWORD = f"db-{MARK}-primary-5e6f"
REPLICA1_PASSWORD = f"ro1-{MARK}-replica-0c4b"
REPLICA2_PASSWORD = f"ro2-{MARK}-replica-d2a7"
REDIS_PASSWORD = f"redis-{MARK}-cache-8e11"
MQ1_PASSWORD = f"mq1-{MARK}-node-6a5f"
MQ2_PASSWORD = f"mq2-{MARK}-node-2b90"
PROXY_PASSWORD = f"proxy-{MARK}-llm-47c3"
AZURE_ENDPOINT_PASSWORD = f"azep-{MARK}-endpoint-a81e"
STORAGE_URL_SECRET = f"url-{MARK}-signing-key-6d0c2f91ab"

ALL_SECRETS = (
    OPENAI_KEY,
    AZURE_KEY,
    ANTHROPIC_KEY,
    SMTP_PASSWORD,
    PAYMENTS_TOKEN,
    DB_PASSWORD,
    REPLICA1_PASSWORD,
    REPLICA2_PASSWORD,
    REDIS_PASSWORD,
    MQ1_PASSWORD,
    MQ2_PASSWORD,
    PROXY_PASSWORD,
    AZURE_ENDPOINT_PASSWORD,
    STORAGE_URL_SECRET,
)

# Every service is on a closed local port: checks that try to connect fail at once, never hang.
DATABASE_URL = f"postgresql+psycopg2://app:{DB_PASSWORD}@127.0.0.1:1/app_primary"
REPLICA_URLS = (
    f"postgresql://ro:{REPLICA1_PASSWORD}@127.0.0.1:1/app_replica1",
    f"postgresql://ro:{REPLICA2_PASSWORD}@127.0.0.1:1/app_replica2",
)
REDIS_URL = f"redis://cacheuser:{REDIS_PASSWORD}@127.0.0.1:1/0"
RABBITMQ_URLS = (
    f"amqp://app:{MQ1_PASSWORD}@127.0.0.1:1/vhost_one",
    f"amqp://app:{MQ2_PASSWORD}@127.0.0.1:1/vhost_two",
)
OPENAI_BASE_URL = f"https://proxy:{PROXY_PASSWORD}@127.0.0.1:1/llm_proxy/v1"
AZURE_ENDPOINT = f"https://az:{AZURE_ENDPOINT_PASSWORD}@127.0.0.1:1/azure_endpoint"

SETTINGS = {
    "APP_ENV": "production",
    "LOG_LEVEL": "DEBUG",
    "OPENAI_API_KEY": OPENAI_KEY,
    "OPENAI_BASE_URL": OPENAI_BASE_URL,
    "LLM_PROVIDER": "openai",
    "LLM_FALLBACK_PROVIDERS": "azure,anthropic",
    "AZURE_OPENAI_API_KEY": AZURE_KEY,
    "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
    "AZURE_OPENAI_ENDPOINT": AZURE_ENDPOINT,
    "AZURE_OPENAI_DEPLOYMENT": "gpt-4o",
    "DATABASE_URL": DATABASE_URL,
    "DATABASE_REPLICA_URLS": ", ".join(REPLICA_URLS),
    "REDIS_URL": REDIS_URL,
    "RABBITMQ_URL": ",".join(RABBITMQ_URLS),
    "STORAGE_URL_SECRET": STORAGE_URL_SECRET,
    # Not the module's settings, but secrets in the same environment: the logs must hide them too.
    "SMTP_PASSWORD": SMTP_PASSWORD,
    "PAYMENTS_SERVICE_TOKEN": PAYMENTS_TOKEN,
}

# Parts of the URLs that stay visible where a URL is shown: proof the masked URLs were collected.
URL_MARKERS = ("app_primary", "app_replica2", "cacheuser", "vhost_one", "vhost_two", "llm_proxy", "azure_endpoint")
COMPONENTS = ["config", "database", "cache", "messaging", "llm", "storage"]

# Malformed values (several of them carrying a secret) next to DB_POOL_SIZE=abc.
MALFORMED = {
    "DB_POOL_SIZE": "abc",
    "REDIS_URL": f"redis://cacheuser:{REDIS_PASSWORD}@127.0.0.1:badport",
    "DATABASE_URL": f"postgresql://app:{DB_PASSWORD}@127.0.0.1:notaport/app_primary",
    "DATABASE_REPLICA_URLS": f"{REPLICA_URLS[0].replace(':1/', ':99999/')},{REPLICA_URLS[1]}",
    "RABBITMQ_URL": f"{RABBITMQ_URLS[0]},http://app:{MQ2_PASSWORD}@127.0.0.1:1/vhost_two",
    "OPENAI_BASE_URL": f"ftp://proxy:{PROXY_PASSWORD}@127.0.0.1:1/llm_proxy/v1",
}

Configure = Callable[..., dict[str, str]]


def assert_no_secret(text: str, where: str) -> None:
    leaked = [secret for secret in ALL_SECRETS if secret in text]
    assert not leaked, f"{where} shows the secret(s) {leaked}"
    assert MARK not in text, f"{where} shows part of a secret: {text[max(0, text.find(MARK) - 40) :][:100]!r}"


def run_script(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--timeout", "5", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(params=["environment", "dotenv", "env_file", "secrets_dir"])
def configure(request: pytest.FixtureRequest, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Configure:
    """Puts ``SETTINGS`` (with overrides) where the parameter says; returns the environment for a subprocess.

    ``secrets_dir``: each secret setting is a file in ``SECRETS_DIR`` (as Kubernetes mounts them), the rest the environment.
    """
    source = request.param

    def apply(**overrides: str) -> dict[str, str]:
        settings = {**SETTINGS, **overrides}
        if source == "secrets_dir":
            folder = clean_env / "secrets"
            folder.mkdir(exist_ok=True)
            for name in secret_setting_names():
                if name in settings:
                    (folder / name).write_text(settings.pop(name) + "\n", encoding="utf-8")
                    (folder / name).chmod(0o400)
            settings["SECRETS_DIR"] = str(folder)
        if source in ("environment", "secrets_dir"):
            for name, value in settings.items():
                monkeypatch.setenv(name, value)
        else:
            path = clean_env / (".env" if source == "dotenv" else "config/secrets.env")
            path.parent.mkdir(exist_ok=True)
            path.write_text("".join(f"{name}='{value}'\n" for name, value in settings.items()), encoding="utf-8")
            if source == "env_file":
                monkeypatch.setenv("ENV_FILE", "config/secrets.env")
        InfrastructureService.reset()
        return dict(os.environ)

    return apply


# --- repr and str of the configuration ---------------------------------------------------------


def test_repr_and_str_of_the_configuration_show_no_secret(configure: Configure) -> None:
    configure()

    config = InfrastructureService.get_config()

    # The secrets really were loaded, so hiding them is a real achievement.
    assert config.llm_config.api_key is not None and config.llm_config.api_key.reveal() == OPENAI_KEY
    assert [(f.provider, f.api_key.reveal()) for f in config.llm_fallbacks if f.api_key] == [("azure", AZURE_KEY), ("anthropic", ANTHROPIC_KEY)]
    assert config.database.url == DATABASE_URL
    assert config.database.replica_urls == tuple(url.replace("postgresql:", "postgresql+psycopg2:", 1) for url in REPLICA_URLS)
    assert config.cache.redis_url == REDIS_URL
    assert config.messaging.rabbitmq_urls == RABBITMQ_URLS
    assert config.llm_config.base_url == OPENAI_BASE_URL
    nested = [
        config,
        config.database,
        config.llm_config,
        config.llm_config.api_key,
        *config.llm_fallbacks,
        *(f.api_key for f in config.llm_fallbacks),
        config.api_config,
        config.cache,
        config.messaging,
        config.logging,
    ]
    shown = "\n".join(render(obj) for obj in nested for render in (repr, str, "{}".format, pprint.pformat))
    assert_no_secret(shown, "repr/str of the configuration")
    assert all(marker in shown for marker in URL_MARKERS)
    assert f"postgresql+psycopg2://app:{MASK}@127.0.0.1:1/app_primary" in shown


# --- the start-up report ------------------------------------------------------------------------


def test_the_start_up_report_shows_no_secret(configure: Configure) -> None:
    configure()

    status = InfrastructureService.validate_environment(timeout=5)

    assert list(status.checks) == COMPONENTS
    assert status.checks["config"].status == "ok", status.errors
    shown = "\n".join([json.dumps(status.to_dict()), repr(status), *(repr(check) for check in status)])
    assert_no_secret(shown, "the start-up report")


@pytest.mark.parametrize("output", ["text", "json"])
def test_the_validate_environment_script_shows_no_secret(configure: Configure, clean_env: Path, output: str) -> None:
    env = configure()

    result = run_script(clean_env, env, *(["--json"] if output == "json" else []))

    assert result.returncode in (0, 1), result.stdout + result.stderr  # 1: the services are unreachable
    if output == "json":
        assert list(json.loads(result.stdout)["checks"]) == COMPONENTS
    else:
        assert [line.split()[0] for line in result.stdout.splitlines()[1:7]] == COMPONENTS, result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert_no_secret(result.stdout, f"the script's {output} report")
    assert_no_secret(result.stderr or "-", "the script's stderr")


# --- a raised ConfigurationError ----------------------------------------------------------------


def test_a_configuration_error_shows_no_secret(configure: Configure) -> None:
    configure(**MALFORMED)

    with pytest.raises(ConfigurationError) as raised:
        InfrastructureService.get_config()

    error = raised.value
    message = str(error)
    assert all(name in message for name in MALFORMED), message
    assert f"redis://cacheuser:{MASK}@127.0.0.1:badport" in message
    shown = "\n".join(
        [message, repr(error), *error.problems, *map(str, error.args), *traceback.format_exception(error)]
    )
    assert_no_secret(shown, "the ConfigurationError")


def test_the_report_of_a_malformed_configuration_shows_no_secret(configure: Configure) -> None:
    configure(**MALFORMED)

    status = InfrastructureService.validate_environment(timeout=5)

    assert not status.is_valid
    assert any("DB_POOL_SIZE" in error for error in status.errors)
    assert any("REDIS_URL" in error for error in status.errors)
    assert_no_secret(json.dumps(status.to_dict()) + repr(status), "the report of a malformed configuration")


@pytest.mark.parametrize("output", ["text", "json"])
def test_the_script_on_a_malformed_configuration_shows_no_secret(
    configure: Configure, clean_env: Path, output: str
) -> None:
    env = configure(**MALFORMED)

    result = run_script(clean_env, env, *(["--json"] if output == "json" else []))

    assert result.returncode == 1, result.stdout + result.stderr
    assert "DB_POOL_SIZE" in result.stdout and "REDIS_URL" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert_no_secret(result.stdout + result.stderr, f"the script's {output} report of a malformed configuration")


def test_a_dotenv_file_with_secrets_and_a_malformed_line_shows_no_secret(clean_env: Path) -> None:
    lines = [f"{name}='{value}'" for name, value in SETTINGS.items()]
    lines.insert(3, f"OPENAI_API_KEY {OPENAI_KEY}")  # no '=': not a setting
    (clean_env / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")

    status = InfrastructureService.validate_environment(timeout=5)
    result = run_script(clean_env, dict(os.environ))

    assert not status.is_valid
    assert any("line 4" in error for error in status.errors), status.errors
    assert result.returncode == 1 and "line 4" in result.stdout
    assert "Traceback" not in result.stderr
    assert_no_secret(json.dumps(status.to_dict()) + result.stdout + result.stderr, "the report of a malformed .env")


# --- DEBUG log records --------------------------------------------------------------------------


def emit_records_full_of_secrets(config: object) -> int:
    """Logs the secrets every way an application might; returns how many records were logged."""
    log = logging.getLogger("modules.content_creation.service")
    log.debug(f"calling the LLM with key {OPENAI_KEY} through {OPENAI_BASE_URL}")
    log.debug("connecting to %s, replicas %s", DATABASE_URL, REPLICA_URLS)
    log.debug("broker %r, cache %s, smtp %s, payments %s", RABBITMQ_URLS, REDIS_URL, SMTP_PASSWORD, PAYMENTS_TOKEN)
    log.debug(
        "outgoing request",
        extra={
            "api_key": AZURE_KEY,
            "dsn": DATABASE_URL,
            "headers": {"Authorization": f"Bearer {OPENAI_KEY}", "api-key": AZURE_KEY},
            "brokers": list(RABBITMQ_URLS),
            "endpoint": AZURE_ENDPOINT,
        },
    )
    log.debug("configuration %r and settings %s", config, SETTINGS)
    log.debug(f"Authorization: Bearer {OPENAI_KEY}")
    try:
        try:
            raise ConnectionError(f"redis refused {REDIS_URL} (password {REDIS_PASSWORD})")
        except ConnectionError as exc:
            raise RuntimeError(f"LLM call with key {OPENAI_KEY} and {AZURE_KEY} failed") from exc
    except RuntimeError:
        log.exception("provider call failed for %s", PAYMENTS_TOKEN)
        log.debug("the same, at DEBUG", exc_info=True)
    return 8


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_debug_log_records_show_no_secret(configure: Configure, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    configure(LOG_FORMAT=fmt)
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)

    with bare_root() as root:
        config = InfrastructureService.get_config()  # sets up logging from LOG_LEVEL/LOG_FORMAT, onto stderr
        assert root.level == logging.DEBUG
        assert len(root.handlers) == 1
        count = emit_records_full_of_secrets(config)

    output = stderr.getvalue()
    for expected in ("calling the LLM with key", "connecting to", "outgoing request", "provider call failed"):
        assert expected in output
    assert "RuntimeError: LLM call with key" in output and "ConnectionError: redis refused" in output
    assert all(marker in output for marker in URL_MARKERS)
    assert output.count(MASK) >= 20
    if fmt == "json":
        entries = [json.loads(line) for line in output.splitlines()]
        assert len(entries) == count
        assert entries[3]["headers"]["Authorization"] == f"Bearer {MASK}"
        assert all(entry["level"] in ("DEBUG", "ERROR") for entry in entries)
    else:
        assert "headers=" in output and "brokers=" in output
    assert_no_secret(output, f"DEBUG log records ({fmt})")


# --- known leaks --------------------------------------------------------------------------------


def test_a_url_password_containing_an_at_sign_is_hidden_everywhere(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://app:Pa@ss-{MARK}-db@127.0.0.1:1/app")
    monkeypatch.setenv("REDIS_URL", f"redis://cacheuser:Pa@ss-{MARK}-redis@127.0.0.1:1/0")
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)

    with bare_root():
        config = InfrastructureService.get_config()
        logging.getLogger("tests.leak").warning("database %r", config.database)
    report = json.dumps(InfrastructureService.validate_environment(timeout=5).to_dict())

    assert config.database.url.startswith("postgresql+psycopg2://app:Pa%40ss-")  # SQLAlchemy reads the whole password
    assert "database DatabaseConfig(" in stderr.getvalue()
    assert MARK not in repr(config), "repr"
    assert MARK not in stderr.getvalue(), "log"
    assert MARK not in report, "report"


def test_a_malformed_url_whose_password_contains_a_slash_is_hidden(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://app:Zm9v/{MARK}+base64=@127.0.0.1:6379")

    with pytest.raises(ConfigurationError) as raised:
        InfrastructureService.get_config()

    assert "REDIS_URL" in str(raised.value)
    assert MARK not in str(raised.value)
