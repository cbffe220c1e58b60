"""An S3-compatible server of the test's own on 127.0.0.1: moto's standalone server on a free port, in a scratch
folder, with credentials checked (an IAM user made in its first unauthenticated requests), stopped by its pid.
moto checks credentials only in the Authorization header, not in a presigned URL's query (it answers 500): a
server started with ``check_credentials=False`` serves presigned URLs.

    with PrivateS3(tmp_path) as server:
        server.endpoint_url, server.access_key_id, server.secret_access_key
        server.create_bucket("files")
        server.stop()       # the server goes away (for "unreachable" tests)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]

from tests.integration.private_redis import _free_port, stop_process

START_TIMEOUT = 20.0
REGION = "us-east-1"
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
UNAUTHENTICATED_SET_UP = 3  # create_user, put_user_policy, create_access_key


class PrivateS3:
    def __init__(self, folder: Path, check_credentials: bool = True) -> None:
        self.folder = folder
        self.check_credentials = check_credentials
        self.port = _free_port()
        self.access_key_id = ""
        self.secret_access_key = ""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> PrivateS3:
        binary = Path(sys.executable).parent / "moto_server"
        environment = {"PATH": "/usr/bin:/bin", "HOME": str(self.folder)}
        if self.check_credentials:
            environment["INITIAL_NO_AUTH_ACTION_COUNT"] = str(UNAUTHENTICATED_SET_UP)
        with open(self.folder / "moto.log", "wb") as log:
            self._process = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(self.port)], cwd=self.folder,
                                             env=environment, stdout=log, stderr=subprocess.STDOUT)
        self._wait_until_it_answers()
        self._make_user()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        stop_process(self._process)

    def client(self, service: str = "s3", **credentials: str) -> Any:
        """A plain boto3 client of this server (this user's credentials unless others are given)."""
        keys = {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key, **credentials}
        config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
        return boto3.client(service, endpoint_url=self.endpoint_url, region_name=REGION, config=config, **keys)

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def _make_user(self) -> None:
        iam = self.client("iam", aws_access_key_id="set-up", aws_secret_access_key="set-up")
        iam.create_user(UserName="tests")
        iam.put_user_policy(UserName="tests", PolicyName="all", PolicyDocument=ALLOW_ALL)
        key = iam.create_access_key(UserName="tests")["AccessKey"]
        self.access_key_id, self.secret_access_key = key["AccessKeyId"], key["SecretAccessKey"]

    def _wait_until_it_answers(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                # moto's own dashboard route; not an AWS action, so it spends none of the unauthenticated requests
                urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1).close()
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                assert self._process is not None
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start; see {self.folder / 'moto.log'}") from None
                time.sleep(0.1)
