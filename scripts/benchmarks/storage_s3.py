"""S3 storage benchmark: saving and reading 1 MB objects through ``FileStorage`` on ``S3Storage`` against raw
boto3 ``put_object``/``get_object`` of the same bytes on the same S3-compatible server (a private moto server
on 127.0.0.1, started and stopped here, the one the integration tests use)."""

from __future__ import annotations

import hashlib
import itertools
import tempfile
from pathlib import Path
from typing import Any

from modules.infrastructure.domain.config.values import StorageConfig
from modules.infrastructure.infrastructure.storage.file_storage import FileStorage
from modules.infrastructure.infrastructure.storage.s3_backend import S3Storage
from modules.infrastructure.infrastructure.storage.s3_client import make_client
from scripts.benchmarks.timing import interleave, round_ratios
from tests.integration.private_s3 import PrivateS3
from tests.integration.s3_backends import new_bucket, s3_config

SIZE = 1_000_000
NAMESPACE = "benchmark"
MIN_RATIO = 0.9


def run(ops: int, rounds: int) -> dict[str, Any]:
    """``ops // 50`` objects per variant per round (at least 1), ``rounds`` interleaved rounds."""
    per_round = max(1, ops // 50)
    data = (hashlib.sha256(b"benchmark").digest() * (SIZE // 32 + 1))[:SIZE]
    with tempfile.TemporaryDirectory() as folder, PrivateS3(Path(folder), check_credentials=False) as server:
        config = s3_config(server, new_bucket(server))
        results = _measure(config, data, per_round, rounds)
    ratios = {
        "save_vs_raw_put_object": round_ratios(results, "facade_save", "raw_put_object"),
        "read_vs_raw_get_object": round_ratios(results, "facade_read", "raw_get_object"),
    }
    medians = {name: value["median"] for name, value in ratios.items()}
    return {
        "benchmark": "storage_s3",
        "work": f"{SIZE:,}-byte objects, {per_round} per variant per round; FileStorage on S3Storage vs boto3 on a moto server",
        "results": {name: result.to_dict() for name, result in results.items()},
        "ratios": {f"{name}_per_round_median": value for name, value in medians.items()},
        "ratio_spread": ratios,
        "target": {name: f">= {MIN_RATIO}" for name in medians} | {"met": all(v >= MIN_RATIO for v in medians.values())},
    }


def _measure(config: StorageConfig, data: bytes, per_round: int, rounds: int) -> dict[str, Any]:
    backend = S3Storage(config)
    files = FileStorage(backend, NAMESPACE, config)
    raw = make_client(config)  # the same client settings, without the module around it
    bucket, raw_key = backend.location.bucket, "raw/object"
    names = itertools.count()
    files.save("read/object", data)
    raw.put_object(Bucket=bucket, Key=raw_key, Body=data)
    assert files.read("read/object") == data == raw.get_object(Bucket=bucket, Key=raw_key)["Body"].read()
    variants = {
        "facade_save": lambda: files.save(f"save/{next(names) % 16}", data),
        "raw_put_object": lambda: raw.put_object(Bucket=bucket, Key=f"raw/{next(names) % 16}", Body=data),
        "facade_read": lambda: files.read("read/object"),
        "raw_get_object": lambda: raw.get_object(Bucket=bucket, Key=raw_key)["Body"].read(),
    }
    try:
        return interleave(variants, per_round, rounds, warmup=3)
    finally:
        backend.close()
        raw.close()
