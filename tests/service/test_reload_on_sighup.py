"""SIGHUP rereads the configuration of a running script: its .env edited, the script told, the script
going on whether the new configuration is taken or refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import TESTS

SCRIPT = TESTS.parent / "scripts" / "metrics_server.py"


def test_sighup_applies_an_edited_env_file_and_a_refused_one_keeps_the_script_serving(clean_env: Path) -> None:
    env_file = clean_env / ".env"
    env_file.write_text(f"DATABASE_URL=sqlite:///{clean_env / 'app.db'}\nLOG_LEVEL=INFO\n")
    environment = {name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "LOG_LEVEL")}
    server = subprocess.Popen([sys.executable, str(SCRIPT), "--port", "0"], cwd=clean_env, env={**environment, "PYTHONUNBUFFERED": "1"},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline() if server.stdout else ""
        url = line.split()[3]
        urllib.request.urlopen(url, timeout=30).close()  # the configuration is read: the process runs on it
        env_file.write_text(env_file.read_text().replace("LOG_LEVEL=INFO", "LOG_LEVEL=WARNING") + "FEATURE_FLAG_NEW_UI=true\nCACHE_MAX_ITEMS=7\n")
        server.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        env_file.write_text(env_file.read_text() + "DB_POOL_SIZE=lots\n")
        server.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        with urllib.request.urlopen(url, timeout=30) as answer:
            still_serving = answer.status == 200
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=30)
    assert still_serving and server.returncode == 0, stderr
    assert "applied: FEATURE_FLAG_NEW_UI, LOG_LEVEL; need a restart (the old values stay until then): CACHE_MAX_ITEMS" in stderr
    assert "The configuration was not reloaded; the one in use stays" in stderr and "DB_POOL_SIZE" in stderr
