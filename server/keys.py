"""Where the key-encryption keys come from: PARLEY_KEKS, or the key directory."""

from __future__ import annotations

from server.config import Settings
from storage.crypto import KeyDirectory, Keyring


def keyring_of(settings: Settings) -> Keyring:
    if settings.keks is not None:
        return Keyring.from_spec(settings.keks.get_secret_value(), settings.active_kek)
    return KeyDirectory(settings.key_path).load(create=True)
