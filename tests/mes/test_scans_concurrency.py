"""50 scanners report on one operation at once over real HTTP: the quantities are exact."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from mes.orders.models import Operation
from tests.mes.orders_support import intake, release_message
from tests.mes.scan_harness import multi_station_plant, served
from tests.services.mosquitto import Mosquitto

SCANNERS = 50
EACH = 5  # QTY:1 scans per scanner
ORDER = SCANNERS * EACH - 15  # the last 15 scans must be refused


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mes.db'}"
    return str(request.getfixturevalue("postgres_url"))


async def _scanner(
    client: httpx.AsyncClient, token: str, station: str, wo: str
) -> list[tuple[int, dict[str, Any]]]:
    headers = {"Authorization": f"Bearer {token}"}
    t0 = datetime.now(UTC)
    answers = []
    codes = ["EMP:E1", f"WO:{wo}", "CMD:START"] + ["QTY:1"] * EACH
    for i, code in enumerate(codes):
        body = {
            "station": station,
            "code": code,
            "event_id": str(uuid.uuid4()),
            # a scan every 3 s at the station: outside the debounce window
            "scanned_at": (t0 + timedelta(seconds=3 * i)).isoformat(),
        }
        r = await client.post("/api/v1/scans", json=body, headers=headers)
        answers.append((r.status_code, r.json()))
        if code == "QTY:1" and i % 3 == 0:  # a tablet retry: same event, must not count
            again = await client.post("/api/v1/scans", json=body, headers=headers)
            assert again.json() == r.json()
    return answers


def test_fifty_scanners_on_one_operation(url: str, mosquitto: Mosquitto) -> None:
    cfg = multi_station_plant(url, mosquitto.url, SCANNERS)
    with served(cfg) as (base, engine):
        wo = intake(engine, release_message("PO-50", ORDER, routing="RT-MULTI")).work_order
        assert wo is not None

        async def main() -> list[list[tuple[int, dict[str, Any]]]]:
            limits = httpx.Limits(max_connections=SCANNERS + 5)
            async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
                login = await client.post(
                    "/api/v1/auth/login", json={"username": "admin", "password": "admin-secret-1"}
                )
                admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
                r = await client.post(
                    "/api/v1/operators", json={"badge": "E1", "name": "Ana"}, headers=admin
                )
                assert r.status_code == 201
                tokens = []
                for i in range(1, SCANNERS + 1):
                    r = await client.post(f"/api/v1/stations/ws-{i:02d}/enrol", headers=admin)
                    tokens.append(r.json()["access_token"])
                return await asyncio.gather(
                    *(_scanner(client, tokens[i], f"ws-{i + 1:02d}", wo) for i in range(SCANNERS))
                )

        results = asyncio.run(main())
        quantities = [a for per in results for a in per[3:]]
        accepted = [a for a in quantities if a[0] == 200]
        refused = [a for a in quantities if a[0] == 422]
        assert len(accepted) == ORDER
        assert len(refused) == SCANNERS * EACH - ORDER
        assert {a[1]["error"]["code"] for a in refused} == {"QUANTITY_ABOVE_ORDER"}
        assert all(a[0] == 200 for per in results for a in per[:3])
        with Session(engine) as s:
            op = s.exec(select(Operation).where(Operation.number == "0010")).one()
        assert op.good == ORDER
