"""Envelope encryption: sealing, binding to the record, wrapping, key files."""

from __future__ import annotations

import base64
import stat

import pytest

from storage.crypto import (
    IntegrityError,
    KeyDirectory,
    Keyring,
    aad,
    new_key,
    open_sealed,
    seal,
)


def test_seal_binds_the_ciphertext_to_its_record():
    key = new_key()
    sealed = seal(key, b"Marker phrase", aad("c1", "chat", "m1"))
    assert b"Marker" not in sealed
    assert open_sealed(key, sealed, aad("c1", "chat", "m1")) == b"Marker phrase"
    for other in (aad("c1", "chat", "m2"), aad("c2", "chat", "m1"), aad("c1", "file_name", "m1")):
        with pytest.raises(IntegrityError):
            open_sealed(key, sealed, other)
    with pytest.raises(IntegrityError):
        open_sealed(new_key(), sealed, aad("c1", "chat", "m1"))


@pytest.mark.parametrize("position", [0, 1, 13, 20, -1])
def test_any_flipped_bit_is_detected(position):
    key = new_key()
    sealed = bytearray(seal(key, b"x" * 40, b"ad"))
    sealed[position] ^= 0x01
    with pytest.raises(IntegrityError):
        open_sealed(key, bytes(sealed), b"ad")


def test_the_same_plaintext_seals_differently():
    key = new_key()
    assert seal(key, b"same", b"ad") != seal(key, b"same", b"ad")


def test_keyring_wraps_under_the_active_kek_and_unwraps_under_any():
    old, new = new_key(), new_key()
    ring = Keyring({"old": old}, "old")
    dek = new_key()
    kek_id, wrapped = ring.wrap("c1", dek)
    assert kek_id == "old" and dek not in wrapped
    both = Keyring({"old": old, "new": new}, "new")
    assert both.unwrap("c1", "old", wrapped) == dek
    assert both.wrap("c1", dek)[0] == "new"
    with pytest.raises(IntegrityError):
        both.unwrap("c2", "old", wrapped)  # a wrapped key moved to another consultation
    with pytest.raises(IntegrityError):
        Keyring({"new": new}, "new").unwrap("c1", "old", wrapped)


def test_keyring_from_spec():
    a, b = new_key(), new_key()
    unpadded = base64.urlsafe_b64encode(b).decode().rstrip("=")
    spec = f"a:{base64.urlsafe_b64encode(a).decode()},b:{unpadded}"
    ring = Keyring.from_spec(spec)
    assert ring.keks == {"a": a, "b": b} and ring.active == "b"
    assert Keyring.from_spec(spec, "a").active == "a"
    for bad in ("", "a:short", "bad id!:" + base64.urlsafe_b64encode(a).decode()):
        with pytest.raises(ValueError):
            Keyring.from_spec(bad)


def test_key_directory_generates_a_private_key_once(tmp_path):
    keys = KeyDirectory(tmp_path / "keys")
    ring = keys.load()
    files = list((tmp_path / "keys").glob("*.kek"))
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert keys.load() == ring  # loading again creates nothing new
    second = keys.add()
    again = keys.load()
    assert again.active == second and set(again.keks) == {ring.active, second}
    keys.retire(ring.active)
    assert set(keys.load().keks) == {second}
    with pytest.raises(FileNotFoundError):
        KeyDirectory(tmp_path / "none").load(create=False)
