"""One frozen settings object. Precedence: command line > PARLEY_* environment > config file
(TOML, `--config` or PARLEY_CONFIG) > defaults."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.addresses import parse_networks

# Say only what Parley does today; operators replace this with their own notice.
DEFAULT_NOTICE_DE = (
    "Für die Videoberatung verarbeiten wir Ihren Vor- und Nachnamen und technische "
    "Verbindungsdaten. Bild und Ton gehen direkt zwischen Ihnen und Ihrer Beraterin oder Ihrem "
    "Berater (verschlüsselt, DTLS-SRTP) und werden nicht gespeichert. Kamera und Mikrofon "
    "werden erst eingeschaltet, wenn Sie es selbst tun."
)
DEFAULT_NOTICE_EN = (
    "For the video consultation we process your first and last name and technical connection "
    "data. Picture and sound go directly between you and your advisor (encrypted, DTLS-SRTP) "
    "and are not stored. Camera and microphone are switched on only when you do so yourself."
)


class Settings(BaseSettings):
    # PARLEY_CONFIG names the config file (read by `load`), it is not a setting itself
    model_config = SettingsConfigDict(
        env_prefix="PARLEY_", frozen=True, extra="forbid", env_ignore_empty=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    data_dir: Path = Path("data")
    database_url: str | None = None  # default: SQLite in data_dir
    public_url: str | None = None  # e.g. https://parley.example.com behind a proxy
    client_dir: Path = Path(__file__).resolve().parent.parent / "client" / "dist"
    log_level: str = "INFO"

    notice_version: str = "2026-11-01"
    notice_de: str = DEFAULT_NOTICE_DE
    notice_en: str = DEFAULT_NOTICE_EN

    participants_per_consultation: int = Field(default=6, ge=2, le=50)
    lobby_size: int = Field(default=20, ge=1, le=1000)
    queue_size: int = Field(default=50, ge=1, le=10000)
    grace_seconds: float = Field(default=60.0, gt=0, le=3600)
    invite_hours: int = Field(default=168, ge=1, le=720)
    advisor_session_hours: int = Field(default=12, ge=1, le=168)
    chat_max_chars: int = Field(default=4000, ge=1, le=10_000)
    upload_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1024, le=2 * 1024**3)

    # envelope encryption: KEKs from PARLEY_KEKS ("id:base64url,..."; the last one, or
    # active_kek, wraps new data keys), else generated into keys_dir (default data_dir/keys)
    keks: SecretStr | None = None
    active_kek: str | None = None
    keys_dir: Path | None = None
    blob_store: Literal["local", "database"] = "local"
    blob_dir: Path | None = None  # default data_dir/blobs
    # optional malware scan: a command that reads the file on stdin and exits 0 if clean,
    # 1 if infected (clamdscan's convention), e.g. ["clamdscan", "--no-summary", "-"]
    scan_command: list[str] | None = None
    scan_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)

    # privacy: the access log, retention, statistics
    trusted_proxies: list[str] = []  # networks whose X-Forwarded-For is believed
    ip_retention_days: int = Field(default=30, ge=1, le=365)
    ip_anonymisation: Literal["remove", "truncate"] = "remove"
    access_log_days: int = Field(default=90, ge=1, le=92)  # connection metadata: 3 months at most
    content_retention_days: int = Field(default=90, ge=1, le=3650)
    retention_interval_seconds: float = Field(default=3600.0, ge=1, le=86400)
    stats_min_group: int = Field(default=5, ge=1, le=1000)

    # STUN/TURN handed to admitted participants; TURN credentials by the TURN REST API
    # scheme (coturn `use-auth-secret` with the same `static-auth-secret`)
    stun_urls: list[str] = []
    turn_urls: list[str] = []  # e.g. ["turn:turn.example.com:3478?transport=udp", ...]
    turn_secret: SecretStr | None = None
    turn_ttl_seconds: int = Field(default=3600, ge=60, le=86400)

    # /metrics: open to these networks, or to requests with this bearer token
    metrics_networks: list[str] = ["127.0.0.0/8", "::1/128"]
    metrics_token: SecretStr | None = None
    log_format: Literal["text", "json"] = "text"

    # the pre-call check: a server-side echo peer (aiortc), limited and short
    precall_max_sessions: int = Field(default=10, ge=1, le=200)
    precall_sessions_per_minute: int = Field(default=6, ge=1, le=600)
    precall_session_seconds: float = Field(default=60.0, ge=5, le=600)
    precall_turn: bool = True  # hand the browser short-lived TURN credentials for the check
    # `parley probe` run by the server itself every so often (0: never); result as metrics
    probe_interval_seconds: float = Field(default=0.0, ge=0, le=86400)

    max_event_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ValueError("must be an origin like https://parley.example.com")
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir.resolve()}/parley.db"

    @field_validator("trusted_proxies", "metrics_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        parse_networks(value)  # raises ValueError on anything that is not a network
        return value

    @property
    def key_path(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"

    @property
    def blob_path(self) -> Path:
        return self.blob_dir or self.data_dir / "blobs"

    @property
    def tls(self) -> bool:
        return bool(self.public_url and self.public_url.startswith("https://"))

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: Any) -> Settings:
        given = {key: value for key, value in overrides.items() if value is not None}
        from_env = cls(**given)
        if config_file is None and os.environ.get("PARLEY_CONFIG"):
            config_file = Path(os.environ["PARLEY_CONFIG"])
        if config_file is None:
            return from_env
        with config_file.open("rb") as fh:
            from_file = tomllib.load(fh)
        explicit = from_env.model_dump(include=from_env.model_fields_set)
        return cls(**{**from_file, **explicit})
