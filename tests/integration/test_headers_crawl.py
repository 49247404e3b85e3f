"""Headers and cookies on every response: a crawl of every page, every asset and every route
in the application's router, anonymous and as an advisor, on a plain and on a TLS-configured
deployment (`PARLEY_PUBLIC_URL=https://...`).

Every response, whatever its status, must carry the same security headers; every cookie
Parley sets must be HttpOnly (the CSRF double-submit cookie excepted: the page copies it into
a header), SameSite, and under TLS Secure and `__Host-` prefixed. Under TLS only the prefixed
names are accepted, under plain HTTP only the plain ones."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from typing import Any

import aiohttp
import pytest

from server.app import PAGES
from tests.clients import Socket

TLS_URL = "https://parley.test"
MISSING_ID = "0123456789abcdef0123456789abcdef"
CSRF = "crawl-csrf-token-0123456789abcdef"


def check_headers(where: str, headers: Any, tls: bool) -> list[str]:
    """Every problem with one response's headers, as readable lines."""
    bad: list[str] = []
    csp = headers.get("Content-Security-Policy", "")
    directives = {
        d.split()[0]: d.split()[1:] for d in (x.strip() for x in csp.split(";")) if d.strip()
    }
    for name in ("script-src", "style-src", "default-src"):
        if "'unsafe-inline'" in directives.get(name, []) or "'unsafe-eval'" in directives.get(
            name, []
        ):
            bad.append(f"{where}: {name} allows unsafe code: {csp}")
    if "script-src" not in directives and "default-src" not in directives:
        bad.append(f"{where}: no script-src: {csp!r}")
    if "style-src" not in directives and "default-src" not in directives:
        bad.append(f"{where}: no style-src: {csp!r}")
    if directives.get("frame-ancestors") != ["'none'"]:
        bad.append(f"{where}: frame-ancestors is not 'none': {csp!r}")
    if "'none'" not in (directives.get("object-src") or directives.get("default-src", [])):
        bad.append(f"{where}: object-src is not 'none': {csp!r}")
    expect = {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }
    for name, value in expect.items():
        if headers.get(name) != value:
            bad.append(f"{where}: {name} is {headers.get(name)!r}, not {value!r}")
    policy = {
        k.strip(): v.strip()
        for k, _, v in (p.partition("=") for p in headers.get("Permissions-Policy", "").split(","))
    }
    for feature in ("camera", "microphone"):
        if policy.get(feature) != "(self)":
            bad.append(f"{where}: Permissions-Policy {feature}={policy.get(feature)!r}")
    for feature, allow in policy.items():
        if allow not in ("()", "(self)"):
            bad.append(f"{where}: Permissions-Policy {feature}={allow} is wider than self")
    hsts = headers.get("Strict-Transport-Security")
    if tls:
        m = re.fullmatch(r"max-age=(\d+)(; includeSubDomains)?", hsts or "")
        if m is None or int(m.group(1)) < 180 * 86400:
            bad.append(f"{where}: HSTS missing or short under TLS: {hsts!r}")
    elif hsts is not None:
        bad.append(f"{where}: HSTS on a plain-HTTP deployment: {hsts!r}")
    for raw in headers.getall("Set-Cookie", []):
        bad += check_cookie(where, raw, tls)
    return bad


def check_cookie(where: str, raw: str, tls: bool) -> list[str]:
    jar: SimpleCookie = SimpleCookie()
    jar.load(raw)
    bad = []
    for name, morsel in jar.items():
        csrf = name.endswith("parley_csrf")
        if not morsel["httponly"] and not csrf:
            bad.append(f"{where}: cookie {name} is readable by scripts")
        if morsel["samesite"].lower() not in ("lax", "strict"):
            bad.append(f"{where}: cookie {name} has SameSite={morsel['samesite']!r}")
        if morsel["path"] != "/" or morsel["domain"]:
            bad.append(
                f"{where}: cookie {name} has Path={morsel['path']} Domain={morsel['domain']}"
            )
        if tls and not (morsel["secure"] and name.startswith("__Host-")):
            bad.append(f"{where}: cookie {name} is not Secure and __Host- under TLS")
        if not tls and name.startswith("__Host-"):
            bad.append(f"{where}: cookie {name} is __Host- prefixed on plain HTTP")
    return bad


def prefix(tls: bool) -> str:
    return "__Host-" if tls else ""


class Crawler:
    def __init__(self, server: Any, tls: bool) -> None:
        self.server, self.tls = server, tls
        self.origin = TLS_URL if tls else server.url
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        self.responses = 0
        self.problems: list[str] = []

    async def send(
        self, method: str, path: str, cookies: dict[str, str], body: Any = None
    ) -> tuple[int, Any, Any]:
        jar = {f"{prefix(self.tls)}parley_csrf": CSRF, **cookies}
        headers = {
            "Origin": self.origin,
            "X-CSRF-Token": CSRF,
            "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
        }
        async with self.http.request(
            method, self.server.url + path, json=body, headers=headers, allow_redirects=False
        ) as resp:
            raw = await resp.read()
            self.responses += 1
            self.problems += check_headers(f"{method} {path}", resp.headers, self.tls)
            parsed = None
            if resp.content_type == "application/json" and raw:
                parsed = await resp.json()
            return resp.status, resp.headers, parsed

    def cookie_from(self, headers: Any, name: str) -> str:
        for raw in headers.getall("Set-Cookie", []):
            jar: SimpleCookie = SimpleCookie()
            jar.load(raw)
            if prefix(self.tls) + name in jar:
                return jar[prefix(self.tls) + name].value
        raise AssertionError(f"no {name} cookie set: {headers.getall('Set-Cookie', [])}")


