"""One device state from the states of its sessions, reported only when it changes."""

from collections.abc import Sequence

from edge.drivers.base import DeviceState, DriverHost


def combine(states: Sequence[DeviceState]) -> DeviceState:
    """All connected: connected; none up: disconnected (or connecting before any failure);
    anything in between: degraded."""
    up = [s in ("connected", "degraded") for s in states]
    if all(s == "connected" for s in states):
        return "connected"
    if any(up):
        return "degraded"
    if any(s == "connecting" for s in states) and "disconnected" not in states:
        return "connecting"
    return "disconnected"


class StatusBoard:
    """Collects per-session states and tells the host when the device state changes."""

    def __init__(self, sessions: int, host: DriverHost) -> None:
        self.states: list[DeviceState] = ["connecting"] * sessions
        self.errors: list[str | None] = [None] * sessions
        self.host = host
        self.reported: tuple[DeviceState, str | None] | None = None

    def set(self, index: int, state: DeviceState, error: str | None = None) -> None:
        self.states[index] = state
        self.errors[index] = error
        combined = combine(self.states)
        first_error = next((e for e in self.errors if e), None)
        current = (combined, None if combined == "connected" else first_error)
        if current != self.reported:
            self.reported = current
            self.host.status(*current)
