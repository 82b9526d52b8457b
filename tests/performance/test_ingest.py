"""The state consumer's `handle` and `StateBatch` on real SQLite and PostgreSQL databases:
telemetry to state intervals, redeliveries, silence, bad messages, downtime events, restart
continuity (the `engine` fixture runs each test on both)."""

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mes.performance.ingest import BadMessage, StateBatch
from mes.performance.models import DowntimeEvent, StateInterval
from tests.performance.adapters import NS, PRESS, T0, consumer, mes_db, press, s


def feed(engine, cons, messages, tick=None):
    with Session(engine) as session:
        batch = StateBatch(session, cons.units)
        for topic, payload in messages:
            cons.handle(batch, topic, payload)
        if tick is not None:
            batch.tick("ws-10", tick, heartbeat=False)
        batch.finish()
        session.commit()


def intervals(engine):
    with Session(engine) as session:
        rows = session.exec(select(StateInterval).order_by(col(StateInterval.start))).all()
        return [(r.state, (r.end - r.start).total_seconds()) for r in rows]


def test_press_states_become_intervals_across_transactions(engine: Engine) -> None:
    cons = consumer(engine)
    feed(engine, cons, [(PRESS, press(T0, 0)), (PRESS, press(T0 + s(100), 1))])
    # the next transaction resumes the builder from its cursor
    feed(engine, cons, [(PRESS, press(T0 + s(200), 2, fault=True))])
    feed(engine, cons, [(PRESS, press(T0 + s(260), 1))])
    # idle without a job is "no order"; the fault lasted the micro-stop threshold exactly
    assert intervals(engine) == [("no_order", 100.0), ("running", 100.0), ("fault", 60.0)]


def test_a_redelivered_message_changes_nothing(engine: Engine) -> None:
    cons = consumer(engine)
    feed(engine, cons, [(PRESS, press(T0, 1)), (PRESS, press(T0 + s(100), 0))])
    feed(engine, cons, [(PRESS, press(T0, 1)), (PRESS, press(T0 + s(200), 1))])
    assert intervals(engine) == [("running", 100.0), ("no_order", 100.0)]


def test_a_short_stop_is_a_micro_stop_and_no_downtime_event(engine: Engine) -> None:
    cons = consumer(engine)
    feed(engine, cons, [(PRESS, press(T0, 1)), (PRESS, press(T0 + s(10), 2, fault=True))])
    feed(engine, cons, [(PRESS, press(T0 + s(40), 1)), (PRESS, press(T0 + s(50), 1))])
    assert intervals(engine) == [("running", 10.0), ("micro_stop", 30.0)]
    with Session(engine) as session:
        assert session.exec(select(DowntimeEvent)).all() == []


def test_a_long_stop_opens_a_downtime_event_that_closes_with_it(engine: Engine) -> None:
    cons = consumer(engine)
    feed(engine, cons, [(PRESS, press(T0, 1)), (PRESS, press(T0 + s(10), 2, fault=True))])
    feed(engine, cons, [(PRESS, press(T0 + s(100), 2, fault=True))])
    with Session(engine) as session:
        (event,) = session.exec(select(DowntimeEvent)).all()
        assert (event.state, event.end) == ("fault", None)
    feed(engine, cons, [(PRESS, press(T0 + s(130), 1))])
    with Session(engine) as session:
        (event,) = session.exec(select(DowntimeEvent)).all()
        assert event.state == "fault"
        assert (event.end - event.start).total_seconds() == 120.0


def test_silence_and_bad_quality_are_unknown(engine: Engine) -> None:
    cons = consumer(engine)
    feed(engine, cons, [(PRESS, press(T0, 1))], tick=T0 + s(500))
    feed(engine, cons, [(PRESS, press(T0 + s(600), 1, quality="bad"))])
    feed(engine, cons, [(PRESS, press(T0 + s(650), 1))])
    # silence_timeout 120 s: running until T0+120, unknown until heard again and while bad
    assert intervals(engine) == [("running", 120.0), ("unknown", 530.0)]


def test_agent_offline_is_unknown_at_once(engine: Engine) -> None:
    cons = consumer(engine)
    feed(engine, cons, [(PRESS, press(T0, 1))])
    agent = f"{NS.root}/_edge/edge-1/_status"
    feed(engine, cons, [(agent, b'{"v":1,"agent":"edge-1","online":false,"since":1}')])
    with Session(engine) as session:
        batch = StateBatch(session, cons.units)
        assert batch._get("ws-10", T0).builder.current.state.value == "unknown"


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (PRESS, b"{nope", "not JSON"),
        (PRESS, b"[1]", "not a JSON object"),
        (PRESS, b'{"ts": 1}', "`values` must be a list"),
        (PRESS, b'{"ts": "x", "values": []}', "`ts` must be milliseconds"),
        (PRESS, b'{"ts": 1, "values": [{"value": 1}]}', "values[0]: needs a `tag`"),
        (PRESS, b'{"ts": 1, "values": [{"tag": "a", "quality": "meh"}]}', "unknown quality"),
        (PRESS, b'{"ts": 1, "values": [{"tag": "a", "quality": ["good"]}]}', "unknown quality"),
        (PRESS, b'{"ts": 1, "values": [{"tag": 7, "value": 1}]}', "values[0]: needs a `tag`"),
        (PRESS, b'{"ts": 1, "values": [3]}', "values[0]: needs a `tag`"),
        (f"{NS.root}/_edge/edge-1/_status", b'{"online": "yes"}', "boolean `online`"),
        ("other/topic", b"{}", "outside our namespace"),
    ],
)
def test_bad_messages_name_what_is_wrong(tmp_path: Path, topic, payload, reason) -> None:
    engine = mes_db(tmp_path)
    cons = consumer(engine)
    with Session(engine) as session, pytest.raises(BadMessage, match=reason.replace("[", r"\[")):
        cons.handle(StateBatch(session, cons.units), topic, payload)