async def crawl(server: Any, seed_advisor: Any, tls: bool) -> Crawler:
    c = Crawler(server, tls)
    seed = await seed_advisor()
    status, headers, body = await c.send(
        "POST", "/api/auth/login", {}, {"username": seed["username"], "password": seed["password"]}
    )
    assert status == 200, body
    advisor = {f"{prefix(tls)}parley_session": c.cookie_from(headers, "parley_session")}
    status, _, body = await c.send("POST", "/api/consultations", advisor, {"title": "Hausrat"})
    assert status == 201, body
    cid = body["data"]["consultation"]["id"]
    token = body["data"]["invite"]["url"].rsplit("/i/", 1)[1]
    join = {
        "invite": token,
        "first_name": "Erika",
        "last_name": "Muster",
        "notice_version": server.settings.notice_version,
    }
    status, headers, body = await c.send("POST", "/api/join", {}, join)
    assert status == 201, body
    customer = {f"{prefix(tls)}parley_guest": c.cookie_from(headers, "parley_guest")}
    ids = {
        "consultation_id": cid,
        "token": token,
        "slug": seed["team_slug"],
        "participant_id": body["data"]["participant_id"],
    }

    routes = sorted(
        {
            (r.method, r.resource.canonical)
            for r in server.app.router.routes()
            if r.method not in ("HEAD", "*") and r.resource is not None
        }
    )
    assets = server.settings.client_dir / "assets"
    paths = [("GET", p) for p in PAGES] + [
        ("GET", f"/assets/{f.name}") for f in sorted(assets.iterdir())[:20]
    ]
    for method, canonical in routes:
        if "{filename" in canonical or canonical in PAGES:
            continue  # the static route: its files are listed above; pages likewise
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: ids.get(m.group(1), MISSING_ID), canonical)
        if canonical.startswith("/socket.io"):
            path += "?EIO=4&transport=polling"
        paths.append((method, path))
    paths += [("GET", "/no/such/page"), ("GET", "/api/no-such-route"), ("PUT", "/api/session")]
    for method, path in paths:
        for who in ({}, advisor, customer):
            body = {} if method in ("POST", "DELETE") else None
            await c.send(method, path, who, body)
    await c.send("POST", "/api/auth/logout", advisor, {})  # the cookie deletion too
    await c.http.close()
    return c


@pytest.mark.parametrize("settings_overrides", [{}, {"public_url": TLS_URL}], ids=["plain", "tls"])
async def test_every_response_carries_the_security_headers(
    server, seed_advisor, settings_overrides
):
    tls = bool(settings_overrides)
    c = await crawl(server, seed_advisor, tls)
    print(f"\nheader crawl ({'tls' if tls else 'plain'}): {c.responses} responses checked")
    assert c.responses > 150
    assert c.problems == [], "\n".join(c.problems[:40])


@pytest.mark.parametrize("settings_overrides", [{}, {"public_url": TLS_URL}], ids=["plain", "tls"])
async def test_only_this_deployments_cookie_names_are_accepted(
    server, seed_advisor, settings_overrides
):
    tls = bool(settings_overrides)
    c = Crawler(server, tls)
    seed = await seed_advisor()
    creds = {"username": seed["username"], "password": seed["password"]}
    status, headers, body = await c.send("POST", "/api/auth/login", {}, creds)
    assert status == 200, body
    set_cookies = " ".join(headers.getall("Set-Cookie"))
    session = c.cookie_from(headers, "parley_session")
    right, wrong = (f"{prefix(tls)}parley_session", f"{prefix(not tls)}parley_session")
    assert (wrong + "=") not in set_cookies.replace(right + "=", "")
    # the right name signs in; the other name with the same token is nobody
    _, _, body = await c.send("GET", "/api/session", {right: session})
    assert body["data"]["account"] is not None, body
    _, _, body = await c.send("GET", "/api/session", {wrong: session})
    assert body["data"].get("account") is None, body
    # a CSRF token under the other name does not count
    async with c.http.post(
        server.url + "/api/consultations",
        json={"title": "x"},
        headers={
            "Origin": c.origin,
            "X-CSRF-Token": CSRF,
            "Cookie": f"{prefix(not tls)}parley_csrf={CSRF}; {right}={session}",
        },
    ) as resp:
        assert (resp.status, (await resp.json())["error"]["code"]) == (403, "csrf_failed")
    # and a socket with the other name is refused, with the right one accepted
    sock_origin = c.origin
    for name, accepted in ((right, True), (wrong, False)):
        sock = Socket()
        try:
            await sock.connect(server.url, f"{name}={session}", sock_origin)
            connected = True
        except Exception:
            connected = False
        finally:
            await sock.close()
        assert connected is accepted, (name, sock.refusal)
    await c.http.close()
