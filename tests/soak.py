"""The soak, as a program of its own (`python -m tests.soak --dir D --json F`), so that the
test suite can run it in the background beside the other tests (see tests/conftest.py and
tests/integration/test_soak.py): a real `parley serve` (SQLite) carries 50 consultations
of three people each (the advisor and two customers admitted through one invite link)
chatting, drawing and exchanging small files at a steady pace for PARLEY_SOAK_SECONDS
(default 600, as in CI). The server is measured at rest (traffic held, in-flight
work finished) after the warm-up and at the end: resident memory may grow by less than
10 %, open file descriptors and asyncio tasks not at all beyond a small stated slack. Every
acknowledgement is ok, every relayed update and message arrives, /healthz answers
throughout and the node's log holds no traceback and no ERROR line.

The load keeps the state the server legitimately holds steady, so that growth means a leak:
each client edits a fixed set of whiteboard elements in place (as Excalidraw does), so the
live documents stay the same size; chat messages and files go to the database and the blob
directory, not to memory."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from pycrdt import Map

from tests.boards import YClient, content, edit
from tests.clients import WAIT, Http, Socket
from tests.processes import Node, seed_advisor

SECONDS = float(os.environ.get("PARLEY_SOAK_SECONDS", "600"))
CONSULTATIONS = 50
PEOPLE = 3  # per consultation: the advisor, then two customers
TICK = 4.0  # seconds between two actions of one client (chat and drawing take turns)
UPLOAD_EVERY = 30.0  # seconds between two files in one consultation (each downloaded once)
ELEMENTS = 4  # whiteboard elements each client owns and keeps editing
WARMUP = 0.2  # share of the run before the first measurement, the baseline
CHECKPOINTS = (WARMUP, 0.4, 0.6, 0.8)  # and the server is measured at rest again at the end
SETTLE = 1.5  # seconds of quiet before a measurement, for the server to finish its work
HEALTH_EVERY = 2.0
SETUP_CONCURRENCY = 8

RSS_GROWTH = 1.10
# At rest, every task and descriptor of the server belongs to a socket (150, constant) or to
# the process itself, except: a background job that happens to run at one measurement and
# not the other (retention, session sweep, access-log flush, a board compaction: one task
# each), and the SQLite pool, which keeps up to 5 connections of up to 3 descriptors each
# (database, WAL, shared memory) once it has opened them.
TASK_SLACK = 4
FD_SLACK = 15
LOG_ERROR = re.compile(
    r"^\S+ \S+ (ERROR|CRITICAL) |Traceback|Exception ignored|exception was never"
)

PDF = b"%PDF-1.7\n% Angebot Hausrat\n" + bytes(range(256)) * 12  # ~3 KiB
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 4096
CLOSE = {"Connection": "close"}  # no idle keep-alive connection blurs the descriptor count


@dataclass
class Person:
    name: str
    http: Http
    sock: Socket
    board: YClient
    owner: int  # element ids of this person: f"{owner}-{n}"

    @property
    def cid(self) -> str:
        return self.board.cid


@dataclass
class Tally:
    acks: Counter[str] = field(default_factory=Counter)
    errors: list[Any] = field(default_factory=list)
    chat: int = 0
    board: int = 0
    uploads: int = 0
    downloads: int = 0
    skipped: int = 0  # slots that fell into a measurement's quiet time
    health_failures: list[str] = field(default_factory=list)
    health_checks: int = 0
    messages: Counter[str] = field(default_factory=Counter)  # chat and files, by consultation

    def ack(self, what: str, answer: Any) -> None:
        ok = isinstance(answer, dict) and answer.get("ok") is True
        self.acks[f"{what} {'ok' if ok else 'error'}"] += 1
        if not ok and len(self.errors) < 20:
            self.errors.append((what, answer))


@dataclass
class Sample:
    at: float  # seconds into the run
    rss_kib: int
    fds: int
    tasks: int


class Pace:
    """Clients act only while traffic is open; `quiet()` holds new actions and waits for
    those in flight, so the server can be measured at rest."""

    def __init__(self) -> None:
        self.open = True
        self.busy = 0
        self.rest = asyncio.Event()
        self.rest.set()

    @contextlib.asynccontextmanager
    async def action(self) -> AsyncIterator[None]:
        self.busy += 1
        self.rest.clear()
        try:
            yield
        finally:
            self.busy -= 1
            if self.busy == 0:
                self.rest.set()

    @contextlib.asynccontextmanager
    async def quiet(self) -> AsyncIterator[None]:
        self.open = False
        try:
            await asyncio.wait_for(self.rest.wait(), 3 * WAIT)
            await asyncio.sleep(SETTLE)
            yield
        finally:
            self.open = True


# -- setting up ------------------------------------------------------------------------------


async def post(http: Http, path: str, body: Any) -> dict[str, Any]:
    status, answer = await http.post(path, body, headers=CLOSE)
    assert status in (200, 201), (path, status, answer)
    return answer["data"]  # type: ignore[no-any-return]


async def fresh_http(node: Node) -> Http:
    http = node.http()
    await http.request("GET", "/api/session", headers=CLOSE)  # the CSRF cookie
    return http


async def consultation(node: Node, advisor: Http, i: int) -> list[Person]:
    """One invite consultation; both customers join with its link, are admitted, and all
    three enter the room and sync the whiteboard."""
    created = await post(advisor, "/api/consultations", {"title": f"Soak {i}"})
    cid = created["consultation"]["id"]
    token = created["invite"]["url"].rsplit("/i/", 1)[1]
    people = []
    for k in range(1, PEOPLE):
        http = await fresh_http(node)
        status, info = await http.request("GET", f"/api/join/invite/{token}", headers=CLOSE)
        assert status == 200, info
        body = {
            "invite": token,
            "first_name": "Kunde",
            "last_name": f"Soak {chr(65 + i // 26)}{chr(65 + i % 26)}{chr(64 + k)}",
            "notice_version": info["data"]["notice"]["version"],
        }
        pid = (await post(http, "/api/join", body))["participant_id"]
        sock = await node.socket(http)
        people.append((pid, http, sock))
    adv_sock = await node.socket(advisor)
    for pid, _, _ in people:
        await adv_sock.ok("lobby_admit", {"consultation_id": cid, "participant_id": pid})
    for _, _, sock in people:
        await sock.until("lobby_state", lambda d: d["status"] == "admitted")
    everyone = [
        Person(f"c{i:02d}-{k}", http, sock, YClient(sock, cid), i * PEOPLE + k)
        for k, (http, sock) in enumerate([(advisor, adv_sock)] + [(h, s) for _, h, s in people])
    ]
    for person in everyone:
        await person.sock.ok("room_join", {"consultation_id": cid})
        await person.board.sync()
    return everyone


async def set_up(node: Node, advisor: Http) -> list[list[Person]]:
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(i: int) -> list[Person]:
        async with gate:
            return await consultation(node, advisor, i)

    async with asyncio.timeout(30 + CONSULTATIONS * 3):
        return list(await asyncio.gather(*(one(i) for i in range(CONSULTATIONS))))


# -- traffic ---------------------------------------------------------------------------------


def drain(person: Person, seen: Counter[str]) -> None:
    """Take what the socket received so far: apply relayed board updates to the person's
    document (as the browser does), count chat messages, drop the rest."""
    events = person.sock.events
    queue = events["board_update"]
    while not queue.empty():
        person.board.doc.apply_update(queue.get_nowait()["update"])
    chat = events["chat_message"]
    while not chat.empty():
        seen[chat.get_nowait()["kind"]] += 1
    for name, other in events.items():
        if name not in ("board_update", "chat_message"):
            while not other.empty():
                other.get_nowait()
    person.sock.log.clear()


def move(person: Person, k: int) -> Any:
    """Edit one of the person's elements in place, as Excalidraw does: same id, new
    position and version."""
    element_id = f"{person.owner}-{k // 2 % ELEMENTS}"

    def change(doc: Any) -> None:
        doc.get("elements", type=Map)[element_id] = {
            "id": element_id,
            "type": "rectangle",
            "x": (k * 37) % 1200,
            "y": (k * 53) % 800,
            "width": 120,
            "height": 80,
            "version": k + 1,
        }

    return change


async def client(
    person: Person, t0: float, stop: float, pace: Pace, tally: Tally, seen: Counter[str]
) -> None:
    loop = asyncio.get_running_loop()
    offset = (person.owner * 0.618) % TICK  # spread the clients over the tick
    for k in range(math.ceil(SECONDS / TICK) + 1):
        at = t0 + offset + k * TICK
        if at >= stop:
            break
        await asyncio.sleep(max(0.0, at - loop.time()))
        drain(person, seen)
        if not pace.open:
            tally.skipped += 1
            continue
        async with pace.action():
            if (k + person.owner) % 2 == 0:  # half of the clients chat while half draw
                payload = {
                    "consultation_id": person.cid,
                    "client_id": f"{person.name}-{k:05d}",
                    "body": f"Nachricht {k} von {person.name}",
                }
                answer = await person.sock.call("chat_send", payload)
                tally.ack("chat_send", answer)
                tally.chat += 1
                tally.messages[person.cid] += answer["ok"] is True
            else:
                tally.ack(
                    "board_update", await person.board.send(edit(person.board.doc, move(person, k)))
                )
                tally.board += 1


async def files(
    people: list[Person], i: int, t0: float, stop: float, pace: Pace, tally: Tally
) -> None:
    """Now and then one of the three uploads a small PDF or PNG, and the next one
    downloads it and gets the same bytes."""
    loop = asyncio.get_running_loop()
    offset = (i * 1.7) % UPLOAD_EVERY
    for u in range(math.ceil(SECONDS / UPLOAD_EVERY) + 1):
        at = t0 + offset + u * UPLOAD_EVERY
        if at >= stop:
            break
        await asyncio.sleep(max(0.0, at - loop.time()))
        if not pace.open:
            tally.skipped += 1
            continue
        sender, receiver = people[u % PEOPLE], people[(u + 1) % PEOPLE]
        name, data = (f"Angebot {i}-{u}.pdf", PDF) if u % 2 == 0 else (f"Skizze {i}-{u}.png", PNG)
        data += f"{i}-{u}".encode()  # every file different
        async with pace.action():
            status, answer = await sender.http.post(
                f"/api/consultations/{sender.cid}/files?name={quote(name)}",
                data=data,
                headers={"Content-Type": "application/octet-stream", **CLOSE},
            )
            tally.ack(
                "upload", answer if status == 201 else {"ok": False, "status": status, **answer}
            )
            tally.uploads += 1
            if status != 201:
                continue
            tally.messages[sender.cid] += 1  # announced in the chat
            url = f"{receiver.http.base}/api/files/{answer['data']['file']['id']}"
            async with receiver.http.session.get(url, headers=CLOSE) as resp:
                got = await resp.read()
            fine = resp.status == 200 and got == data
            tally.ack("download", {"ok": True} if fine else {"ok": False, "status": resp.status})
            tally.downloads += 1


# -- measuring -------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def server_cpu(pid: int) -> float:
    """Seconds of CPU the process has used (user and system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def loop_tasks(http: aiohttp.ClientSession, node: Node) -> int:
    async with http.get(f"{node.url}/metrics", timeout=aiohttp.ClientTimeout(total=WAIT)) as r:
        assert r.status == 200, await r.text()
        text = await r.text()
    found = re.search(r"^parley_event_loop_tasks (\S+)$", text, re.M)
    assert found, "parley_event_loop_tasks is not exposed"
    return int(float(found.group(1)))


async def sample(http: aiohttp.ClientSession, node: Node, t0: float) -> Sample:
    tasks = await loop_tasks(http, node)  # the scrape's own task is counted, every time
    return Sample(
        at=asyncio.get_running_loop().time() - t0,
        rss_kib=rss_kib(node.pid),
        fds=len(os.listdir(f"/proc/{node.pid}/fd")),
        tasks=tasks,
    )


async def health(http: aiohttp.ClientSession, node: Node, stop: float, tally: Tally) -> None:
    loop = asyncio.get_running_loop()
    for _ in range(math.ceil(SECONDS / HEALTH_EVERY) + 1):
        if loop.time() >= stop:
            return
        tally.health_checks += 1
        try:
            timeout = aiohttp.ClientTimeout(total=WAIT)
            async with http.get(f"{node.url}/healthz", timeout=timeout) as r:
                if r.status != 200:
                    tally.health_failures.append(
                        f"{r.status} {stop - loop.time():.0f} s before the end"
                    )
        except (aiohttp.ClientError, TimeoutError) as exc:
            tally.health_failures.append(repr(exc))
        await asyncio.sleep(HEALTH_EVERY)


async def checkpoints(
    http: aiohttp.ClientSession, node: Node, t0: float, pace: Pace, samples: list[Sample]
) -> None:
    loop = asyncio.get_running_loop()
    for share in CHECKPOINTS:
        await asyncio.sleep(max(0.0, t0 + share * SECONDS - loop.time()))
        async with pace.quiet():
            samples.append(await sample(http, node, t0))


# -- the soak --------------------------------------------------------------------------------


def log_lines(node: Node) -> list[str]:
    return node.log_path.read_text(errors="replace").splitlines()


def soak_node(directory: Path) -> Node:
    return Node(
        directory / "data",
        f"sqlite+aiosqlite:///{directory}/parley.db",
        env={
            # every client of the soak comes from loopback but stands for another person
            "PARLEY_CONNECTIONS_PER_ADDRESS": "1000",
            # compact every board several times during the run
            "PARLEY_BOARD_COMPACT_UPDATES": "40",
            # long soaks: the advisor's session must not time out
            "PARLEY_SESSION_IDLE_MINUTES": "1440",
        },
    )


async def soak(directory: Path) -> dict[str, Any]:
    """Run the soak; returns its figures and every problem found (none: it passed)."""
    node = soak_node(directory)
    problems: list[str] = []
    try:
        return await _soak(node, problems)
    except BaseException as exc:
        problems.append(f"the soak itself failed: {exc!r}\n{node.log_tail()}")
        return {"figures": "", "problems": problems}
    finally:
        if node.proc is not None and node.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                node.proc.kill()


async def _soak(node: Node, problems: list[str]) -> dict[str, Any]:
    seed = await seed_advisor(node.database_url)
    await node.start()
    tally, seen = Tally(), [Counter[str]() for _ in range(CONSULTATIONS * PEOPLE)]
    samples: list[Sample] = []
    cpu_seconds = 0.0
    monitor = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
    try:
        advisor = await fresh_http(node)
        await post(
            advisor, "/api/auth/login", {"username": seed["username"], "password": seed["password"]}
        )
        consultations = await set_up(node, advisor)
        people = [p for group in consultations for p in group]

        loop = asyncio.get_running_loop()
        pace = Pace()
        t0 = loop.time() + 1.0
        stop = t0 + SECONDS
        work = [client(p, t0, stop, pace, tally, seen[n]) for n, p in enumerate(people)]
        work += [files(group, i, t0, stop, pace, tally) for i, group in enumerate(consultations)]
        async with asyncio.timeout(SECONDS + 60):
            await asyncio.gather(
                *work,
                health(monitor, node, stop, tally),
                checkpoints(monitor, node, t0, pace, samples),
            )
            async with pace.quiet():
                samples.append(await sample(monitor, node, t0))
            cpu_seconds = server_cpu(node.pid)

        # everything relayed arrived: the three documents of a consultation are one, and
        # each person saw every message and file announcement of their consultation
        for n, person in enumerate(people):
            drain(person, seen[n])
        for group in consultations:
            first = content(group[0].board.doc)
            drawn = {element_id.split("-")[0] for element_id in first["elements"]}
            if drawn != {str(p.owner) for p in group}:
                problems.append(f"not everybody drew in {group[0].cid}")
            for other in group[1:]:
                if content(other.board.doc) != first:
                    problems.append(f"{other.name} missed whiteboard updates")
        missed = {
            p.name: (sum(seen[n].values()), tally.messages[p.cid])
            for n, p in enumerate(people)
            if sum(seen[n].values()) != tally.messages[p.cid]
        }
        if missed:
            problems.append(f"chat messages not delivered (got, sent): {missed}")
        if not all(p.sock.sio.connected for p in people):
            problems.append("a socket was dropped")
    finally:
        await node.close_clients()
        await monitor.close()
        code = await node.stop()

    warm, end = samples[0], samples[-1]
    # tasks: the higher of the first two checkpoints. Every run settles at the same count
    # (912), but one CI run read 7 fewer at the first checkpoint only (2026-12-07, every
    # later one 912): a part of the steady state that was not up yet is not a leak, and a
    # leak still shows as growth over the last three fifths of the run
    settled = max(samples[:2], key=lambda s: s.tasks)
    log = log_lines(node)
    figures = (
        f"soak {SECONDS:.0f} s, {CONSULTATIONS} consultations x {PEOPLE}: "
        f"chat {tally.chat}, board {tally.board}, uploads {tally.uploads}, downloads "
        f"{tally.downloads}, skipped {tally.skipped}, health checks {tally.health_checks}, "
        f"server CPU {cpu_seconds:.0f} s, log warnings {sum(' WARNING ' in x for x in log)}\n"
        + "\n".join(
            f"  at {s.at:6.1f} s: RSS {s.rss_kib / 1024:7.1f} MiB, fds {s.fds}, tasks {s.tasks}"
            for s in samples
        )
    )
    if tally.errors:
        problems.append(f"refused: {tally.errors}")
    if tally.health_failures:
        problems.append(f"/healthz failed: {tally.health_failures}")
    if code != 0:
        # killed after its stop timeout: the tail holds the stacks it dumped (server/stacks.py)
        tail = node.log_tail(250 if code == -signal.SIGKILL else 40)
        problems.append(f"the node exited with {code}: {tail}")
    errors = [line for line in log if LOG_ERROR.search(line)]
    if errors:
        problems.append(f"errors in the node's log: {errors[:20]}")
    for what, ok in (
        ("resident memory", end.rss_kib < RSS_GROWTH * warm.rss_kib),
        ("open files", end.fds <= warm.fds + FD_SLACK),
        ("asyncio tasks", end.tasks <= settled.tasks + TASK_SLACK),
    ):
        if not ok:
            problems.append(f"{what} grew")
    return {"figures": figures, "problems": problems}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__)
    parser.add_argument("--dir", type=Path, required=True, help="for the node's data")
    parser.add_argument("--json", type=Path, required=True, help="the result goes here")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    # stopped early (the suite ends or is interrupted): end as after an error, so that the
    # node is killed on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    result = asyncio.run(soak(args.dir))
    args.json.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
