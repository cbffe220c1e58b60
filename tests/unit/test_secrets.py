"""Recognising and masking secrets: ``Redactor``, ``mask_url``, ``is_secret_name``, ``secrets_in_environment``."""

from __future__ import annotations

import pytest

from modules.infrastructure.domain.secrets import (
    MASK,
    Redactor,
    is_secret_name,
    mask_url,
    secrets_in_environment,
)

# --- is_secret_name ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "OPENAI_API_KEY",
        "AZURE_OPENAI_API_KEY",
        "openai_api_key",
        "Stripe_Api_Key",
        "SSH_KEY",
        "GITHUB_TOKEN",
        "SMTP_PASSWORD",
        "DJANGO_SECRET",
    ],
)
def test_credential_names_are_secret(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "DATABASE_URL",
        "REDIS_URL",
        "LOG_LEVEL",
        "OPENAI_MODEL",
        "AZURE_OPENAI_ENDPOINT",
        "LLM_TPM_LIMIT",
        "TOKEN_COUNT",
        "MONKEY",
        "KEYBOARD_LAYOUT",
        "PASSWORD_MIN_LENGTH",
    ],
)
def test_ordinary_names_are_not_secret(name: str) -> None:
    assert not is_secret_name(name)


# --- mask_url ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://app:hunter22@db:5432/app", f"postgresql://app:{MASK}@db:5432/app"),
        ("postgresql+psycopg2://app:hunter22@db/app", f"postgresql+psycopg2://app:{MASK}@db/app"),
        ("redis://:r3dis-pw@cache:6379/0", f"redis://:{MASK}@cache:6379/0"),
        ("amqps://guest:guest-pw@[::1]:5671/%2F", f"amqps://guest:{MASK}@[::1]:5671/%2F"),
        ("https://proxy:pa-ss:word@llm.internal/v1", f"https://proxy:{MASK}@llm.internal/v1"),
        (
            "amqp://a:first-pw@mq1:5672,amqp://b:second-pw@mq2:5672",
            f"amqp://a:{MASK}@mq1:5672,amqp://b:{MASK}@mq2:5672",
        ),
        ("could not connect to redis://u:s3cret@h:6379 (refused)", f"could not connect to redis://u:{MASK}@h:6379 (refused)"),
    ],
)
def test_mask_url_replaces_the_password_only(url: str, masked: str) -> None:
    assert mask_url(url) == masked


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///var/app.db",
        "sqlite://",
        "amqp://guest@mq:5672/%2F",
        "http://127.0.0.1:8080/v1",
        "https://api.openai.com/v1/chat/completions?x=1",
        "redis://cache:6379/0",
        "no url here: just text",
    ],
)
def test_mask_url_leaves_urls_without_a_password_unchanged(url: str) -> None:
    assert mask_url(url) == url


def test_mask_url_masks_a_password_that_contains_an_at_sign() -> None:
    masked = mask_url("postgresql://app:Pa@ss-tail-7731@db.internal:5432/app")

    assert "tail-7731" not in masked
    assert masked.endswith("@db.internal:5432/app")


# --- Redactor ---------------------------------------------------------------------------------


def test_redactor_masks_every_occurrence_of_a_known_secret() -> None:
    redactor = Redactor(["sk-live-4242abcd"])

    text = redactor.redact("key=sk-live-4242abcd; again sk-live-4242abcd.")

    assert text == f"key={MASK}; again {MASK}."


def test_redactor_masks_several_known_secrets() -> None:
    redactor = Redactor(["first-secret-1", "second-secret-2"])

    assert redactor.redact("a first-secret-1 b second-secret-2 c") == f"a {MASK} b {MASK} c"


def test_redactor_leaves_text_without_secrets_unchanged() -> None:
    text = "Connected to db.internal:5432 as app in 12 ms"

    assert Redactor(["sk-live-4242abcd"]).redact(text) == text


@pytest.mark.parametrize("order", [["abcd", "abcdefgh-long"], ["abcdefgh-long", "abcd"]])
def test_redactor_masks_a_longer_secret_whole_before_a_shorter_one_it_contains(order: list[str]) -> None:
    redactor = Redactor(order)

    assert redactor.redact("x abcdefgh-long y abcd z") == f"x {MASK} y {MASK} z"


def test_secrets_added_later_are_masked_longest_first_too() -> None:
    redactor = Redactor(["abcd"])
    redactor.add(["abcdefgh-long"])

    assert redactor.redact("[abcdefgh-long]") == f"[{MASK}]"


@pytest.mark.parametrize("short", ["", "a", "ab", "abc"])
def test_redactor_ignores_values_shorter_than_four_characters(short: str) -> None:
    text = "abc cabbage a b"

    assert Redactor([short]).redact(text) == text


