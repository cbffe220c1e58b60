"""DATABASE_URL and REDIS_URL made from DB_* and REDIS_* parts reach the real servers, the password read from a file."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import InfrastructureService
from tests.secret_volumes import kubernetes_volume

PASSWORD = "p@ss/w:rd#?% part"  # the local servers trust 127.0.0.1: the password only has to survive the URL


def test_db_parts_with_a_password_from_secrets_dir_open_a_postgresql_session(
    postgres_url: str, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = urlsplit(postgres_url)
    folder = kubernetes_volume(clean_env / "secrets", {"DB_PASSWORD": PASSWORD, "DB_USER": server.username or "postgres"})
    for name, value in {"SECRETS_DIR": str(folder), "DB_HOST": server.hostname or "", "DB_PORT": str(server.port or 5432),
                        "DB_NAME": server.path.lstrip("/"), "LLM_PROVIDER": "local"}.items():
        monkeypatch.setenv(name, value)
    InfrastructureService.reset()
    with InfrastructureService.get_database_session() as db:
        assert db.execute(text("SELECT current_database()")).scalar_one() == server.path.lstrip("/")


def test_redis_parts_reach_the_redis_server(redis_url: str, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = urlsplit(redis_url)
    for name, value in {"REDIS_HOST": server.hostname or "", "REDIS_PORT": str(server.port or 6379), "REDIS_DB": "0", "LLM_PROVIDER": "local"}.items():
        monkeypatch.setenv(name, value)
    InfrastructureService.reset()
    cache = InfrastructureService.get_cache(f"parts-{uuid.uuid4().hex}", strict=True)
    try:
        cache.set("k", "v")
        assert cache.get("k") == "v"
    finally:
        cache.invalidate_pattern("*")
