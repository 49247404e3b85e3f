"""The OpenAPI 3.1 document of Parley's HTTP surface, served at /api/openapi.json.

Paths and methods come from the application's router, request bodies and query strings from
the pydantic models the handlers parse with, path parameters from the shapes they accept;
what each operation answers is described in `server/operations.py`. A route the router has
but the description lacks is left out of the document, and a test walks the router to fail
on exactly that."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter

from server.operations import OPERATIONS, PATH_PARAMS, Operation
from server.web_helpers import SETTINGS

routes = web.RouteTableDef()

ERROR_CODES = [
    "invalid_payload",
    "payload_too_large",
    "upload_timeout",
    "not_authenticated",
    "invalid_credentials",
    "csrf_failed",
    "origin_refused",
    "not_authorised",
    "not_found",
    "invite_invalid",
    "invite_expired",
    "invite_not_open",
    "appointment_passed",
    "slot_taken",
    "consultation_ended",
    "invalid_state",
    "method_not_allowed",
    "not_ready",
    "file_type_refused",
    "file_rejected",
    "restricted",
    "receipt_invalid",
    "content_erased",
    "integrity_error",
    "limit_exceeded",
    "storage_unavailable",
    "busy",
    "internal_error",
]

ERROR_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["ok", "error"],
    "properties": {
        "ok": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": ERROR_CODES},
                "message": {"type": "string"},
            },
        },
    },
}

SECURITY_SCHEMES = {
    # under TLS the cookies are `__Host-parley_session`, `__Host-parley_guest`, ...
    "advisorSession": {"type": "apiKey", "in": "cookie", "name": "parley_session"},
    "guestSession": {"type": "apiKey", "in": "cookie", "name": "parley_guest"},
    "csrfToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-Token",
        "description": (
            "equal to the parley_csrf cookie (`__Host-parley_csrf` under TLS); "
            "required on every state-changing call"
        ),
    },
}
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def openapi_path(route: web.AbstractRoute) -> str | None:
    """The route's path in OpenAPI form, e.g. /assets/{filename} for a static directory."""
    resource = route.resource
    if resource is None:
        return None
    info = resource.get_info()
    if "prefix" in info:  # a static directory
        return f"{info['prefix'].rstrip('/')}/{{filename}}"
    return resource.canonical


def router_operations(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, path) of every route the application answers (HEAD comes with GET)."""
    found = set()
    for route in app.router.routes():
        path = openapi_path(route)
        if path is not None and route.method != "HEAD":
            found.add((route.method, path))
    return found


class Components:
    """Collects the JSON Schemas of pydantic models under #/components/schemas."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {"Error": ERROR_ENVELOPE}

    def model(self, model: type[BaseModel]) -> dict[str, Any]:
        schema = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        self.schemas.update(schema.pop("$defs", {}))
        self.schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema["properties"].items()
    ]


def path_parameters(path: str) -> list[dict[str, Any]]:
    params = []
    for segment in path.split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1]
            kind = PATH_PARAMS.get(name)
            schema = TypeAdapter(kind).json_schema() if kind is not None else {"type": "string"}
            params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def success_response(op: Operation) -> dict[str, Any]:
    if op.media_type == "application/json" and not op.enveloped:
        return {"description": op.answer, "content": {op.media_type: {"schema": op.data}}}
    if op.media_type == "application/json":
        schema = {
            "type": "object",
            "required": ["ok", "data"],
            "properties": {"ok": {"const": True}, "data": op.data},
        }
        return {"description": op.answer, "content": {"application/json": {"schema": schema}}}
    content_schema: dict[str, Any] = {"type": "string"}
    if op.media_type in ("application/zip", "application/octet-stream"):
        content_schema = {"type": "string", "format": "binary"}
    return {"description": op.answer, "content": {op.media_type: {"schema": content_schema}}}


def operation_of(op: Operation, method: str, path: str, components: Components) -> dict[str, Any]:
    error = {"$ref": "#/components/schemas/Error"}
    responses: dict[str, Any] = {
        str(op.status): success_response(op),
        "4XX": {
            "description": "refused; the code says why (docs/protocol.md)",
            "content": {"application/json": {"schema": error}},
        },
    }
    for status in op.server_errors:
        responses[str(status)] = {
            "description": "a dependency is not available or stored data is damaged",
            "content": {"application/json": {"schema": error}},
        }
    responses.update(op.responses)
    document: dict[str, Any] = {
        "operationId": op.operation_id or f"{method.lower()}_{path.strip('/')}",
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": path_parameters(path) + (query_parameters(op.query) if op.query else []),
        "responses": responses,
    }
    if op.who:
        document["description"] = f"Who may call it: {op.who}."
    if op.body is not None:
        document["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": components.model(op.body)}},
        }
    elif op.raw_body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {op.raw_body: {"schema": {"type": "string", "format": "binary"}}},
        }
    # alternatives: any one of the sessions, plus the CSRF header on state-changing calls
    security: list[dict[str, list[str]]] = [{scheme: []} for scheme in op.security]
    if method in UNSAFE:
        security = [{**s, "csrfToken": []} for s in security] or [{"csrfToken": []}]
    if security:
        document["security"] = security
    return document


def build(app: web.Application) -> dict[str, Any]:
    components = Components()
    paths: dict[str, dict[str, Any]] = {}
    for method, path in sorted(router_operations(app), key=lambda mp: (mp[1], mp[0])):
        op = OPERATIONS.get((method, path))
        if op is None:
            continue  # undocumented: tests/server/test_openapi.py fails on it
        paths.setdefault(path, {})[method.lower()] = operation_of(op, method, path, components)
    settings = app[SETTINGS]
    server_url = settings.public_url or "/"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{settings.brand_name} HTTP API (Parley)",
            "version": "1",
            "description": (
                "Every JSON answer is an envelope: {ok: true, data} or {ok: false, error: "
                "{code, message}}. The real-time part is Socket.IO, see docs/protocol.md."
            ),
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": components.schemas, "securitySchemes": SECURITY_SCHEMES},
    }


@routes.get("/api/openapi.json")
async def openapi_document(request: web.Request) -> web.Response:
    return web.json_response(build(request.app), headers={"Cache-Control": "no-cache"})
