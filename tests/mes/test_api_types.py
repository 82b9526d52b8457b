# ruff: noqa: F811 - pytest fixtures are imported from orders_support
"""What the database cannot hold is refused at the door, alike on SQLite and PostgreSQL.

PostgreSQL text holds no NUL and its INTEGER stops at 2**31-1; SQLite takes both. Every request
string and integer is typed from mes.api.types, so both databases answer the same 422 naming
the field; what slips past a type still answers 422 (UNSTORABLE_VALUE), never 500.
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from mes.api.problems import PROBLEM_JSON, install_problem_handlers
from mes.api.types import ID_MAX
from mes.core.db import make_engine
from tests.mes.orders_support import db_url, pg_template  # noqa: F401 (fixtures)
from tests.mes.scan_harness import add_user, admin_token, bearer, plant_config, running_app
from tests.services.mosquitto import Mosquitto

#: Request strings that may carry NUL on purpose (each handles it itself).
NUL_ALLOWED = {
    ("ScanIn", "code"),  # a scanner's stray NUL is stripped (docs/contracts.md section 8)
}


@pytest.fixture
def client(db_url: str, mosquitto: Mosquitto) -> Iterator[TestClient]:
    with running_app(plant_config(db_url, mosquitto.url)) as (client, engine):
        add_user(engine, "sup1", "supervisor", "sup-password")
        yield client


def _login(client: TestClient, user: str, password: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"username": user, "password": password})
    return bearer(r.json()["access_token"])


def _refused(r: Any, loc: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.json()["code"] == "INVALID_REQUEST"
    assert loc in [e["loc"] for e in r.json()["errors"]], r.json()


BODIES = [
    ("/api/v1/holds", {"target": {"kind": "work_order", "id": "WO\x00"}, "reason": "r"}),
    ("/api/v1/holds", {"target": {"kind": "work_order", "id": "WO-1"}, "reason": "a\x00b"}),
    ("/api/v1/alarms/press-temp/shelve", {"minutes": 5, "reason": "\x00"}),
    ("/api/v1/alarms/press%00/ack", {"comment": "ok"}),
    ("/api/v1/inspections", {"work_order": "W\x00", "operation": "0010", "results": {"a": 1}}),
    ("/api/v1/inspections", {"work_order": "W1", "operation": "0010", "results": {"\x00": 1}}),
]
QUERIES = [
    ("/api/v1/holds", "target"),
    ("/api/v1/nonconformances", "work_order"),
    ("/api/v1/alarms/history", "alarm"),
    ("/api/v1/alarms", "area"),
    ("/api/v1/work-orders", "status"),
    ("/api/v1/genealogy/forward", "code"),
]


def test_nul_in_any_text_is_a_422_naming_the_field(client: TestClient) -> None:
    sup = _login(client, "sup1", "sup-password")
    for path, body in BODIES:
        r = client.post(path, json=body, headers=sup)
        assert r.status_code == 422, (path, body, r.text)
        assert r.headers["content-type"] == PROBLEM_JSON
        assert "NUL" in r.json()["detail"], r.json()
    _refused(
        client.post("/api/v1/holds", json=BODIES[1][1], headers=sup),
        "body.reason",
    )
    for path, name in QUERIES:
        _refused(client.get(path, params={name: "a\x00"}, headers=sup), f"query.{name}")
    admin = bearer(admin_token(client))
    r = client.post("/api/v1/operators", json={"badge": "E1", "name": "A\x00"}, headers=admin)
    _refused(r, "body.name")
    _refused(client.delete("/api/v1/operators/E%00", headers=admin), "path.badge")


def test_an_id_past_the_database_integer_is_refused_alike(client: TestClient) -> None:
    sup = _login(client, "sup1", "sup-password")
    r = client.post(
        "/api/v1/corrections", json={"production_event": ID_MAX + 1, "reason": "x"}, headers=sup
    )
    _refused(r, "body.production_event")
    r = client.post(
        "/api/v1/corrections", json={"production_event": ID_MAX, "reason": "x"}, headers=sup
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "EVENT_NOT_FOUND"


def test_a_value_no_type_caught_is_still_a_422(postgres_url: str) -> None:
    """The backstop: a NUL that reaches PostgreSQL is the client's (422), not a 500."""
    engine = make_engine(postgres_url)
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/echo")
    def echo(value: str) -> str:  # untyped on purpose: what mes.api.types prevents
        with engine.connect() as conn:
            return str(conn.execute(text("SELECT CAST(:v AS text)"), {"v": value}).scalar())

    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/echo", params={"value": "ok"}).json() == "ok"
        r = client.get("/echo", params={"value": "a\x00"})
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "UNSTORABLE_VALUE"
    engine.dispose()


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def _leaves(
    doc: dict[str, Any], schema: dict[str, Any], model: str, field: str
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every string and integer schema under `schema`, with the model and field naming it."""
    if "$ref" in schema:
        model = schema["$ref"].rsplit("/", 1)[1]
        schema = doc["components"]["schemas"][model]
    for sub in schema.get("anyOf", []) + schema.get("allOf", []):
        yield from _leaves(doc, sub, model, field)
    for name, sub in schema.get("properties", {}).items():
        yield from _leaves(doc, sub, model, name)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _leaves(doc, schema[key], model, f"{field}[]")
    if "propertyNames" in schema:  # the keys of a mapping: strings
        yield model, f"{field}[key]", {"type": "string", **schema["propertyNames"]}
    if schema.get("type") in ("string", "integer"):
        yield model, field, schema


def test_every_request_string_and_integer_fits_both_databases(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """A new route or field with a plain `str` or `int` fails here: type it from mes.api.types."""
    with running_app(plant_config(f"sqlite:///{tmp_path / 'mes.db'}", mosquitto.url)) as (
        client,
        _,
    ):
        doc = client.get("/openapi.json").json()
    unsafe, checked = [], 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            schemas = [(p["in"], p["name"], p["schema"]) for p in op.get("parameters", [])]
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                schemas.append(("body", "", body["schema"]))
            for where, name, schema in schemas:
                for model, field, leaf in _leaves(doc, schema, where, name):
                    checked += 1
                    if leaf.get("type") == "integer":
                        if leaf.get("maximum", float("inf")) > ID_MAX:
                            unsafe.append(f"{method} {path} {model}.{field}: no maximum")
                    elif "enum" in leaf or "format" in leaf or (model, field) in NUL_ALLOWED:
                        continue
                    elif re.search(leaf.get("pattern", ""), "a\x00") is not None:
                        unsafe.append(f"{method} {path} {model}.{field}: takes NUL")
    assert checked > 100
    assert unsafe == []


def test_every_error_is_documented_as_a_problem(tmp_path: Path, mosquitto: Mosquitto) -> None:
    with running_app(plant_config(f"sqlite:///{tmp_path / 'mes.db'}", mosquitto.url)) as (
        client,
        _,
    ):
        doc = client.get("/openapi.json").json()
        admin = bearer(admin_token(client))
        r = client.options("/api/v1/users", headers=admin)
        assert r.status_code == 405
        assert sorted(r.headers["allow"].split(", ")) == ["GET", "POST"]
        r = client.post(
            "/api/v1/users",
            json={"username": "e1", "role": "erp", "password": "long-enough"},
            headers=admin,
        )
        _refused(r, "body.role")
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    roles = doc["components"]["schemas"]["UserIn"]["properties"]["role"]
    assert roles["enum"] == ["admin", "supervisor", "quality", "owner"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, answer in op["responses"].items():
                if int(status) >= 400:
                    assert PROBLEM_JSON in answer["content"], (method, path, status)
            if op.get("security"):
                assert {"401", "403"} & set(op["responses"]), (method, path)
            if op.get("parameters") or op.get("requestBody"):
                assert "422" in op["responses"], (method, path)
    release = doc["paths"]["/api/v1/holds/{hold_id}/release"]["post"]["responses"]
    assert set(release) >= {"200", "400", "401", "403", "404", "409", "422", "503"}
    assert "UNKNOWN_HOLD" in release["404"]["description"]
