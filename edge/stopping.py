"""Stopping loops that a cancellation must end even when something swallowed it.

On Python 3.11, `asyncio.wait_for` returns normally when the awaited thing completes in the
same moment the task is cancelled (a server going away as the agent stops does exactly
that), and some libraries catch `CancelledError`. The task's pending cancel requests are still
counted (`Task.cancelling()`), so a reconnect loop asks before each new round."""

import asyncio


def raise_if_cancelled() -> None:
    """Raise CancelledError if the current task was asked to stop (even if that was lost)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
