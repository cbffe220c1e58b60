"""``get_file_storage`` through the facade, on the shipped in-memory fake: namespaces, metrics."""

from __future__ import annotations

import pytest

from modules.infrastructure.module_api import FileTooLargeError, InfrastructureService, InvalidFileKeyError
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
