"""Static checks of the production-shaped stack: docker-compose.yml, the Dockerfile and the
configuration files in deploy/. No Docker engine is needed: the files are parsed, not run."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from server.config import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
TURN_CONF = ROOT / "deploy" / "turnserver.conf"
CADDYFILE = ROOT / "deploy" / "Caddyfile"
ENV_EXAMPLE = ROOT / "deploy" / "env.example"
OPERATIONS = ROOT / "docs" / "operations.md"

SERVICES = ("parley", "postgres", "redis", "coturn", "proxy")


# Ranges coturn must never relay to: "this network", private, shared (CGNAT), loopback,
# link-local, IPv6 loopback, unique local and link-local.
MUST_DENY = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
)
# Ordinary public addresses: a deny rule that covers them would break every relayed call.
PUBLIC = ("1.1.1.1", "8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001::1")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found = compose.get("services")
    assert isinstance(found, dict), "docker-compose.yml has no services mapping"
    return found


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's `environment`, whether written as a mapping or as a list of KEY=VALUE."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) for item in env)
        return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def command_text(test: Any) -> str:
    return " ".join(test) if isinstance(test, list) else str(test)


def denied_ranges() -> list[tuple[str, IPAddress, IPAddress]]:
    ranges = []
    for line in TURN_CONF.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line.startswith("denied-peer-ip"):
            continue
        key, _, value = line.partition("=")
        assert key.strip() == "denied-peer-ip", line
        value = value.strip()
        # coturn reads a single address or "first-last"; older versions silently drop a
        # CIDR line (10.0.0.0/8), which would leave the range open.
        assert "/" not in value, f"coturn does not understand CIDR notation: {line}"
        first_text, _, last_text = value.partition("-")
        first = ipaddress.ip_address(first_text)
        last = ipaddress.ip_address(last_text) if last_text else first
        assert first.version == last.version and first <= last, line
        # coturn treats an unspecified end (:: or 0.0.0.0) as unbounded: `denied-peer-ip=::`
        # refused every peer, IPv4 included, in a run of coturn 4.6.1.
        assert not last.is_unspecified, f"this rule would deny every peer: {line}"
        assert not (first.version == 6 and first.is_unspecified), (
            f"this rule would deny every peer: {line}"
        )
        ranges.append((value, first, last))
    return ranges


def covered(network: ipaddress.IPv4Network | ipaddress.IPv6Network, ranges: list[Any]) -> bool:
    return any(
        first.version == network.version
        and first <= network.network_address
        and network.broadcast_address <= last
        for _, first, last in ranges
    )


# --- every service ----------------------------------------------------------------------


def test_all_services_exist(services: dict[str, Any]) -> None:
    missing = [name for name in SERVICES if name not in services]
    assert not missing, f"docker-compose.yml lacks the services {missing}"


@pytest.mark.parametrize("name", SERVICES)
def test_service_has_image_or_build_and_a_healthcheck(services: dict[str, Any], name: str) -> None:
    service = services[name]
    assert service.get("image") or service.get("build"), f"{name}: neither image nor build"
    healthcheck = service.get("healthcheck")
    assert isinstance(healthcheck, dict), f"{name}: no healthcheck"
    assert not healthcheck.get("disable"), f"{name}: healthcheck disabled"
    test = healthcheck.get("test")
    assert test, f"{name}: healthcheck without a test"
    assert command_text(test).strip() != "NONE", f"{name}: healthcheck test is NONE"


# --- parley -----------------------------------------------------------------------------


def test_parley_uses_postgres_with_asyncpg(services: dict[str, Any]) -> None:
    url = environment(services["parley"]).get("PARLEY_DATABASE_URL", "")
    assert url.startswith("postgresql+asyncpg://"), url
    assert "@postgres:5432/" in url, url


def test_parley_database_password_comes_from_env(services: dict[str, Any]) -> None:
    url = environment(services["parley"])["PARLEY_DATABASE_URL"]
    assert "${POSTGRES_PASSWORD:?" in url, "the password must be a required .env variable"
    postgres = environment(services["postgres"])
    assert postgres.get("POSTGRES_PASSWORD", "").startswith("${POSTGRES_PASSWORD:?")


def test_parley_has_a_public_https_origin(services: dict[str, Any]) -> None:
    public_url = environment(services["parley"]).get("PARLEY_PUBLIC_URL", "")
    assert public_url.startswith("https://"), public_url
    assert "${DOMAIN" in public_url, "the origin must be the proxy's domain"


def test_parley_healthcheck_checks_readiness(services: dict[str, Any]) -> None:
    test = command_text(services["parley"]["healthcheck"]["test"])
    assert "/readyz" in test, test


def test_parley_runs_two_replicas(services: dict[str, Any]) -> None:
    assert services["parley"].get("deploy", {}).get("replicas") == 2


def test_the_replicas_share_redis_one_kek_and_the_database_blob_store(
    services: dict[str, Any],
) -> None:
    env = environment(services["parley"])
    assert env["PARLEY_REDIS_URL"] == "redis://redis:6379/0"
    assert env["PARLEY_BLOB_STORE"] == "database"  # any replica serves any file
    assert env["PARLEY_KEKS"].startswith("${PARLEY_KEKS:?")  # one key for all, required


def test_parley_waits_for_healthy_postgres_and_redis(services: dict[str, Any]) -> None:
    depends = services["parley"].get("depends_on")
    assert isinstance(depends, dict), "depends_on needs conditions"
    for name in ("postgres", "redis"):
        assert depends.get(name, {}).get("condition") == "service_healthy", name


def test_parley_keeps_its_data_dir_on_a_volume(services: dict[str, Any]) -> None:
    volumes = [str(v) for v in services["parley"].get("volumes", [])]
    assert any(v.endswith(":/data") for v in volumes), volumes
    assert "PARLEY_DATA_DIR=/data" in DOCKERFILE.read_text(encoding="utf-8")


def test_every_parley_variable_is_a_setting(services: dict[str, Any]) -> None:
    """pydantic-settings silently ignores a PARLEY_* variable that matches no field, so a
    typo here would pass unnoticed in production."""
    fields = {f"PARLEY_{name.upper()}" for name in Settings.model_fields}
    used = {
        key
        for service in services.values()
        for key in environment(service)
        if key.startswith("PARLEY_")
    }
    used |= set(re.findall(r"\b(PARLEY_[A-Z0-9_]+)=", DOCKERFILE.read_text(encoding="utf-8")))
    unknown = used - fields
    assert not unknown, f"not fields of server.config.Settings: {sorted(unknown)}"


# --- coturn -----------------------------------------------------------------------------


def test_turn_config_denies_private_and_loopback_ranges() -> None:
    ranges = denied_ranges()
    missing = [net for net in MUST_DENY if not covered(ipaddress.ip_network(net), ranges)]
    assert not missing, f"deploy/turnserver.conf does not deny {missing}"


def test_turn_config_allows_public_peers() -> None:
    ranges = denied_ranges()
    for text in PUBLIC:
        address = ipaddress.ip_address(text)
        hits = [
            value
            for value, first, last in ranges
            if first.version == address.version and first <= address <= last
        ]
        assert not hits, f"{text} is denied by {hits}"


def test_turn_uses_a_shared_secret_from_env(services: dict[str, Any]) -> None:
    lines = {line.strip() for line in TURN_CONF.read_text(encoding="utf-8").splitlines()}
    assert "use-auth-secret" in lines
    assert not any(line.startswith("static-auth-secret") for line in lines), (
        "the secret belongs in .env, not in the committed config"
    )
    coturn = services["coturn"]
    args = command_text(coturn.get("command", ""))
    assert "--static-auth-secret=${TURN_SECRET:?" in args, args
    volumes = [str(v) for v in coturn.get("volumes", [])]
    assert any(
        v.startswith("./deploy/turnserver.conf:/etc/coturn/turnserver.conf") for v in volumes
    ), volumes


# --- proxy ------------------------------------------------------------------------------


def test_proxy_terminates_tls_in_front_of_parley(services: dict[str, Any]) -> None:
    proxy = services["proxy"]
    assert str(proxy.get("image", "")).startswith("caddy:"), proxy.get("image")
    ports = [str(p) for p in proxy.get("ports", [])]
    assert any(p.endswith("443:443") for p in ports), ports
    volumes = [str(v) for v in proxy.get("volumes", [])]
    assert any(v.startswith("./deploy/Caddyfile:/etc/caddy/Caddyfile") for v in volumes)
    caddyfile = CADDYFILE.read_text(encoding="utf-8")
    assert "{$DOMAIN}" in caddyfile
    assert re.search(r"reverse_proxy\b", caddyfile)
    assert re.search(r"dynamic a parley 8080\b", caddyfile)


def test_only_the_proxy_publishes_ports(services: dict[str, Any]) -> None:
    """Only the proxy faces the world; Grafana (monitoring profile) listens on the host's
    loopback only."""
    publishing = sorted(name for name, service in services.items() if service.get("ports"))
    assert publishing == ["grafana", "proxy"], publishing
    assert all(str(p).startswith("127.0.0.1:") for p in services["grafana"]["ports"])
    assert services["grafana"]["profiles"] == services["prometheus"]["profiles"] == ["monitoring"]


# --- secrets and documentation ----------------------------------------------------------


def test_every_compose_variable_is_documented_in_env_example() -> None:
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text(encoding="utf-8")))
    documented = set(
        re.findall(r"^#?\s*([A-Z0-9_]+)=", ENV_EXAMPLE.read_text(encoding="utf-8"), re.M)
    )
    missing = used - documented
    assert not missing, f"deploy/env.example does not mention {sorted(missing)}"


def test_env_example_holds_no_secrets() -> None:
    values = dict(re.findall(r"^([A-Z0-9_]+)=(.*)$", ENV_EXAMPLE.read_text(encoding="utf-8"), re.M))
    for name in ("POSTGRES_PASSWORD", "TURN_SECRET", "PARLEY_KEKS"):
        assert values.get(name) == "", f"{name} must be empty in deploy/env.example"


def test_operations_doc_lists_every_setting() -> None:
    """docs/operations.md has a table of all settings; a new field needs a row there."""
    text = OPERATIONS.read_text(encoding="utf-8")
    missing = [
        f"PARLEY_{name.upper()}"
        for name in Settings.model_fields
        if f"`PARLEY_{name.upper()}`" not in text
    ]
    assert not missing, f"docs/operations.md does not document {missing}"


# --- image ------------------------------------------------------------------------------


def test_dockerfile_runs_as_non_root_with_a_healthcheck() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim|^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.M)
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users, "no USER instruction"
    assert users[-1].split(":")[0] not in ("root", "0"), users[-1]
    assert re.search(r"^HEALTHCHECK .*/healthz", text, re.M | re.S)
    assert "npm run build" in text
    assert re.search(r'"serve", "--host", "0\.0\.0\.0"', text)
