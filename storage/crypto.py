"""Envelope encryption. A key-encryption key (KEK) from configuration wraps one random data
key (DEK) per consultation; content is sealed with AES-256-GCM under the DEK, with the
record's identity as associated data so a ciphertext moved to another row fails to open.
Destroying a consultation's wrapped DEK makes all of its content unreadable at once."""

from __future__ import annotations

import base64
import logging
import os
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

KEY_BYTES = 32
NONCE_BYTES = 12
VERSION = b"\x01"
KEK_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class IntegrityError(Exception):
    """A ciphertext failed authentication: tampered, truncated, moved or its key is gone."""


def aad(consultation_id: str, kind: str, record_id: str, *extra: str | int) -> bytes:
    """The associated data that binds a ciphertext to the one record it belongs to."""
    return "|".join(["parley", consultation_id, kind, record_id, *map(str, extra)]).encode()


def seal(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


def open_sealed(key: bytes, sealed: bytes, associated: bytes) -> bytes:
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != VERSION:
        raise IntegrityError("not a Parley ciphertext")
    view = memoryview(sealed)  # no copy of the body (a file chunk is 256 KiB)
    nonce, body = view[1 : 1 + NONCE_BYTES], view[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, associated)
    except InvalidTag:
        raise IntegrityError("ciphertext failed authentication") from None


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def _dek_aad(consultation_id: str, kek_id: str) -> bytes:
    return aad(consultation_id, "dek", kek_id)


@dataclass(frozen=True)
class Keyring:
    """The KEKs this node knows, by id, and which one wraps new DEKs."""

    keks: dict[str, bytes]
    active: str

    def __post_init__(self) -> None:
        if self.active not in self.keks:
            raise ValueError("the active KEK is not in the keyring")
        for kek_id, key in self.keks.items():
            if not KEK_ID.match(kek_id) or len(key) != KEY_BYTES:
                raise ValueError(f"KEK {kek_id!r}: ids are [A-Za-z0-9_-]{{1,32}}, keys 32 bytes")

    def wrap(self, consultation_id: str, dek: bytes) -> tuple[str, bytes]:
        return self.active, seal(
            self.keks[self.active], dek, _dek_aad(consultation_id, self.active)
        )

    def unwrap(self, consultation_id: str, kek_id: str, wrapped: bytes) -> bytes:
        kek = self.keks.get(kek_id)
        if kek is None:
            raise IntegrityError(f"KEK {kek_id!r} is not configured on this node")
        return open_sealed(kek, wrapped, _dek_aad(consultation_id, kek_id))

    @classmethod
    def from_spec(cls, spec: str, active: str | None = None) -> Keyring:
        """`id1:base64key,id2:base64key` (PARLEY_KEKS); the last one is active by default."""
        keks: dict[str, bytes] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            kek_id, _, encoded = item.partition(":")
            try:
                keks[kek_id] = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except ValueError:
                raise ValueError(f"KEK {kek_id!r} is not base64") from None
        if not keks:
            raise ValueError("no KEK given")
        return cls(keks, active or list(keks)[-1])


class KeyDirectory:
    """KEKs kept as files `<id>.kek` (mode 0600) in a directory, `ACTIVE` naming the one in
    use: the embedded default, generated on first start."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self, *, create: bool = True) -> Keyring:
        active_file = self.path / "ACTIVE"
        if not active_file.exists():
            if not create:
                raise FileNotFoundError(f"no keys in {self.path}")
            kek_id = self.add()
            log.warning("generated a new key-encryption key %s in the data directory", kek_id)
        keks = {
            f.stem: base64.urlsafe_b64decode(f.read_bytes().strip())
            for f in sorted(self.path.glob("*.kek"))
        }
        return Keyring(keks, active_file.read_text().strip())

    def add(self) -> str:
        """Create a new KEK and make it the active one; return its id."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        kek_id = f"k{secrets.token_hex(4)}"
        self._write(self.path / f"{kek_id}.kek", base64.urlsafe_b64encode(new_key()))
        self._write(self.path / "ACTIVE", kek_id.encode())
        return kek_id

    def retire(self, kek_id: str) -> None:
        (self.path / f"{kek_id}.kek").unlink(missing_ok=True)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)


# Files are sealed in chunks. Each chunk's associated data names the file, the chunk's
# index and whether it is the last, so reordered, swapped or truncated chunks fail to open.


def chunk_aad(consultation_id: str, file_id: str, index: int, last: bool) -> bytes:
    return aad(consultation_id, "file", file_id, index, "last" if last else "more")


def seal_chunk(
    dek: bytes, consultation_id: str, file_id: str, index: int, last: bool, data: bytes
) -> bytes:
    return seal(dek, data, chunk_aad(consultation_id, file_id, index, last))


async def open_chunks(
    dek: bytes,
    consultation_id: str,
    file_id: str,
    count: int,
    chunks: AsyncIterator[bytes],
) -> AsyncIterator[bytes]:
    """Open a file's sealed chunks in order; IntegrityError on any tampering, a missing
    chunk, a missing end or anything after the end."""
    index = 0
    async for sealed in chunks:
        if index >= count:
            raise IntegrityError("more chunks than the file has")
        yield open_sealed(
            dek, sealed, chunk_aad(consultation_id, file_id, index, index == count - 1)
        )
        index += 1
    if index != count:
        raise IntegrityError("the file is truncated")
