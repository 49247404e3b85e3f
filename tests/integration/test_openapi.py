"""The OpenAPI document: it describes every route of the application, and schemathesis,
fuzzing the real server with it, finds no server error and no answer that contradicts it."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from server.openapi import router_operations
from tests.conftest import RunningServer, Seed

ST = Path(sys.executable).parent / "st"
EXAMPLES_PER_OPERATION = 12
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


async def test_document_covers_every_route(server: RunningServer) -> None:
    http = server.http()
    status, doc = await http.get("/api/openapi.json")
    assert status == 200
    assert doc["openapi"].startswith("3.1")
    documented = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    routes = router_operations(server.app)
    missing = routes - documented
    assert not missing, f"routes missing from /api/openapi.json: {sorted(missing)}"
    assert documented <= routes, f"documented but not served: {sorted(documented - routes)}"
    # spot checks that the document is built from the code, not a placeholder
    join = doc["paths"]["/api/join"]["post"]
    body = join["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body == "#/components/schemas/JoinBody"
    assert "first_name" in doc["components"]["schemas"]["JoinBody"]["properties"]
    slug = doc["paths"]["/t/{slug}"]["get"]["parameters"][0]
    assert slug["in"] == "path" and "pattern" in slug["schema"]


async def test_document_answers_in_the_envelope_on_errors(server: RunningServer) -> None:
    http = server.http()
    _, doc = await http.get("/api/openapi.json")
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert "4XX" in op["responses"], (method, path)
            assert op["operationId"], (method, path)


@pytest.mark.e2e
@pytest.mark.timeout(420)
async def test_schemathesis_finds_nothing(
    server: RunningServer, seed_advisor: Seed, tmp_path: Path
) -> None:
    """Fuzz every operation with an advisor's session and a valid CSRF token."""
    account = await seed_advisor()
    http = server.http()
    status, _ = await http.post(
        "/api/auth/login", {"username": account["username"], "password": account["password"]}
    )
    assert status == 200
    csrf = http.cookie("parley_csrf")
    assert csrf
    args = [
        str(ST),
        "run",
        f"{server.url}/api/openapi.json",
        "--url",
        server.url,
        "--checks",
        CHECKS,
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        "20261121",
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "1",
        "--max-failures",
        "20",
        "--request-timeout",
        "20",
        "--exclude-path-regex",
        r"^/socket\.io/",  # Engine.IO's own transport, not a JSON operation
        "--exclude-operation-id",
        "logout",  # would end the session the rest of the run uses
        "--suppress-health-check",
        "all",
        "--header",
        f"Cookie: {http.cookie_header()}",
        "--header",
        f"X-CSRF-Token: {csrf}",
        "--header",
        f"Origin: {server.url}",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""}
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 360)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-20000:]
    assert "No issues found" in text or "passed" in text, text[-5000:]
