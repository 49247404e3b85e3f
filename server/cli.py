"""`parley`: serve, and the administrator's commands."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from server import admin, logs, rights, stacks
from server.access import DatabaseAccessLogger
from server.app import blob_store_of, create_app, ice_config_of, limits_of
from server.config import Settings
from server.jobs import policy_of
from server.keys import keyring_of
from server.probe import probe
from signaling.core import Core
from signaling.errors import ParleyError
from signaling.ports import NoSockets
from signaling.presence import Presence
from signaling.protocol import clean_name
from signaling.turn import ice_servers
from storage import audit, retention
from storage.blobs import BlobStore
from storage.clock import utcnow
from storage.crypto import KeyDirectory
from storage.db import Database
from storage.models import Role
from storage.vault import Vault

GC_THRESHOLDS = (10_000, 20, 20)  # Python's default: (700, 10, 10)


def read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise SystemExit("the passwords differ")
    return first


def settings_of(args: argparse.Namespace) -> Settings:
    return Settings.load(
        args.config,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        data_dir=args.data_dir,
        database_url=args.database_url,
    )


def serve(args: argparse.Namespace) -> None:
    settings = settings_of(args)
    logs.configure(settings.log_level, settings.log_format)
    app = create_app(settings)

    async def debuggable(_app: web.Application) -> None:
        stacks.install()  # kill -USR1 / -USR2: where a stuck node is stuck

    app.on_startup.append(debuggable)

    async def settled(_app: web.Application) -> None:
        # What exists once the node has started (modules, the schema, the app) lives as
        # long as the process: frozen, a full collection no longer walks it. And the young
        # generation is collected after 10,000 allocations instead of 700, so the objects
        # of messages in flight die young instead of being promoted and walked by full
        # collections. With Python's defaults a node relaying among 1,000 sockets paused
        # for up to 200 ms at a time (docs/benchmarks.md, "S1").
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)

    app.on_startup.append(settled)  # the last hook: after the other ones have set up
    local = settings.host in ("127.0.0.1", "0.0.0.0", "::")  # noqa: S104 (a comparison)
    shown = "localhost" if local else settings.host

    def announce(site: Any) -> None:
        print(f"Parley is running at {settings.public_url or f'http://{shown}:{settings.port}'}/")
        print(f"Data directory: {settings.data_dir.resolve()}  (Ctrl-C stops)", flush=True)

    # the database access log (anonymised by retention), never aiohttp's text one, which
    # would write raw addresses to stdout: the same as server.access.runner
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        access_log_class=DatabaseAccessLogger,
        print=announce,
    )


async def with_db(settings: Settings, work: Callable[[Database], Awaitable[Any]]) -> Any:
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    async with Database(settings.db_url) as db:
        await db.upgrade()
        return await work(db)


def run_admin(args: argparse.Namespace, work: Callable[[Database], Awaitable[Any]]) -> None:
    try:
        result = asyncio.run(with_db(settings_of(args), work))
    except ParleyError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        raise SystemExit(2) from None
    if result:
        print(result)


def team_add(args: argparse.Namespace) -> None:
    async def work(db: Database) -> str:
        team = await admin.add_team(db, utcnow, args.slug, args.name)
        return f"team {team.slug} created; instant link: /t/{team.slug}"

    run_admin(args, work)


def account_add(role: Role) -> Callable[[argparse.Namespace], None]:
    def command(args: argparse.Namespace) -> None:
        password = read_password(args.password_stdin)

        async def work(db: Database) -> str:
            account = await admin.add_account(
                db,
                utcnow,
                username=args.username,
                display_name=args.display_name or args.username,
                password=password,
                role=role,
                team_slug=getattr(args, "team", None),
            )
            return f"{role} {account.username} created"

        run_admin(args, work)

    return command


def keys_command(args: argparse.Namespace) -> None:
    """rotate: a new KEK becomes active and every data key is re-wrapped under it (content
    is not touched); retire: delete KEK files no data key needs any more; rewrap: re-wrap
    under the active KEK (after changing PARLEY_KEKS)."""
    settings = settings_of(args)
    directory = KeyDirectory(settings.key_path)
    if args.action in ("rotate", "retire") and settings.keks is not None:
        print(
            "error: the keys come from PARLEY_KEKS: append a new key there, restart Parley, "
            "run `parley keys rewrap`, then drop the old key from PARLEY_KEKS",
            file=sys.stderr,
        )
        raise SystemExit(2)
    if args.action == "rotate":
        directory.load()
        print(f"new active key-encryption key {directory.add()}")

    async def work(db: Database) -> str:
        vault = Vault(keyring_of(settings))
        async with db.session() as s:
            moved = await vault.rewrap(s)
        lines = [f"{moved} data keys re-wrapped under {vault.keyring.active}"]
        if args.action == "retire" or getattr(args, "retire", False):
            async with db.session() as s:
                in_use = await vault.keks_in_use(s)
            for kek_id in sorted(set(vault.keyring.keks) - set(in_use) - {vault.keyring.active}):
                directory.retire(kek_id)
                lines.append(f"retired {kek_id}")
        return "\n".join(lines)

    run_admin(args, work)


ADMIN = "admin:cli"


def offline_core(settings: Settings, db: Database) -> tuple[Core, BlobStore]:
    """The pieces of the core the admin commands need, without a running server."""
    core = Core(
        db=db,
        notifier=NoSockets(),
        presence=Presence(),
        limits=limits_of(settings),
        clock=utcnow,
        vault=Vault(keyring_of(settings)),
        notice_version=settings.notice_version,
    )
    return core, blob_store_of(settings, db)


def gdpr_command(args: argparse.Namespace) -> None:
    settings = settings_of(args)
    target = {"participant": args.participant, "consultation": getattr(args, "consultation", None)}

    async def work(db: Database) -> str:
        core, blobs = offline_core(settings, db)
        if args.action == "export":
            with args.out.open("wb") as out:

                async def write(data: bytes) -> None:
                    out.write(data)

                await rights.export(core, blobs, ADMIN, write, **target)
            return f"exported to {args.out}"
        if args.action == "rectify":
            first, last = clean_name(args.first_name), clean_name(args.last_name)
            await rights.rectify(core, ADMIN, args.participant, first, last)
            return "name corrected"
        if args.action == "erase":
            await rights.erase(core, blobs, ADMIN, **target)
            return "erased"
        if args.action in ("hold", "release"):
            await rights.hold(core, ADMIN, args.consultation, args.action == "hold")
            return f"legal hold {'set' if args.action == 'hold' else 'released'}"
        await rights.restrict(core, ADMIN, args.consultation, args.action == "restrict")
        return f"consultation {args.action}ed"

    try:
        run_admin(args, work)
    except ValueError as bad:
        print(f"error: {bad}", file=sys.stderr)
        raise SystemExit(2) from None


def audit_verify(args: argparse.Namespace) -> None:
    async def work(db: Database) -> str:
        async with db.session() as s:
            verdict = await audit.verify(s)
        if not verdict.ok:
            print(f"audit log BROKEN: {verdict.problem} ({verdict.entries} entries intact)")
            raise SystemExit(1)
        return f"audit log intact: {verdict.entries} entries"

    run_admin(args, work)


def retention_run(args: argparse.Namespace) -> None:
    settings = settings_of(args)

    async def work(db: Database) -> str:
        core, blobs = offline_core(settings, db)
        report = await retention.run(db, core.vault, blobs, policy_of(settings), utcnow())
        return (
            f"{report.ips_anonymised} addresses anonymised, {report.access_entries_deleted} "
            f"access entries deleted, {report.consultations_erased} consultations erased, "
            f"{len(report.skipped)} skipped (restricted or on legal hold)"
        )

    run_admin(args, work)


def probe_command(args: argparse.Namespace) -> None:
    """The pre-call check from the command line, through TURN when it is configured: prints
    the result as JSON and exits 1 unless the media came back."""
    settings = settings_of(args)
    servers = ice_servers(ice_config_of(settings), "probe", utcnow())
    relay = args.relay_only or (not args.direct and any("credential" in s for s in servers))
    base = args.url or settings.public_url or f"http://127.0.0.1:{settings.port}"
    result = asyncio.run(probe(base, servers, relay_only=relay, seconds=args.seconds))
    print(json.dumps(result, indent=2, default=str))
    if not result.get("ok"):
        raise SystemExit(1)


def db_upgrade(args: argparse.Namespace) -> None:
    async def work(db: Database) -> str:
        return "database is at the newest schema"

    run_admin(args, work)


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="TOML config file (PARLEY_CONFIG)")
    common.add_argument("--data-dir", type=Path, help="data directory (PARLEY_DATA_DIR)")
    common.add_argument("--database-url", help="SQLAlchemy URL (PARLEY_DATABASE_URL)")

    top = argparse.ArgumentParser(prog="parley", description="Parley video consultations")
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", parents=[common], help="run the server")
    p.add_argument("--host", help="address to listen on (PARLEY_HOST)")
    p.add_argument("--port", type=int, help="port to listen on (PARLEY_PORT)")
    p.set_defaults(func=serve)

    team = sub.add_parser("team", help="teams").add_subparsers(dest="action", required=True)
    p = team.add_parser("add", parents=[common], help="create a team")
    p.add_argument("--slug", required=True, help="used in the instant link /t/<slug>")
    p.add_argument("--name", required=True)
    p.set_defaults(func=team_add)

    for role, needs_team in ((Role.advisor, True), (Role.ops, False)):
        group = sub.add_parser(str(role), help=f"{role} accounts")
        p = group.add_subparsers(dest="action", required=True).add_parser(
            "add", parents=[common], help=f"create an {role} account"
        )
        p.add_argument("--username", required=True)
        p.add_argument("--display-name")
        if needs_team:
            p.add_argument("--team", required=True, help="team slug")
        p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
        p.set_defaults(func=account_add(role))

    keys = sub.add_parser("keys", help="key-encryption keys").add_subparsers(
        dest="action", required=True
    )
    p = keys.add_parser("rotate", parents=[common], help="new KEK, re-wrap every data key")
    p.add_argument("--retire", action="store_true", help="then delete KEKs nothing uses")
    p.set_defaults(func=keys_command)
    for action, text in (("retire", "delete KEKs nothing uses"), ("rewrap", "re-wrap data keys")):
        keys.add_parser(action, parents=[common], help=text).set_defaults(func=keys_command)

    gdpr = sub.add_parser("gdpr", help="data-subject rights").add_subparsers(
        dest="action", required=True
    )
    for action, text in (("export", "export to a zip"), ("erase", "erase for good")):
        p = gdpr.add_parser(action, parents=[common], help=text)
        one = p.add_mutually_exclusive_group(required=True)
        one.add_argument("--participant", help="participant id")
        one.add_argument("--consultation", help="consultation id")
        if action == "export":
            p.add_argument("--out", type=Path, required=True, help="the zip file to write")
        p.set_defaults(func=gdpr_command)
    p = gdpr.add_parser("rectify", parents=[common], help="correct a participant's name")
    p.add_argument("--participant", required=True)
    p.add_argument("--first-name", required=True)
    p.add_argument("--last-name", required=True)
    p.set_defaults(func=gdpr_command)
    for action, text in (
        ("restrict", "restrict a consultation's content"),
        ("unrestrict", "lift a restriction"),
        ("hold", "keep a consultation past retention (legal hold)"),
        ("release", "release a legal hold"),
    ):
        p = gdpr.add_parser(action, parents=[common], help=text)
        p.add_argument("--consultation", required=True)
        p.set_defaults(func=gdpr_command, participant=None)

    actions = sub.add_parser("audit", help="audit log").add_subparsers(dest="action", required=True)
    actions.add_parser("verify", parents=[common], help="check the hash chain").set_defaults(
        func=audit_verify
    )
    actions = sub.add_parser("retention", help="retention").add_subparsers(
        dest="action", required=True
    )
    actions.add_parser("run", parents=[common], help="run the retention job now").set_defaults(
        func=retention_run
    )

    p = sub.add_parser("probe", parents=[common], help="check that calls connect (via TURN)")
    p.add_argument("--url", help="Parley's base URL (default: PARLEY_PUBLIC_URL)")
    p.add_argument("--port", type=int, help="with no URL: the local port")
    p.add_argument("--seconds", type=float, default=6.0, help="how long to send media")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--relay-only", action="store_true", help="only through TURN")
    how.add_argument("--direct", action="store_true", help="without TURN")
    p.set_defaults(func=probe_command)

    db = sub.add_parser("db", help="database").add_subparsers(dest="action", required=True)
    p = db.add_parser("upgrade", parents=[common], help="apply migrations")
    p.set_defaults(func=db_upgrade)
    return top


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.func(args)
