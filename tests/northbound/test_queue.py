"""The durable queue on its own: order, acknowledgement, bounds, counters, reopening."""

from pathlib import Path

import pytest

from edge.northbound.queue import DurableQueue, Outgoing, QueueError


def msg(i: int, size: int = 100, values: int = 10) -> Outgoing:
    return Outgoing("t/x", str(i).encode().ljust(size, b"."), values=values)


def test_keeps_order_and_removes_only_acknowledged(tmp_path: Path) -> None:
    q = DurableQueue(tmp_path / "q.sqlite", max_bytes=1_000_000)
    ids = q.append([msg(i) for i in range(5)])
    assert ids == sorted(ids)
    q.remove(ids[1:3])
    rows = q.read(ids[0], 10)
    assert [r.payload[:1] for r in rows] == [b"0", b"3", b"4"]
    assert q.depth == 3
    assert q.bytes == 3 * (100 + 3)


def test_survives_reopen_with_counters(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    q = DurableQueue(path, max_bytes=1_000_000)
    q.append([msg(1), msg(2)], {"seq/press-01": 7})
    q.close()
    q2 = DurableQueue(path, max_bytes=1_000_000)
    assert q2.depth == 2
    assert q2.counters("seq/") == {"seq/press-01": 7}
    more = q2.append([msg(3)])
    first = q2.first_id()
    assert first is not None
    assert [r.payload[:1] for r in q2.read(first, 10)] == [b"1", b"2", b"3"]
    assert more[0] > first


def test_drop_oldest_counts_messages_and_values(tmp_path: Path) -> None:
    q = DurableQueue(tmp_path / "q.sqlite", max_bytes=10 * 103)
    q.append([msg(i) for i in range(10)])
    assert q.dropped.messages == 0
    kept = q.append([msg(i) for i in range(10, 13)])
    assert len(kept) == 3
    assert q.dropped.messages == 3
    assert q.dropped.values == 30
    first = q.first_id()
    assert first is not None
    assert [int(r.payload.rstrip(b".")) for r in q.read(first, 100)] == list(range(3, 13))
    assert q.bytes <= q.max_bytes


def test_refuse_new_keeps_the_old(tmp_path: Path) -> None:
    q = DurableQueue(tmp_path / "q.sqlite", max_bytes=5 * 103, when_full="refuse_new")
    kept = q.append([msg(i) for i in range(8)])
    assert len(kept) == 5
    assert q.dropped.messages == 3
    assert [int(r.payload.rstrip(b".")) for r in q.read(kept[0], 100)] == list(range(5))


def test_expires_by_age(tmp_path: Path) -> None:
    q = DurableQueue(tmp_path / "q.sqlite", max_bytes=1_000_000, max_age_s=0.001)
    q.append([msg(1)])
    q._db.execute("UPDATE outbox SET created_ms = created_ms - 1000")
    assert q.expire().messages == 1
    assert q.depth == 0


def test_unusable_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(QueueError, match=r"not-a-db\.sqlite"):
        DurableQueue(bad, max_bytes=1_000_000)
