"""Settings: command line > PARLEY_* environment > config file > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from server.config import Settings


def test_precedence(tmp_path, monkeypatch):
    config = tmp_path / "parley.toml"
    config.write_text('port = 7000\nhost = "0.0.0.0"\nlobby_size = 5\n')
    monkeypatch.setenv("PARLEY_PORT", "9000")
    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path / "from-env"))

    settings = Settings.load(config)
    assert (settings.port, settings.host, settings.lobby_size) == (9000, "0.0.0.0", 5)
    assert settings.data_dir == tmp_path / "from-env"
    assert settings.db_url == f"sqlite+aiosqlite:///{tmp_path}/from-env/parley.db"

    settings = Settings.load(config, port=1234, data_dir=Path("/srv/parley"))
    assert (settings.port, settings.data_dir) == (1234, Path("/srv/parley"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("port", 70000),
        ("public_url", "ftp://x"),
        ("public_url", "https://x/path"),
        ("lobby_size", 0),
    ],
)
def test_bad_settings_are_refused(field, value):
    with pytest.raises(ValidationError):
        Settings(**{field: value})


def test_unknown_keys_in_the_config_file_are_refused(tmp_path):
    config = tmp_path / "parley.toml"
    config.write_text("prot = 80\n")
    with pytest.raises(ValidationError):
        Settings.load(config)


def test_public_url_is_normalised_and_implies_tls():
    settings = Settings(public_url="https://parley.example.com/")
    assert settings.public_url == "https://parley.example.com" and settings.tls
    assert not Settings().tls


def test_parley_config_names_the_file(tmp_path, monkeypatch):
    config = tmp_path / "parley.toml"
    config.write_text("lobby_size = 7\n")
    monkeypatch.setenv("PARLEY_CONFIG", str(config))
    assert Settings.load().lobby_size == 7
    assert Settings.load(lobby_size=9).lobby_size == 9
