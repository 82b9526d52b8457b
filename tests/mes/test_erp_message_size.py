# ruff: noqa: F811 - pytest fixtures are imported from orders_support
"""ERP messages have a size limit (`mes.erp.max_message_bytes`), and a rejection keeps only a
bounded excerpt, the length and the sha256 of a payload that is too large or not JSON: on MQTT,
in the outbox, and over REST."""

import hashlib
import json

from sqlmodel import Session, select

from mes.orders.erp_messages import EXCERPT_CHARS, parse_order_message, rejection_payload
from mes.orders.models import WorkOrder
from mes.runtime import MesRuntime
from simulators.erp import ErpSimulator
from tests.mes.orders_support import (  # noqa: F401
    db_url,
    engine,
    intake,
    outbox,
    pg_template,
    plant,
    release_message,
    unique_site,
)
from tests.mes.scan_harness import admin_token, bearer, plant_config, running_app
from tests.mes.test_erp_flow import runtime_config
from tests.services.ports import wait_for

MB = 1024 * 1024


def big_order(erp_id: str) -> bytes:
    msg = release_message(erp_id, 5)
    msg["order"]["notes"] = "x" * MB  # an unknown field of 1 MB
    return json.dumps(msg).encode()


def test_an_order_over_the_limit_is_rejected_with_a_bounded_excerpt() -> None:
    raw = big_order("PO-BIG")
    parsed = parse_order_message(raw)
    assert parsed.command is None
    assert parsed.rejection is not None
    assert parsed.rejection.code == "MESSAGE_TOO_LARGE"
    assert str(256 * 1024) in parsed.rejection.message
    out = rejection_payload(parsed.rejection, parsed.received)
    assert out["received"] == raw[:EXCERPT_CHARS].decode()
    assert out["received_bytes"] == len(raw)
    assert out["received_sha256"] == hashlib.sha256(raw).hexdigest()
    assert out["received_truncated"] is True
    assert len(json.dumps(out)) < 2 * EXCERPT_CHARS
    # the limit is the caller's
    assert parse_order_message(raw, max_bytes=2 * MB).command is not None


def test_non_json_is_kept_as_an_excerpt_and_small_payloads_whole() -> None:
    noise = parse_order_message(b"<xml>" + b"y" * (100 * 1024))  # under the limit, not JSON
    assert noise.rejection is not None
    assert noise.rejection.code == "INVALID_JSON"
    out = rejection_payload(noise.rejection, noise.received)
    assert len(out["received"]) == EXCERPT_CHARS
    assert out["received"].startswith("<xml>yyy")
    assert (out["received_bytes"], out["received_truncated"]) == (5 + 100 * 1024, True)
    # CONTRACTS.md section 5: a normal-size payload is kept whole, raw text if not JSON
    small = parse_order_message(b"{not json")
    assert small.rejection is not None
    small_out = rejection_payload(small.rejection, small.received)
    assert (small_out["received"], small_out["received_truncated"]) == ("{not json", False)
    msg = {**release_message("PO-1", 1), "v": 2}
    parsed = parse_order_message(json.dumps(msg))
    assert rejection_payload(parsed.rejection, parsed.received)["received"] == msg  # type: ignore[arg-type]


def test_the_outbox_keeps_no_large_payload(engine) -> None:
    for raw in (big_order("PO-BIG"), b"\xff" * MB):
        result = intake(engine, raw)
        assert result.outcome == "rejected"
    with Session(engine) as s:
        assert s.exec(select(WorkOrder).where(WorkOrder.erp_id == "PO-BIG")).first() is None
    rows = outbox(engine)
    assert len(rows) == 2
    assert all(len(r["received"]) <= EXCERPT_CHARS for r in rows)
    assert all(len(json.dumps(r)) < 8 * EXCERPT_CHARS for r in rows)  # U+FFFD: 6 escaped
    assert [r["error"]["code"] for r in rows] == ["MESSAGE_TOO_LARGE", "MESSAGE_TOO_LARGE"]


def test_over_mqtt_the_rejection_is_bounded(tmp_path, mosquitto) -> None:
    cfg = runtime_config(tmp_path, mosquitto.url)
    cfg = cfg.model_copy(
        update={
            "mes": cfg.mes.model_copy(
                update={"erp": cfg.mes.erp.model_copy(update={"max_message_bytes": 64 * 1024})}
            )
        }
    )
    rt = MesRuntime(cfg, replica=f"t-{tmp_path.name}", relay_interval_s=0.05)
    rt.start_sync()
    erp = ErpSimulator(cfg.broker, rt.ns, client_id=f"erp-{tmp_path.name}").start()
    try:
        msg = release_message("PO-MQTT-BIG", 5)
        msg["order"]["notes"] = "z" * (100 * 1024)
        erp.send(json.dumps(msg))
        assert erp.wait(lambda led: len(led.rejections) == 1, 10)
        rejection = erp.ledger.rejections[0]
        assert rejection["error"]["code"] == "MESSAGE_TOO_LARGE"
        assert len(rejection["received"]) == EXCERPT_CHARS
        assert rejection["received_bytes"] == len(json.dumps(msg).encode())
        erp.send(json.dumps(release_message("PO-MQTT-OK", 5)))  # under the limit: applied

        def applied() -> bool:
            with rt.session() as s:
                return (
                    s.exec(select(WorkOrder).where(WorkOrder.erp_id == "PO-MQTT-OK")).first()
                    is not None
                )

        wait_for(applied, 10, "the normal-size order")
        with rt.session() as s:
            assert (
                s.exec(select(WorkOrder).where(WorkOrder.erp_id == "PO-MQTT-BIG")).first() is None
            )
    finally:
        erp.stop()
        rt.stop_sync()


def test_rest_intake_has_the_same_limit(tmp_path, mosquitto) -> None:
    cfg = unique_site(plant_config(f"sqlite:///{tmp_path / 'mes.db'}", mosquitto.url))
    with running_app(cfg) as (client, engine):
        admin = admin_token(client)
        r = client.post(
            "/api/v1/tokens", json={"name": "erp", "role": "erp"}, headers=bearer(admin)
        )
        erp = {**bearer(r.json()["access_token"]), "Content-Type": "application/json"}
        # over mes.erp.max_message_bytes (256 KiB), under the HTTP body cap of the ERP routes
        # (mes.security.body_limits, 1 MiB): the ERP limit answers, as on MQTT
        msg = release_message("PO-REST-BIG", 5)
        msg["order"]["notes"] = "x" * (512 * 1024)
        r = client.post("/api/v1/erp/orders", content=json.dumps(msg).encode(), headers=erp)
        assert r.status_code == 413, r.text
        assert r.json()["code"] == "MESSAGE_TOO_LARGE"
        # over the HTTP cap: refused before it is read, with the same status
        r = client.post("/api/v1/erp/orders", content=big_order("PO-REST-BIG"), headers=erp)
        assert r.status_code == 413, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        with Session(engine) as s:
            assert (
                s.exec(select(WorkOrder).where(WorkOrder.erp_id == "PO-REST-BIG")).first() is None
            )
        # an unknown field is not carried into what is applied: the bytes as sent are
        msg = release_message("PO-REST-OK", 3)
        msg["order"]["components"] = []
        r = client.post("/api/v1/erp/orders", json=msg, headers=erp)
        assert r.status_code == 200, r.text
