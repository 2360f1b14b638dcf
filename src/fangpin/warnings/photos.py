"""The photo of a signed visit form: only a JPEG or PNG image, and not too large.

The type is decided by the file's first bytes (its magic number), never by its name or the
browser's content type, which the uploader controls: a renamed script or office file is refused.
"""

from __future__ import annotations

from typing import IO

from django.conf import settings

JPEG_MAGIC = b"\xff\xd8\xff"
# PNG signature followed by the length and type of the IHDR chunk every PNG starts with.
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PNG_IHDR = b"\x00\x00\x00\x0dIHDR"
DEFAULT_MAX_BYTES = 5 * 1024 * 1024  # a phone photo of one A4 page is 1–4 MB


class PhotoRejected(ValueError):
    """The upload is not a photo we keep; the message (Chinese) says why."""


def max_bytes() -> int:
    return int(getattr(settings, "FANGPIN_VISIT_PHOTO_MAX_BYTES", DEFAULT_MAX_BYTES))


def image_kind(head: bytes) -> str | None:
    """ "jpeg" or "png" from a file's first 16 bytes, else None."""
    if head.startswith(JPEG_MAGIC):
        return "jpeg"
    if head.startswith(PNG_MAGIC) and head[8:16] == PNG_IHDR:
        return "png"
    return None


def check_photo(photo: IO[bytes]) -> str:
    """The image kind of an upload ("jpeg" or "png"); PhotoRejected if empty, too large or not
    a JPEG/PNG. The file is left positioned at its start."""
    size = getattr(photo, "size", None)
    if size is None:
        photo.seek(0, 2)
        size = photo.tell()
    limit = max_bytes()
    if size == 0:
        raise PhotoRejected("照片文件为空")
    if size > limit:
        raise PhotoRejected(
            f"照片过大（{size / 1048576:.1f} MB），不能超过 {limit / 1048576:.0f} MB"
        )
    photo.seek(0)
    head = photo.read(16)
    photo.seek(0)
    kind = image_kind(head)
    if kind is None:
        raise PhotoRejected("只能上传 JPEG 或 PNG 格式的照片")
    return kind
