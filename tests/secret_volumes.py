"""Secret files as deployments mount them, for the tests of ``<NAME>_FILE`` and ``SECRETS_DIR``."""

from __future__ import annotations

from pathlib import Path


def secret_file(path: Path, content: str | bytes, mode: int = 0o600) -> Path:
    """``content`` written to ``path`` with ``mode``; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    path.chmod(mode)
    return path


def kubernetes_volume(root: Path, files: dict[str, str], mode: int = 0o440) -> Path:
    """A folder laid out as Kubernetes mounts a Secret: each key a link into ``..data``, itself a link to a timestamped folder."""
    real = root / "..2026_12_03_17_00_00.000000001"
    for name, content in files.items():
        secret_file(real / name, content, mode)
    (root / "..data").symlink_to(real.name)
    for name in files:
        (root / name).symlink_to(Path("..data") / name)
    return root
