"""Short-lived TURN credentials by the TURN REST API scheme that coturn's `use-auth-secret`
implements: the username is "<expiry unix time>:<user>", the password the base64 of
HMAC-SHA1(shared secret, username). Pure functions, no I/O."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class IceConfig:
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = None
    ttl_seconds: int = 3600


def turn_credentials(secret: str, user: str, expires: datetime) -> tuple[str, str]:
    username = f"{int(expires.timestamp())}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(config: IceConfig, user: str, now: datetime) -> list[dict[str, Any]]:
    """The RTCIceServer list for one participant (handed out only after admission)."""
    servers: list[dict[str, Any]] = []
    if config.stun_urls:
        servers.append({"urls": list(config.stun_urls)})
    if config.turn_urls and config.turn_secret:
        username, credential = turn_credentials(
            config.turn_secret, user, now + timedelta(seconds=config.ttl_seconds)
        )
        servers.append(
            {"urls": list(config.turn_urls), "username": username, "credential": credential}
        )
    return servers
