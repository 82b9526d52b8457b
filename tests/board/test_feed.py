"""The change feed without a database: boards opening together share one feed and one rebuild;
a poke sends each board only the changes, encoded once; close ends every stream."""

import asyncio
import json
from typing import Any

from mes.board.feed import BoardFeed


def parse(message: bytes | None) -> tuple[str, dict[str, Any]]:
    assert message is not None
    head, data = message.decode().strip().split("\n")
    return head.removeprefix("event: "), json.loads(data.removeprefix("data: "))


async def test_boards_opening_together_share_one_feed() -> None:
    state = {"at": "t0", "tiles": [{"station": "ws-10", "good": 1}]}
    feed = BoardFeed(lambda: dict(state), debounce_s=0.01, refresh_s=60)
    queues = await asyncio.gather(*(feed.subscribe() for _ in range(5)))
    assert feed.builds == 1
    assert feed.subscribers == 5
    assert {parse(q.get_nowait())[0] for q in queues} == {"snapshot"}
    state["tiles"] = [{"station": "ws-10", "good": 2}]
    feed.poke()
    got = [await asyncio.wait_for(q.get(), 5) for q in queues]
    assert all(m is got[0] for m in got)  # one encoding for every board
    kind, body = parse(got[0])
    assert kind == "changes"
    assert body["tiles"] == {"upsert": [{"station": "ws-10", "good": 2}], "remove": []}
    assert feed.builds == 2
    feed.close()
    assert [await asyncio.wait_for(q.get(), 5) for q in queues] == [None] * 5
