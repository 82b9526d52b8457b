"""Two MES replicas on one PostgreSQL, every station's scans alternating between them."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import Session, select

from mes.orders.models import Operation
from mes.reporting.models import StationState
from tests.mes.orders_support import intake, release_message
from tests.mes.scan_harness import multi_station_plant, served
from tests.services.mosquitto import Mosquitto

STATIONS = 10
EACH = 6


@pytest.mark.postgres
def test_two_replicas_count_exactly(postgres_url: str, mosquitto: Mosquitto) -> None:
    cfg = multi_station_plant(postgres_url, mosquitto.url, STATIONS)
    with served(cfg) as (one, engine), served(cfg) as (two, _):
        wo = intake(engine, release_message("PO-R", STATIONS * EACH, routing="RT-MULTI")).work_order
        admin = httpx.post(
            f"{one}/api/v1/auth/login", json={"username": "admin", "password": "admin-secret-1"}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {admin}"}
        httpx.post(f"{two}/api/v1/operators", json={"badge": "E1", "name": "A"}, headers=auth)
        tokens = [
            httpx.post(f"{one}/api/v1/stations/ws-{i:02d}/enrol", headers=auth).json()[
                "access_token"
            ]
            for i in range(1, STATIONS + 1)
        ]

        async def station(client: httpx.AsyncClient, i: int) -> list[int]:
            t0 = datetime.now(UTC)
            codes = ["EMP:E1", f"WO:{wo}", "CMD:START", *["QTY:1"] * EACH]
            statuses = []
            for k, code in enumerate(codes):
                body = {
                    "station": f"ws-{i + 1:02d}",
                    "code": code,
                    "event_id": str(uuid.uuid4()),
                    "scanned_at": (t0 + timedelta(seconds=3 * k)).isoformat(),
                }
                base = (one, two)[k % 2]  # a load balancer without affinity
                r = await client.post(
                    f"{base}/api/v1/scans",
                    json=body,
                    headers={"Authorization": f"Bearer {tokens[i]}"},
                )
                statuses.append(r.status_code)
            return statuses

        async def main() -> list[list[int]]:
            async with httpx.AsyncClient(timeout=60) as client:
                return await asyncio.gather(*(station(client, i) for i in range(STATIONS)))

        results = asyncio.run(main())
        assert all(s == 200 for per in results for s in per), results
        with Session(engine) as s:
            op = s.exec(select(Operation).where(Operation.number == "0010")).one()
            states = s.exec(select(StationState)).all()
        assert op.good == STATIONS * EACH
        assert {st.work_order for st in states} == {wo}
        assert {st.last_code for st in states} == {"QTY:1"}
