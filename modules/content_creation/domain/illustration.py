"""An illustration of a question: the images it may be, where it is kept, and the checks of what a caller passes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")  # detected from the content by the storage
MAX_UPLOADED_BY = 100  # characters; kept in the row and as the file's metadata (S3 allows 2 KB of it)
MAX_ID = 2**31 - 1  # the id columns are 32-bit integers


def check_id(value: object, name: str) -> int:
    """``value`` as a row id (a whole number from 1), or ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise ValueError(f"{name} must be a whole number from 1 to {MAX_ID}, not {value!r:.40}")
    return value


def check_uploaded_by(value: object) -> str:
    """Who uploaded the image: 1 to 100 printable characters once stripped, or ``ValueError``."""
    if not isinstance(value, str):
        raise ValueError(f"uploaded_by must be text (a user id or name), not {type(value).__name__}")
    value = value.strip()
    if not 0 < len(value) <= MAX_UPLOADED_BY:
        raise ValueError(f"uploaded_by must be 1 to {MAX_UPLOADED_BY} characters, got {len(value)}")
    if not value.isprintable():
        raise ValueError("uploaded_by must be printable text, without line breaks or control characters")
    return value


def check_image(image: object) -> None:
    """``ValueError`` unless ``image`` is non-empty bytes, a binary file (``read``) or an iterable of byte chunks."""
    if isinstance(image, bytes | bytearray | memoryview):
        if len(image) == 0:
            raise ValueError("the image is empty (0 bytes); pass the bytes of a PNG, JPEG, WebP or GIF file")
        return
    if callable(getattr(image, "read", None)):
        return
    if isinstance(image, str | Mapping) or not isinstance(image, Iterable):
        raise ValueError(
            f"image must be bytes, a binary file opened with 'rb' or an iterable of byte chunks, not {type(image).__name__}"
        )


def check_declared_size(size: object) -> int | None:
    """The length the caller announced (a request's Content-Length), to refuse a huge upload before reading it.

    ``None`` when not given; ``ValueError`` when it is not a whole number from 1.
    """
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be the image's length in bytes, a whole number from 1, not {size!r:.40}")
    return size


def illustration_key(question_id: int) -> str:
    """A new key of the module's namespace for one of the question's illustrations."""
    return f"questions/{question_id}/illustrations/{uuid.uuid4()}"