def test_redactor_masks_a_value_of_exactly_four_characters() -> None:
    assert Redactor(["q9z!"]).redact("pw=q9z! end") == f"pw={MASK} end"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dsn=postgresql://app:hunter22@db/app", f"dsn=postgresql://app:{MASK}@db/app"),
        ("redis://:pw-12345@cache:6379", f"redis://:{MASK}@cache:6379"),
        ("brokers amqp://u:p1-xyz@mq1,amqp://u:p2-xyz@mq2", f"brokers amqp://u:{MASK}@mq1,amqp://u:{MASK}@mq2"),
    ],
)
def test_redactor_masks_url_passwords_it_was_not_told_about(text: str, expected: str) -> None:
    assert Redactor().redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", f"Authorization: Bearer {MASK}"),
        ("authorization: bearer sk-abc123", f"authorization: bearer {MASK}"),
        ("AUTHORIZATION=Bearer sk-abc123", f"AUTHORIZATION=Bearer {MASK}"),
        ("api-key: 0123456789abcdef", f"api-key: {MASK}"),
        ("Api-Key: 0123456789abcdef", f"Api-Key: {MASK}"),
        ("x-api-key: 0123456789abcdef", f"x-api-key: {MASK}"),
        ('{"api_key": "sk-abc123", "model": "gpt"}', f'{{"api_key": "{MASK}", "model": "gpt"}}'),
        ("headers={'api-key': 'az-0123456789'}", f"headers={{'api-key': '{MASK}'}}"),
    ],
)
def test_redactor_masks_credential_header_patterns(text: str, expected: str) -> None:
    assert Redactor().redact(text) == expected


@pytest.mark.parametrize("scheme", ["Basic", "Token", "Digest"])
def test_redactor_masks_authorization_headers_with_other_schemes(scheme: str) -> None:
    redacted = Redactor().redact(f"Authorization: {scheme} dXNlcjpwYXNzd29yZA==")

    assert "dXNlcjpwYXNzd29yZA" not in redacted


def test_redactor_combines_known_secrets_urls_and_headers() -> None:
    redactor = Redactor(["sk-known-99887766"])
    text = "key sk-known-99887766 url redis://u:other-pw@h Authorization: Bearer tok-55 done"

    redacted = redactor.redact(text)

    assert redacted == f"key {MASK} url redis://u:{MASK}@h Authorization: Bearer {MASK} done"


# --- secrets_in_environment -------------------------------------------------------------------


def test_secret_named_variables_are_secrets() -> None:
    environ = {
        "OPENAI_API_KEY": "sk-openai-1",
        "AZURE_OPENAI_API_KEY": "az-key-2",
        "GITHUB_TOKEN": "ghp-3",
        "SMTP_PASSWORD": "smtp-4",
        "LOG_LEVEL": "DEBUG",
        "OPENAI_MODEL": "gpt-4o-mini",
    }

    assert secrets_in_environment(environ) == {"sk-openai-1", "az-key-2", "ghp-3", "smtp-4"}


def test_secret_values_are_stripped_and_blank_ones_ignored() -> None:
    environ = {"OPENAI_API_KEY": "  sk-padded  ", "GITHUB_TOKEN": "   ", "SMTP_PASSWORD": ""}

    assert secrets_in_environment(environ) == {"sk-padded"}


def test_url_passwords_are_secrets() -> None:
    environ = {
        "DATABASE_URL": "postgresql://app:db-pw-1@db:5432/app",
        "REDIS_URL": "redis://:redis-pw-2@cache:6379/0",
        "OPENAI_BASE_URL": "https://proxy:proxy-pw-3@llm.internal/v1",
    }

    assert secrets_in_environment(environ) == {"db-pw-1", "redis-pw-2", "proxy-pw-3"}


def test_url_passwords_inside_comma_separated_lists_are_secrets() -> None:
    environ = {
        "RABBITMQ_URL": "amqp://u:mq-pw-1@mq1:5672/%2F,amqp://u:mq-pw-2@mq2:5672/%2F",
        "DATABASE_REPLICA_URLS": "postgresql://ro:replica-pw-1@r1/app , postgresql://ro:replica-pw-2@r2/app",
    }

    assert secrets_in_environment(environ) == {"mq-pw-1", "mq-pw-2", "replica-pw-1", "replica-pw-2"}


def test_a_malformed_url_still_yields_its_password() -> None:
    assert secrets_in_environment({"REDIS_URL": "redis://u:redis-pw-9@h:badport"}) == {"redis-pw-9"}


def test_values_without_credentials_are_not_secrets() -> None:
    environ = {
        "DATABASE_URL": "sqlite:///var/app.db",
        "REDIS_URL": "redis://cache:6379/0",
        "RABBITMQ_URL": "amqp://guest@mq:5672/%2F",
        "OPENAI_BASE_URL": "http://127.0.0.1:8080/v1",
        "LOG_LEVEL": "DEBUG",
        "HOME": "/root",
    }

    assert secrets_in_environment(environ) == set()


def test_a_redactor_built_from_the_environment_masks_its_secrets() -> None:
    environ = {"OPENAI_API_KEY": "sk-from-env-1234", "RABBITMQ_URL": "amqp://u:mq-pw-5678@mq1,amqp://u:mq-pw-9012@mq2"}
    redactor = Redactor(secrets_in_environment(environ))

    redacted = redactor.redact("sk-from-env-1234 then mq-pw-5678 and mq-pw-9012 seen without their URLs")

    assert redacted == f"{MASK} then {MASK} and {MASK} seen without their URLs"


def test_a_password_in_the_query_string_is_masked_and_known() -> None:
    url = "postgresql://db/app?sslmode=require&password=QueryPw-123&user=app"
    assert mask_url(url) == "postgresql://db/app?sslmode=require&password=****&user=app"
    assert "QueryPw-123" in secrets_in_environment({"DATABASE_URL": url})
