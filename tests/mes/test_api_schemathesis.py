"""Schemathesis against the whole MES OpenAPI on a real server: no input produces a 500.

Bounded (a few examples per operation) so that it stays a few seconds; run as a supervisor
(station actions, corrections, ERP intake) and as an admin (users, operators, enrolment).
"""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.mes.scan_harness import add_user, plant_config, served
from tests.services.mosquitto import Mosquitto

LIMITS = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, mosquitto: Mosquitto) -> Iterator[dict[str, Any]]:
    db = tmp_path_factory.mktemp("schemathesis") / "mes.db"
    with served(plant_config(f"sqlite:///{db}", mosquitto.url)) as (base, engine):
        add_user(engine, "sup1", "supervisor", "sup-password")
        tokens = {}
        for user, pw in (("sup1", "sup-password"), ("admin", "admin-secret-1")):
            r = httpx.post(f"{base}/api/v1/auth/login", json={"username": user, "password": pw})
            tokens[user] = r.json()["access_token"]
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        yield {"base": base, "schema": schema, "tokens": tokens}


def _call(case: Any, api: dict[str, Any], user: str) -> None:
    if case.path == "/api/v1/auth/logout":
        return  # would revoke the token the rest of the run uses
    response = case.call(
        base_url=api["base"], headers={"Authorization": f"Bearer {api['tokens'][user]}"}
    )
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    )
    if response.status_code >= 400 and response.content:
        content_type = response.headers.get("content-type") or [""]
        assert content_type[0].startswith(("application/problem+json", "application/json"))


@pytest.mark.parametrize("user", ["sup1", "admin"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_input_gives_a_500(api: dict[str, Any], user: str, mode: GenerationMode) -> None:
    operations = [
        op
        for op in (result.ok() for result in api["schema"].get_all_operations())
        if not op.path.endswith("/stream")  # server-sent events never end: not a request
    ]
    assert len(operations) > 20
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @LIMITS
        def run(case: Any) -> None:
            _call(case, api, user)

        try:
            run()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing in this operation to make invalid


def test_openapi_is_complete(api: dict[str, Any]) -> None:
    doc = httpx.get(f"{api['base']}/openapi.json").json()
    scan = doc["paths"]["/api/v1/scans"]["post"]
    assert set(scan["responses"]) >= {"200", "401", "403", "409", "422", "503"}
    assert "Problem" in doc["components"]["schemas"]
    body = doc["components"]["schemas"]["ScanIn"]
    assert body["examples"][0]["code"] == "QTY:40"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), f"{method.upper()} {path} has no summary"


def test_every_change_needs_a_token(api: dict[str, Any]) -> None:
    doc = httpx.get(f"{api['base']}/openapi.json").json()
    public = {("post", "/api/v1/auth/login")}
    checked = 0
    for path, ops in doc["paths"].items():
        for method in ops:
            if method not in ("post", "put", "patch", "delete") or (method, path) in public:
                continue
            url = api["base"] + path.replace("{", "").replace("}", "")
            r = httpx.request(method.upper(), url, json={})
            assert r.status_code == 401, f"{method.upper()} {path} answered {r.status_code}"
            checked += 1
    assert checked > 20


def test_a_read_only_token_changes_nothing(api: dict[str, Any]) -> None:
    admin = {"Authorization": f"Bearer {api['tokens']['admin']}"}
    r = httpx.post(
        f"{api['base']}/api/v1/tokens", json={"name": "viewer", "role": "edge"}, headers=admin
    )
    edge = {"Authorization": f"Bearer {r.json()['access_token']}"}
    doc = httpx.get(f"{api['base']}/openapi.json").json()
    answers = {}
    for path, ops in doc["paths"].items():
        for method in ops:
            if method not in ("post", "put", "patch", "delete") or path.startswith("/api/v1/auth"):
                continue
            url = api["base"] + path.replace("{", "").replace("}", "")
            answers[(method, path)] = httpx.request(method.upper(), url, json={}, headers=edge)
    assert [k for k, r in answers.items() if r.status_code < 400] == []
    forbidden = [k for k, r in answers.items() if r.status_code == 403]
    assert len(forbidden) >= len(answers) - 2, {k: r.status_code for k, r in answers.items()}
