"""One frozen settings object. Precedence: command line > PARLEY_* environment > config file
(TOML, `--config` or PARLEY_CONFIG) > defaults."""

from __future__ import annotations

import os
import re
import tomllib
import uuid
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def hex_colour(value: str) -> str:
    """#rgb or #rrggbb, returned as lower-case #rrggbb."""
    if not HEX_COLOUR.fullmatch(value):
        raise ValueError("must be a hex colour like #1f5f8b")
    digits = value[1:].lower()
    return "#" + ("".join(c * 2 for c in digits) if len(digits) == 3 else digits)


def local_path(value: str) -> str:
    """A URL path on Parley itself ("/assets/logo.svg"): nothing from another origin."""
    parts = urlsplit(value)
    if (
        not value.startswith("/")
        or value.startswith("//")
        or parts.scheme
        or parts.netloc
        or any(c.isspace() or not c.isprintable() or c in "\\\"'<>" for c in value)
    ):
        raise ValueError("must be a path on Parley itself, starting with a single /")
    return value


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
    # several nodes: Redis carries emits and room state between them (none: one node)
    redis_url: str | None = None
    # "consultation": a consultation's emits go on a Redis channel of its own, which only
    # the nodes with one of its sockets read; "cluster": every emit on one channel, as
    # python-socketio does (the step between for a rolling upgrade, docs/operations.md)
    redis_fanout: Literal["consultation", "cluster"] = "consultation"
    node_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12], pattern=r"^[\w.-]{1,64}$")
    cluster_interval_seconds: float = Field(default=2.0, ge=0.1, le=60)
    client_dir: Path = Path(__file__).resolve().parent.parent / "client" / "dist"
    log_level: str = "INFO"

    notice_version: str = "2026-11-01"
    notice_de: str = DEFAULT_NOTICE_DE
    notice_en: str = DEFAULT_NOTICE_EN

    # branding: the business's name, logo, colours and imprint (the notice is above)
    brand_name: str = Field(default="Parley", min_length=1, max_length=60)
    brand_logo_file: Path | None = None  # an image file on this host, served at /brand/logo
    brand_logo_url: str | None = None  # or a path Parley already serves, e.g. /assets/x.svg
    brand_primary: str = "#1f5f8b"
    brand_accent: str = "#2f7d6d"
    brand_imprint_url: str | None = None  # https://... of the business's imprint page

    # the public availability endpoint behind the embeddable button, per caller
    availability_per_minute: int = Field(default=60, ge=1, le=6000)

    participants_per_consultation: int = Field(default=6, ge=2, le=50)
    lobby_size: int = Field(default=20, ge=1, le=1000)
    queue_size: int = Field(default=50, ge=1, le=10000)
    # the longest-waiting customers each queue announcement names; the rest are counted
    queue_shown: int = Field(default=50, ge=1, le=1000)
    # how long a customer's join may wait for its turn in a storm before it is answered
    # `busy` (503, Retry-After) and the browser tries again
    join_wait_seconds: float = Field(default=10.0, gt=0, le=120)
    grace_seconds: float = Field(default=60.0, gt=0, le=3600)
    invite_hours: int = Field(default=168, ge=1, le=720)
    advisor_session_hours: int = Field(default=12, ge=1, le=168)
    # advisor/ops sessions also end after this long unused (sliding); guest sessions end
    # guest_session_after_end_minutes after their consultation, guest_session_hours at most
    session_idle_minutes: int = Field(default=60, ge=1, le=1440)
    guest_session_hours: int = Field(default=12, ge=1, le=168)
    guest_session_after_end_minutes: int = Field(default=10, ge=0, le=1440)
    session_sweep_seconds: float = Field(default=60.0, gt=0, le=3600)  # closes expired sockets
    chat_max_chars: int = Field(default=4000, ge=1, le=10_000)
    upload_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1024, le=2 * 1024**3)
    # each 256 KiB piece of an upload must arrive within this (a floor of ~4 KB/s at 60 s)
    upload_read_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)

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

    # the whiteboard: Yjs updates and awareness (cursors), and when the log is compacted
    board_update_max_bytes: int = Field(default=256 * 1024, ge=1024, le=8 * 1024 * 1024)
    board_awareness_max_bytes: int = Field(default=8 * 1024, ge=256, le=64 * 1024)
    board_updates_per_second: float = Field(default=50.0, gt=0, le=10_000)
    # floods: every Socket.IO event per connection, sockets per address, guessing per address
    events_per_second: float = Field(default=100.0, gt=0, le=100_000)
    flood_refusals: int = Field(default=300, ge=1, le=1_000_000)
    connections_per_address: int = Field(default=100, ge=1, le=100_000)
    login_failures_per_minute: int = Field(default=10, ge=1, le=10_000)
    token_failures_per_minute: int = Field(default=20, ge=1, le=10_000)
    board_awareness_per_second: float = Field(default=30.0, gt=0, le=10_000)
    board_compact_updates: int = Field(default=500, ge=1, le=1_000_000)
    board_compact_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=1024**3)

    # appointments: the link's lobby opens early_minutes before the slot and the link
    # expires late_minutes after its end; times in mails are shown in appointment_timezone
    appointment_early_minutes: int = Field(default=10, ge=0, le=240)
    appointment_late_minutes: int = Field(default=60, ge=0, le=1440)
    appointment_timezone: str = "Europe/Berlin"
    # reminder mails (only when smtp_host is set): reminder_minutes before the slot, tried
    # reminder_attempts times, one attempt per reminder_interval_seconds
    appointment_reminder_minutes: int = Field(default=60, ge=1, le=10080)
    appointment_reminder_attempts: int = Field(default=3, ge=1, le=20)
    appointment_reminder_interval_seconds: float = Field(default=60.0, ge=0.05, le=3600)
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "parley@localhost"
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=300)

    max_event_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("redis_url must start with redis://, rediss:// or unix://")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ValueError("must be an origin like https://parley.example.com")
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("brand_name")
    @classmethod
    def _brand_name(cls, value: str) -> str:
        if not value.strip() or any(not c.isprintable() for c in value):
            raise ValueError("must be printable text")
        return value.strip()

    @field_validator("brand_primary", "brand_accent")
    @classmethod
    def _colour(cls, value: str) -> str:
        return hex_colour(value)

    @field_validator("brand_logo_url")
    @classmethod
    def _logo_url(cls, value: str | None) -> str | None:
        return None if value is None else local_path(value)

    @field_validator("brand_logo_file")
    @classmethod
    def _logo_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @field_validator("brand_imprint_url")
    @classmethod
    def _imprint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if value.startswith("/"):
            return local_path(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
            raise ValueError("must be an http(s) URL or a path on Parley")
        return value

    @field_validator("appointment_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone like Europe/Berlin") from None
        return value

    @field_validator("smtp_from")
    @classmethod
    def _sender(cls, value: str) -> str:
        local, _, domain = value.partition("@")
        if not local or not domain or any(c.isspace() or c in '<>,;"@' for c in local + domain):
            raise ValueError("must be an e-mail address like parley@example.com")
        return value

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
