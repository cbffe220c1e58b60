"""``get_file_storage`` through the facade, on the shipped in-memory fake: namespaces, metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from modules.infrastructure.module_api import FileTooLargeError, InfrastructureService, InvalidFileKeyError, StorageError, StoredFileNotFoundError
from modules.infrastructure.module_api.testing import fake_infrastructure

PDF = b"%PDF-1.7 a lesson plan"


@pytest.mark.parametrize("namespace", ["", "Lessons", "../x", "a b", "a/b", None, 7, "x" * 65])
def test_a_namespace_is_a_module_name(namespace: object) -> None:
    with fake_infrastructure(), pytest.raises(InvalidFileKeyError, match="module's name"):
        InfrastructureService.get_file_storage(namespace)  # type: ignore[arg-type]


def test_operations_are_counted_by_namespace_operation_and_outcome() -> None:
    with fake_infrastructure(environment={"STORAGE_MAX_FILE_SIZE": "100"}) as fakes:
        files = InfrastructureService.get_file_storage("lessons")
        files.save("a.pdf", PDF)
        assert files.read("a.pdf") == PDF
        with pytest.raises(FileTooLargeError):
            files.save("b.pdf", PDF * 10)
        body = InfrastructureService.metrics_text()
        assert fakes.storage.stats().files == 1
    assert 'infrastructure_storage_operations_total{namespace="lessons",operation="save",outcome="ok"} 1.0' in body
    assert 'infrastructure_storage_operations_total{namespace="lessons",operation="save",outcome="FileTooLargeError"} 1.0' in body
    assert f'infrastructure_storage_bytes_total{{namespace="lessons",operation="read"}} {float(len(PDF))}' in body


def test_every_operation_is_counted_and_a_callers_own_error_is_one_label() -> None:
    class Broken:
        def read(self, size: int) -> bytes:
            raise KeyError("the caller's stream broke")

    with fake_infrastructure():
        files = InfrastructureService.get_file_storage("lessons")
        files.save("a.pdf", PDF)
        files.info("a.pdf"), files.exists("a.pdf"), files.list(), files.download_url("a.pdf"), files.stats()
        with pytest.raises(StoredFileNotFoundError):
            files.open("missing.pdf")
        with pytest.raises(KeyError):
            files.save("b.pdf", Broken())
        files.delete("a.pdf")
        body = InfrastructureService.metrics_text()
    for operation in ("info", "exists", "list", "download_url", "stats", "delete"):
        assert f'infrastructure_storage_operations_total{{namespace="lessons",operation="{operation}",outcome="ok"}} 1.0' in body
    assert 'infrastructure_storage_operations_total{namespace="lessons",operation="read",outcome="StoredFileNotFoundError"} 1.0' in body
    assert 'infrastructure_storage_operations_total{namespace="lessons",operation="save",outcome="other_error"} 1.0' in body
    assert "KeyError" not in body


def test_the_local_disks_download_links_are_served_by_the_facades_app(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_URL", str(clean_env / "files"))
    files = InfrastructureService.get_file_storage("lessons")
    files.save("plans/week 1.pdf", PDF)
    url = files.download_url("plans/week 1.pdf", expires_in=60)
    app = InfrastructureService.get_file_download_app()
    answered: list[tuple[str, dict[str, str]]] = []
    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": url}, lambda status, headers: answered.append((status, dict(headers)))))
    assert body == PDF and answered[0][0] == "200 OK"
    assert answered[0][1]["Content-Disposition"].startswith("attachment;") and answered[0][1]["X-Content-Type-Options"] == "nosniff"
    tampered = url[:-2] + ("A" if url[-2] != "A" else "B") + url[-1]
    list(app({"REQUEST_METHOD": "GET", "PATH_INFO": tampered}, lambda status, headers: answered.append((status, dict(headers)))))
    assert answered[1][0] == "403 Forbidden"


def test_there_is_no_download_app_where_files_are_not_on_the_local_disk() -> None:
    with fake_infrastructure(), pytest.raises(StorageError, match="only the local disk"):
        InfrastructureService.get_file_download_app()
