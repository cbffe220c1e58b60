"""Settings read from files: ``<NAME>_FILE`` and ``SECRETS_DIR``, with real files in a scratch folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modules.infrastructure.domain.config.module_settings import ModuleSettings, setting
from modules.infrastructure.domain.config.parsers import integer, text
from modules.infrastructure.domain.config.settings import secret_setting_names
from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.infrastructure.config.environment_loader import EnvironmentLoader
from modules.infrastructure.infrastructure.config.secret_files import MAX_SECRET_BYTES, with_secret_files
from tests.secret_volumes import kubernetes_volume, secret_file

OPENAI_KEY = "sk-from-a-file-0123456789"
DB_PASSWORD = "p@ss/w:rd#from-file"



def problems(environ: dict[str, str]) -> tuple[str, ...]:
    """The problems ``with_secret_files`` raises for ``environ`` (fails the test if it raises none)."""
    with pytest.raises(ConfigurationError) as caught:
        with_secret_files(environ)
    return caught.value.problems


# --- <NAME>_FILE ---------------------------------------------------------------------------------


def test_every_secret_setting_can_be_given_as_a_file(tmp_path: Path) -> None:
    names = secret_setting_names()
    assert {"DATABASE_URL", "REDIS_URL", "RABBITMQ_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AZURE_OPENAI_API_KEY",
            "STORAGE_URL_SECRET", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "REDIS_PASSWORD"} <= set(names)
    environ = {f"{name}_FILE": str(secret_file(tmp_path / name, f"value-of-{name}\n")) for name in names}
    resolved = with_secret_files(environ)
    assert {name: resolved[name] for name in names} == {name: f"value-of-{name}" for name in names}


def test_a_file_s_value_is_what_the_parsers_see(tmp_path: Path) -> None:
    path = secret_file(tmp_path / "key", "  sk-spaced  \n\n")
    assert with_secret_files({"OPENAI_API_KEY_FILE": str(path)})["OPENAI_API_KEY"] == "sk-spaced"
    secret_file(path, "sk-crlf\r\n")
    assert with_secret_files({"OPENAI_API_KEY_FILE": str(path)})["OPENAI_API_KEY"] == "sk-crlf"
    secret_file(path, "sk-no-newline")
    assert with_secret_files({"OPENAI_API_KEY_FILE": str(path)})["OPENAI_API_KEY"] == "sk-no-newline"
    secret_file(path, "line1\nline2\n")
    assert with_secret_files({"OPENAI_API_KEY_FILE": str(path)})["OPENAI_API_KEY"] == "line1\nline2"


def test_a_leading_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    path = secret_file(tmp_path / "key", b"\xef\xbb\xbf" + OPENAI_KEY.encode() + b"\r\n")
    assert with_secret_files({"OPENAI_API_KEY_FILE": str(path)})["OPENAI_API_KEY"] == OPENAI_KEY


@pytest.mark.parametrize("content", [f"{OPENAI_KEY}\n\n", f"{OPENAI_KEY}  \n", f"\ufeff{OPENAI_KEY}\n"])
def test_a_file_equal_to_the_variable_once_stripped_agrees_with_it(tmp_path: Path, content: str) -> None:
    path = secret_file(tmp_path / "key", content)
    assert with_secret_files({"OPENAI_API_KEY": OPENAI_KEY, "OPENAI_API_KEY_FILE": str(path)})["OPENAI_API_KEY"] == OPENAI_KEY


def test_the_variable_itself_wins_over_an_equal_file(tmp_path: Path) -> None:
    path = secret_file(tmp_path / "key", f"{OPENAI_KEY}\n")
    assert with_secret_files({"OPENAI_API_KEY": OPENAI_KEY, "OPENAI_API_KEY_FILE": str(path)})["OPENAI_API_KEY"] == OPENAI_KEY


def test_the_variable_and_a_different_file_is_an_error_naming_both(tmp_path: Path) -> None:
    path = secret_file(tmp_path / "key", "sk-other-value-999")
    [problem] = problems({"OPENAI_API_KEY": OPENAI_KEY, "OPENAI_API_KEY_FILE": str(path)})
    assert "OPENAI_API_KEY and OPENAI_API_KEY_FILE are both set and differ" in problem
    assert OPENAI_KEY not in problem and "sk-other-value-999" not in problem


def test_an_empty_variable_counts_as_unset_beside_its_file(tmp_path: Path) -> None:
    path = secret_file(tmp_path / "key", OPENAI_KEY)
    assert with_secret_files({"OPENAI_API_KEY": " ", "OPENAI_API_KEY_FILE": str(path)})["OPENAI_API_KEY"] == OPENAI_KEY


def test_a_symbolic_link_to_the_file_is_followed(tmp_path: Path) -> None:
    target = secret_file(tmp_path / "real" / "key", OPENAI_KEY)
    link = tmp_path / "link"
    link.symlink_to(target)
    assert with_secret_files({"OPENAI_API_KEY_FILE": str(link)})["OPENAI_API_KEY"] == OPENAI_KEY


BAD_FILES = [
    ("missing", lambda d: str(d / "nope"), "does not exist"),
    ("folder", lambda d: str(d), "is a folder, not a file"),
    ("relative", lambda d: "secrets/key", "is a relative path"),
    ("empty", lambda d: str(secret_file(d / "empty", "")), "is empty"),
    ("newline only", lambda d: str(secret_file(d / "nl", "\n")), "is empty"),
    ("blank", lambda d: str(secret_file(d / "blank", "   \n")), "is empty"),
    ("not utf-8", lambda d: str(secret_file(d / "bin", b"\xff\xfe-secret-bytes")), "is not UTF-8 text"),
    ("too large", lambda d: str(secret_file(d / "big", "x" * (MAX_SECRET_BYTES + 1))), "is larger than 64 KiB"),
    ("not a regular file", lambda d: "/dev/null", "is not a regular file"),
    ("dangling link", lambda d: _dangling(d), "does not exist"),
]


def _dangling(folder: Path) -> str:
    link = folder / "dangling"
    link.symlink_to(folder / "gone")
    return str(link)


@pytest.mark.parametrize(("case", "path_of", "problem"), BAD_FILES, ids=[case for case, _, _ in BAD_FILES])
@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "DATABASE_URL", "DB_PASSWORD"])
def test_a_bad_file_is_an_error_naming_the_variable_and_not_the_content(
    tmp_path: Path, name: str, case: str, path_of: object, problem: str
) -> None:
    named = path_of(tmp_path)  # type: ignore[operator]
    [found] = problems({f"{name}_FILE": named})
    assert found.startswith(f"{name}_FILE={named!r} {problem}")
    assert "secret-bytes" not in found and "xxxx" not in found


def test_an_unreadable_file_is_an_error(tmp_path: Path) -> None:
    path = secret_file(tmp_path / "key", OPENAI_KEY, mode=0o000)
    if os.access(path, os.R_OK):  # root reads any file by its rights: a file whose read fails instead
        path = Path("/proc/self/mem")
    [problem] = problems({"OPENAI_API_KEY_FILE": str(path)})
    assert problem.startswith(f"OPENAI_API_KEY_FILE={str(path)!r} cannot be read (")
    assert problem.endswith("; check the path and the file's permissions")
    assert OPENAI_KEY not in problem


def test_every_bad_file_is_listed_in_one_error(tmp_path: Path) -> None:
    found = problems({"OPENAI_API_KEY_FILE": "rel", "ANTHROPIC_API_KEY_FILE": str(tmp_path / "missing")})
    assert [p.split("=")[0] for p in found] == ["OPENAI_API_KEY_FILE", "ANTHROPIC_API_KEY_FILE"]


def test_in_production_a_world_readable_file_is_refused(tmp_path: Path) -> None:
    path = secret_file(tmp_path / "key", OPENAI_KEY, mode=0o644)
    [problem] = problems({"APP_ENV": "production", "OPENAI_API_KEY_FILE": str(path)})
    assert "OPENAI_API_KEY_FILE" in problem and "world-readable" in problem and OPENAI_KEY not in problem


def test_outside_production_a_world_readable_file_is_read(tmp_path: Path) -> None:
    path = secret_file(tmp_path / "key", OPENAI_KEY, mode=0o644)
    assert with_secret_files({"APP_ENV": "staging", "OPENAI_API_KEY_FILE": str(path)})["OPENAI_API_KEY"] == OPENAI_KEY


def test_in_production_a_file_readable_by_its_group_is_read(tmp_path: Path) -> None:
    path = secret_file(tmp_path / "key", OPENAI_KEY, mode=0o440)
    assert with_secret_files({"APP_ENV": "production", "OPENAI_API_KEY_FILE": str(path)})["OPENAI_API_KEY"] == OPENAI_KEY


def test_the_lenient_read_skips_a_bad_file_and_keeps_the_good_ones(tmp_path: Path) -> None:
    good = secret_file(tmp_path / "good", OPENAI_KEY)
    resolved = with_secret_files({"OPENAI_API_KEY_FILE": str(good), "ANTHROPIC_API_KEY_FILE": "rel"}, strict=False)
    assert resolved["OPENAI_API_KEY"] == OPENAI_KEY and "ANTHROPIC_API_KEY" not in resolved


# --- SECRETS_DIR ---------------------------------------------------------------------------------


def test_a_kubernetes_secret_volume_is_read_through_its_links(tmp_path: Path) -> None:
    folder = kubernetes_volume(tmp_path / "secrets", {"OPENAI_API_KEY": f"{OPENAI_KEY}\n", "DB_PASSWORD": DB_PASSWORD})
    resolved = with_secret_files({"APP_ENV": "production", "SECRETS_DIR": str(folder)})
    assert resolved["OPENAI_API_KEY"] == OPENAI_KEY and resolved["DB_PASSWORD"] == DB_PASSWORD


def test_the_variable_and_its_file_both_win_over_secrets_dir(tmp_path: Path) -> None:
    folder = kubernetes_volume(tmp_path / "secrets", {"OPENAI_API_KEY": "from-dir-1", "ANTHROPIC_API_KEY": "from-dir-2"})
    key_file = secret_file(tmp_path / "anthropic", "from-file-2")
    resolved = with_secret_files(
        {"SECRETS_DIR": str(folder), "OPENAI_API_KEY": "from-variable-1", "ANTHROPIC_API_KEY_FILE": str(key_file)}
    )
    assert resolved["OPENAI_API_KEY"] == "from-variable-1" and resolved["ANTHROPIC_API_KEY"] == "from-file-2"


def test_a_known_setting_that_is_no_secret_is_read_from_secrets_dir_and_other_files_are_ignored(tmp_path: Path) -> None:
    folder = kubernetes_volume(tmp_path / "secrets", {"DB_HOST": "db.internal", "DB_USER": "app", "unrelated-key": "x", "ENV_FILE": "/x"})
    resolved = with_secret_files({"SECRETS_DIR": str(folder)})
    assert resolved["DB_HOST"] == "db.internal" and resolved["DB_USER"] == "app"
    assert "unrelated-key" not in resolved and "ENV_FILE" not in resolved


@pytest.mark.parametrize(
    ("folder_of", "problem"),
    [
        (lambda d: str(d / "missing"), "is not a folder (missing, or a file)"),
        (lambda d: str(secret_file(d / "a-file", "x")), "is not a folder (missing, or a file)"),
        (lambda d: "run/secrets", "is a relative path"),
    ],
    ids=["missing", "a file", "relative"],
)
def test_a_bad_secrets_dir_is_an_error_naming_it(tmp_path: Path, folder_of: object, problem: str) -> None:
    folder = folder_of(tmp_path)  # type: ignore[operator]
    assert problems({"SECRETS_DIR": folder}) == (f"SECRETS_DIR={folder!r} {problem}" + problem_tail(problem),)


def problem_tail(problem: str) -> str:
    return "; give the folder's absolute path" if "relative" in problem else "; mount the secrets there or unset SECRETS_DIR"


def test_a_bad_file_in_secrets_dir_names_the_variable_and_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    secret_file(folder / "OPENAI_API_KEY", "")
    (folder / "ANTHROPIC_API_KEY").mkdir()
    found = problems({"SECRETS_DIR": str(folder)})
    assert sorted(found) == sorted([
        f"SECRETS_DIR file OPENAI_API_KEY ({str(folder / 'OPENAI_API_KEY')!r}) is empty; write the value into it",
        f"SECRETS_DIR file ANTHROPIC_API_KEY ({str(folder / 'ANTHROPIC_API_KEY')!r}) is a folder, not a file; name the file that holds the value",
    ])


def test_in_production_a_world_readable_secrets_dir_file_is_refused(tmp_path: Path) -> None:
    folder = kubernetes_volume(tmp_path / "secrets", {"OPENAI_API_KEY": OPENAI_KEY}, mode=0o644)  # Kubernetes' defaultMode
    [problem] = problems({"APP_ENV": "production", "SECRETS_DIR": str(folder)})
    assert "OPENAI_API_KEY" in problem and "world-readable" in problem and "defaultMode 0440" in problem


# --- through the loader --------------------------------------------------------------------------


def test_the_loader_reads_file_settings_named_in_the_dotenv_file(workdir: Path) -> None:
    key = secret_file(workdir / "run" / "openai", f"{OPENAI_KEY}\n")
    (workdir / ".env").write_text(f"OPENAI_API_KEY_FILE={key}\n")
    config = EnvironmentLoader(environ={}).load_config()
    assert config.llm_config.provider == "openai"
    assert config.llm_config.api_key is not None and config.llm_config.api_key.reveal() == OPENAI_KEY


def test_the_redactor_knows_the_values_read_from_files(workdir: Path) -> None:
    folder = kubernetes_volume(workdir / "secrets", {"DB_PASSWORD": DB_PASSWORD, "OPENAI_API_KEY": OPENAI_KEY})
    loader = EnvironmentLoader(environ={"SECRETS_DIR": str(folder), "DB_HOST": "db", "DB_USER": "app"})
    redact = loader.redactor().redact
    url = loader.load_config().database.url
    text = f"key {OPENAI_KEY}, password {DB_PASSWORD}, url {url}, {url.replace('@db', ' at db')}"
    assert OPENAI_KEY not in redact(text) and DB_PASSWORD not in redact(text)
    assert "p%40ss%2Fw%3Ard%23from-file" in url and "p%40ss%2Fw%3Ard%23from-file" not in redact(text)


def test_the_redactor_knows_the_good_files_when_another_is_bad(workdir: Path) -> None:
    good = secret_file(workdir / "good", OPENAI_KEY)
    loader = EnvironmentLoader(environ={"OPENAI_API_KEY_FILE": str(good), "ANTHROPIC_API_KEY_FILE": "relative"})
    with pytest.raises(ConfigurationError) as caught:
        loader.load_config()
    assert "ANTHROPIC_API_KEY_FILE='relative' is a relative path" in str(caught.value)
    assert loader.redactor().redact(f"x {OPENAI_KEY} y") == "x **** y"


# --- the sibling modules' settings ---------------------------------------------------------------

BILLING = ModuleSettings(
    "billing",
    setting("BILLING_API_KEY", text, description="Payment provider key"),
    setting("BILLING_RETRIES", integer(0, 10), default=3, description="Retries"),
)


def test_a_module_s_secret_setting_can_be_given_as_a_file(tmp_path: Path) -> None:
    path = secret_file(tmp_path / "billing", "bk-from-file\n")
    assert with_secret_files({"BILLING_API_KEY_FILE": str(path)}, modules=[BILLING])["BILLING_API_KEY"] == "bk-from-file"
    assert "BILLING_API_KEY" not in with_secret_files({"BILLING_API_KEY_FILE": str(path)})


def test_a_module_s_settings_are_read_from_secrets_dir(tmp_path: Path) -> None:
    folder = kubernetes_volume(tmp_path / "secrets", {"BILLING_API_KEY": "bk-mounted", "BILLING_RETRIES": "5"})
    resolved = with_secret_files({"SECRETS_DIR": str(folder)}, modules=[BILLING])
    assert (resolved["BILLING_API_KEY"], resolved["BILLING_RETRIES"]) == ("bk-mounted", "5")


def test_a_module_s_secret_file_has_the_same_checks(tmp_path: Path) -> None:
    path = secret_file(tmp_path / "billing", "bk-from-file", mode=0o644)
    for environ, problem in [
        ({"APP_ENV": "production"}, f"BILLING_API_KEY_FILE={str(path)!r} is world-readable, refused when APP_ENV=production"),
        ({"BILLING_API_KEY": "other"}, "BILLING_API_KEY and BILLING_API_KEY_FILE are both set and differ; keep one of them"),
    ]:
        with pytest.raises(ConfigurationError) as caught:
            with_secret_files({"BILLING_API_KEY_FILE": str(path), **environ}, modules=[BILLING])
        assert caught.value.problems[0].startswith(problem) and "bk-from-file" not in str(caught.value)
