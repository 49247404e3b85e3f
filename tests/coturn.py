"""A real coturn (Debian's package `coturn`, /usr/bin/turnserver) for one test, on loopback.

It authenticates like production (TURN REST API: `use-auth-secret` with a random
`static-auth-secret`), but, unlike deploy/turnserver.conf, it allows loopback peers:
both WebRTC peers of a test run on this machine, so their relay addresses are 127.0.0.1.
Never copy that setting into the production configuration."""

from __future__ import annotations

import contextlib
import ctypes
import random
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aioice import stun

TURNSERVER = Path("/usr/bin/turnserver")
HOST = "127.0.0.1"
REALM = "parley.test"
RELAY_PORT_COUNT = 16
START_TIMEOUT = 10.0  # seconds until coturn must answer a STUN binding request
STOP_TIMEOUT = 5.0
ATTEMPTS = 3  # a port picked as free may be taken before coturn binds it
# Ports are picked below the kernel's ephemeral range (32768-60999 by default), so that
# client sockets opened meanwhile do not take them.
PORT_LOW, PORT_HIGH = 20000, 32000


@dataclass(frozen=True)
class Coturn:
    host: str
    port: int
    secret: str
    realm: str
    relay_ports: range
    log_path: Path

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def url(self) -> str:
        return f"turn:{self.host}:{self.port}?transport=udp"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])


def _bindable(port: int, kinds: tuple[int, ...]) -> bool:
    opened: list[socket.socket] = []
    try:
        for kind in kinds:
            sock = socket.socket(socket.AF_INET, kind)
            opened.append(sock)
            sock.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        for sock in opened:
            sock.close()


def _free_ports(count: int, kinds: tuple[int, ...], avoid: range = range(0)) -> range:
    """`count` consecutive ports on loopback that are free for every socket kind in `kinds`."""
    for _ in range(200):
        first = random.randint(PORT_LOW, PORT_HIGH - count)
        ports = range(first, first + count)
        if set(ports) & set(avoid):
            continue
        if all(_bindable(port, kinds) for port in ports):
            return ports
    raise RuntimeError(f"no {count} free ports between {PORT_LOW} and {PORT_HIGH}")


def _config(listening: int, relay: range, secret: str, directory: Path) -> str:
    return "\n".join(
        [
            f"listening-ip={HOST}",
            f"listening-port={listening}",
            f"relay-ip={HOST}",
            f"min-port={relay.start}",
            f"max-port={relay.stop - 1}",
            "use-auth-secret",
            f"static-auth-secret={secret}",
            f"realm={REALM}",
            "fingerprint",
            "no-tls",
            "no-dtls",
            "no-cli",
            # RFC 5780 would want a second listening address and port
            "no-rfc5780",
            # test only: both peers are on this machine (deploy/turnserver.conf denies it)
            "allow-loopback-peers",
            # everything coturn writes stays in the test's directory
            f"pidfile={directory / 'turnserver.pid'}",
            f"userdb={directory / 'turndb'}",
            "log-file=stdout",
            "simple-log",
            "verbose",
            "",
        ]
    )


def stun_answered(address: tuple[str, int], timeout: float) -> bool:
    """True when a STUN binding request to `address` (UDP) gets its success response."""
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(bytes(request), address)
            data, _ = sock.recvfrom(2048)
            response = stun.parse_message(data)
        except (OSError, ValueError):
            return False
    return (
        response.transaction_id == request.transaction_id
        and response.message_class == stun.Class.RESPONSE
    )


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM coturn when the test process dies, even killed."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT)


@contextlib.contextmanager
def running_coturn(directory: Path, secret: str | None = None) -> Iterator[Coturn]:
    """Start coturn with its configuration, pid file, database and log in `directory`;
    yield once it answers STUN; stop it on the way out, whatever happened."""
    if not TURNSERVER.is_file():
        pytest.fail("Debian's coturn is not installed at /usr/bin/turnserver: run ./scripts/test")
    directory.mkdir(parents=True, exist_ok=True)
    secret = secret or secrets.token_hex(32)
    failures = []
    for attempt in range(1, ATTEMPTS + 1):
        relay = _free_ports(RELAY_PORT_COUNT, (socket.SOCK_DGRAM,))
        (port,) = _free_ports(1, (socket.SOCK_DGRAM, socket.SOCK_STREAM), avoid=relay)
        config = directory / f"turnserver-{attempt}.conf"
        config.write_text(_config(port, relay, secret, directory), encoding="utf-8")
        log_path = directory / f"turnserver-{attempt}.log"
        turn = Coturn(HOST, port, secret, REALM, relay, log_path)
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(TURNSERVER), "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # never part of the terminal's signals
                preexec_fn=_die_with_parent,
            )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while process.poll() is None and time.monotonic() < deadline:
                if stun_answered(turn.address, 0.2):
                    break
                time.sleep(0.05)  # a closed UDP port refuses at once
            else:
                failures.append(
                    f"attempt {attempt}: exit code {process.poll()} on port {port}\n"
                    f"{turn.log_tail()}"
                )
                continue
            yield turn
            return
        finally:
            _stop(process)
    pytest.fail("coturn did not start:\n" + "\n".join(failures))
