"""Board API: the snapshot (`GET /api/v1/board`) and its live changes (server-sent events)."""

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from mes.api.deps import ServicesDep, SessionDep, require
from mes.auth.roles import Permission, Principal
from mes.board.snapshot import Board, board

router = APIRouter(prefix="/api/v1/board", tags=["board"])

BoardReader = Annotated[Principal, require(Permission.BOARD_READ)]
#: a comment line this often keeps proxies (and the browser) from closing an idle stream
HEARTBEAT_S = 15.0


class EventStream(StreamingResponse):
    media_type = "text/event-stream"


@router.get(
    "",
    response_model=Board,
    summary="The supervisor board: orders with forecast, workstation tiles, holds, NCRs",
)
def get_board(_: BoardReader, session: SessionDep, services: ServicesDep) -> Board:
    return board(session, services.cfg, services.performance.units, plan_of=services.board.plan_of)


@router.get(
    "/stream",
    summary="The board live: `snapshot` first, then `changes` (server-sent events)",
    response_class=EventStream,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
async def stream(_: BoardReader, services: ServicesDep) -> StreamingResponse:
    feed = services.board
    q = await feed.subscribe()

    async def events() -> AsyncIterator[bytes]:
        try:
            while True:
                try:
                    msg = await asyncio.wait_for(q.get(), timeout=HEARTBEAT_S)
                except TimeoutError:
                    yield b": heartbeat\n\n"
                    continue
                if msg is None:  # the MES is shutting down
                    return
                yield msg  # encoded once by the feed for every board
        finally:
            feed.unsubscribe(q)

    return EventStream(events(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
