"""Which files may be exchanged: an allow-list checked by content (magic bytes) and by
extension together, and display names that are safe to show. Pure functions, no I/O."""

from __future__ import annotations

import codecs
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from signaling.errors import FileTypeRefused

NAME_MAX = 200
SNIFF_BYTES = 4096

ZIP = b"PK\x03\x04"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heim", b"heis", b"avif"}


def _is_text(head: bytes) -> bool:
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return not any(unicodedata.category(c) == "Cc" and c not in "\t\n\r\f" for c in text)


@dataclass(frozen=True)
class Kind:
    content_type: str
    extensions: tuple[str, ...]
    matches: Callable[[bytes], bool]


KINDS: tuple[Kind, ...] = (
    Kind("application/pdf", (".pdf",), lambda h: h.startswith(b"%PDF-")),
    Kind("image/png", (".png",), lambda h: h.startswith(b"\x89PNG\r\n\x1a\n")),
    Kind("image/jpeg", (".jpg", ".jpeg"), lambda h: h.startswith(b"\xff\xd8\xff")),
    Kind("image/webp", (".webp",), lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP"),
    Kind("image/heic", (".heic", ".heif"), lambda h: h[4:8] == b"ftyp" and h[8:12] in HEIF_BRANDS),
    Kind("text/plain; charset=utf-8", (".txt",), _is_text),
    Kind(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (".docx",),
        lambda h: h.startswith(ZIP),
    ),
    Kind(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        (".xlsx",),
        lambda h: h.startswith(ZIP),
    ),
    Kind(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        (".pptx",),
        lambda h: h.startswith(ZIP),
    ),
    Kind("application/vnd.oasis.opendocument.text", (".odt",), lambda h: h.startswith(ZIP)),
    Kind("application/vnd.oasis.opendocument.spreadsheet", (".ods",), lambda h: h.startswith(ZIP)),
    Kind("application/msword", (".doc",), lambda h: h.startswith(OLE)),
    Kind("application/vnd.ms-excel", (".xls",), lambda h: h.startswith(OLE)),
)
BY_EXTENSION = {ext: kind for kind in KINDS for ext in kind.extensions}
ALLOWED_EXTENSIONS = tuple(sorted(BY_EXTENSION))


def display_name(raw: str) -> str:
    """A file name fit to show: no directories, no control or format characters, NFC,
    at most NAME_MAX characters, never empty. Never used as a path."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = " ".join(name.split()).strip(". ")
    if len(name) > NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        name = (
            (stem[: NAME_MAX - len(ext) - 1] + dot + ext)
            if dot and len(ext) <= 10
            else name[:NAME_MAX]
        )
    return name or "file"


def extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return f".{ext.lower()}" if dot and stem else ""


def content_type_of(name: str, head: bytes) -> str:
    """The content type of an upload whose extension and first bytes agree, or a refusal."""
    kind = BY_EXTENSION.get(extension(name))
    if kind is None:
        allowed = ", ".join(ALLOWED_EXTENSIONS)
        raise FileTypeRefused(f"this type of file cannot be shared; allowed are {allowed}")
    if not head:
        raise FileTypeRefused("the file is empty")
    if not kind.matches(head):
        raise FileTypeRefused(f"the content is not a {extension(name)} file")
    return kind.content_type
