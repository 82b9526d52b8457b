"""Device writes (docs/contracts.md section 4): validate, check the allow-list, write, audit.

`WriteService.handle(device, request, caller)` serves both MQTT `_cmd/write` and the REST call
(the caller authenticates first; `caller` says who that was). Every attempt, refusals included,
is passed to `audit` as one dict whose `by` is the authenticated identity (`claimed_by` is what
the request said). Attempts that never became a request (no valid token, not JSON) are audited
through `refuse`. A numeric write must lie within the tag's `limits` (min/max, and a largest
rate of change against the previous write through this agent); a writable tag without limits
takes no numbers. A request repeated with the same `request_id` (a retry) gets the first result
again and is not written twice.
"""

import asyncio
import hashlib
import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from config.files import write_private
from config.security import WriteLimits
from edge.drivers.base import Driver, WriteRefused

log = logging.getLogger(__name__)

#: results remembered per service for retried request ids
REMEMBERED = 1000
#: characters of an unparsable payload kept in the audit (with its length and SHA-256)
EXCERPT = 200


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a write: the identity that authenticated, how, and from where."""

    identity: str
    via: Literal["http", "mqtt", "internal"]
    remote: str | None = None


#: MQTT does not tell a subscriber who published: the broker authenticated the publisher and
#: its ACL decides who may publish `_cmd/write` (config/mosquitto.acl.example)
MQTT_CALLER = Caller("mqtt", "mqtt")
#: a Sparkplug DCMD: likewise authenticated by the broker (who may publish spBv1.0/+/DCMD/#)
SPARKPLUG_CALLER = Caller("sparkplug-dcmd", "mqtt")


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def limit_problem(
    where: str,
    limits: WriteLimits | None,
    value: object,
    previous: tuple[float, float] | None,
    now: float,
) -> str | None:
    """Why `value` may not be written to the tag `where` (device.tag), or None.

    `previous` is (value, time) of the last write to the tag, None before the first.
    """
    number = _number(value)
    if limits is None:
        if number is None:
            return None  # booleans and strings: the driver checks they fit the tag
        return (
            f"tag {where} has no write limits: declare limits {{min, max}} (engineering units) "
            "for it in the plant file before writing numbers"
        )
    if number is None:
        return f"tag {where} takes a number between {limits.min:g} and {limits.max:g}"
    if not limits.min <= number <= limits.max:
        return (
            f"{number:g} is outside the limits of {where}: "
            f"{limits.min:g} to {limits.max:g} (plant file)"
        )
    rate = limits.max_rate_per_s
    if rate is not None and previous is not None:
        last, at = previous
        elapsed = max(now - at, 0.0)
        if abs(number - last) > rate * elapsed:
            return (
                f"changing {where} from {last:g} to {number:g} in {elapsed:.1f} s exceeds its "
                f"rate limit of {rate:g} per second"
            )
    return None


class BadWriteRequest(ValueError):
    """The request itself is malformed; the message says which field and why."""


def parse_request(request: object) -> tuple[str, str, Any, str | None]:
    """(request_id, tag, value, by) of a write request, or BadWriteRequest."""
    if not isinstance(request, dict):
        raise BadWriteRequest("a write request is a JSON object")
    v = request.get("v", 1)
    if v != 1:
        raise BadWriteRequest(f"unsupported schema version v={v!r} (expected 1)")
    rid = request.get("request_id")
    if not isinstance(rid, str) or not rid:
        raise BadWriteRequest("request_id must be a non-empty string")
    tag = request.get("tag")
    if not isinstance(tag, str) or not tag:
        raise BadWriteRequest("tag must be a non-empty string")
    if "value" not in request:
        raise BadWriteRequest("value is missing")
    value = request["value"]
    if value is None or not isinstance(value, bool | int | float | str):
        raise BadWriteRequest("value must be a number, a boolean or a string")
    if isinstance(value, float) and not math.isfinite(value):
        raise BadWriteRequest("value must be a finite number")
    by = request.get("by")
    if by is not None and not isinstance(by, str):
        raise BadWriteRequest("by must be a string (the user or service writing)")
    return rid, tag, value, by


class WriteService:
    """Writes to devices for tags configured `writable: true`; anything else is refused."""

    def __init__(
        self,
        devices: Mapping[str, tuple[Any, Driver]],
        audit: Callable[[dict[str, Any]], None],
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
        ramp_state: Path | None = None,
    ) -> None:
        self.devices = devices
        self.audit = audit
        self.timeout_s = timeout_s
        self.clock = clock
        self._writable = {
            name: {t.name for t in cfg.tags if getattr(t, "writable", False)}
            for name, (cfg, _) in devices.items()
        }
        self._limits: dict[tuple[str, str], WriteLimits | None] = {
            (name, t.name): getattr(t, "limits", None)
            for name, (cfg, _) in devices.items()
            for t in cfg.tags
        }
        #: tags known to hold a boolean (coils): limits do not apply, the driver checks values
        self._boolean = {
            (name, t.name)
            for name, (cfg, _) in devices.items()
            for t in cfg.tags
            if getattr(t, "type", None) == "bool"
        }
        self._known = {name: {t.name for t in cfg.tags} for name, (cfg, _) in devices.items()}
        for name, tags in self._writable.items():
            for tag in sorted(tags):
                if self._limits[(name, tag)] is None and (name, tag) not in self._boolean:
                    log.warning(
                        "tag %s.%s is writable without limits: numbers written to it are "
                        "refused until the plant file declares limits {min, max}",
                        name,
                        tag,
                    )
        self._done: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        #: the last accepted value and time of each rate-limited tag, kept across restarts in
        #: `ramp_state` (JSON): a restart does not reopen the first step to the whole range
        self._ramp_state = ramp_state
        self._last = _load_ramps(ramp_state)

    async def handle(self, device: str, request: dict[str, Any], caller: Caller) -> dict[str, Any]:
        """The result `{"v": 1, "request_id", "ok", "error"?}` (error only when not ok)."""
        entry = _entry(device, caller, request)
        try:
            rid, tag, value, _by = parse_request(request)
        except BadWriteRequest as exc:
            return self._finish(entry, f"bad request: {exc}")
        lock = self._locks.setdefault(device, asyncio.Lock())
        async with lock:  # one write at a time per device, in arrival order
            previous = self._done.get((device, rid))
            if previous is not None:
                self._audit({**entry, "ok": previous["ok"], "error": "duplicate request_id"})
                return dict(previous)
            error = self._refusal(device, tag) or self._out_of_limits(device, tag, value)
            if error is None:
                error = await self._write(device, tag, value)
                number = _number(value)
                if error is None and number is not None:
                    self._remember(device, tag, number)
            result = self._finish(entry, error)
            self._done[(device, rid)] = result
            while len(self._done) > REMEMBERED:
                self._done.popitem(last=False)
            return result

    def refuse(
        self, device: str, caller: Caller, error: str, payload: bytes | None = None
    ) -> dict[str, Any]:
        """Audit an attempt that never became a request (no valid token, not JSON) and give
        its result. Only a bounded excerpt of `payload` is kept, with its length and hash."""
        entry = _entry(device, caller, None)
        if payload is not None:
            entry["payload"] = {
                "excerpt": payload[:EXCERPT].decode("utf-8", "replace"),
                "bytes": len(payload),
                "sha256": hashlib.sha256(payload).hexdigest(),
            }
        return self._finish(entry, error)

    def _remember(self, device: str, tag: str, value: float) -> None:
        limits = self._limits[(device, tag)]
        if limits is None or limits.max_rate_per_s is None:
            return
        self._last[(device, tag)] = (value, self.clock())
        if self._ramp_state is not None:
            rows = [[d, t, v, at] for (d, t), (v, at) in sorted(self._last.items())]
            try:
                write_private(self._ramp_state, json.dumps({"v": 1, "last": rows}).encode())
            except OSError as exc:
                log.error("cannot keep the last written values in %s: %s", self._ramp_state, exc)

    def _out_of_limits(self, device: str, tag: str, value: Any) -> str | None:
        if (device, tag) in self._boolean:
            return None
        limits = self._limits[(device, tag)]
        previous = self._last.get((device, tag))
        return limit_problem(f"{device}.{tag}", limits, value, previous, self.clock())

    def _refusal(self, device: str, tag: str) -> str | None:
        if device not in self.devices:
            return f"unknown device {device!r}"
        if tag not in self._known[device]:
            return f"device {device} has no tag {tag!r}"
        if tag not in self._writable[device]:
            return f"tag {tag!r} of {device} is not writable (not configured writable: true)"
        return None

    async def _write(self, device: str, tag: str, value: Any) -> str | None:
        driver = self.devices[device][1]
        try:
            await asyncio.wait_for(driver.write(tag, value), self.timeout_s)
        except WriteRefused as exc:
            return str(exc)
        except TimeoutError:
            return f"no confirmation from {device} within {self.timeout_s:g} s"
        except Exception as exc:
            log.exception("write %s.%s failed", device, tag)
            return f"write failed: {exc}"
        return None

    def _finish(self, entry: dict[str, Any], error: str | None) -> dict[str, Any]:
        self._audit({**entry, "ok": error is None, "error": error})
        result: dict[str, Any] = {"v": 1, "request_id": entry["request_id"], "ok": error is None}
        if error is not None:
            result["error"] = error
        return result

    def _audit(self, entry: dict[str, Any]) -> None:
        record = {"at": datetime.now(UTC).isoformat(timespec="milliseconds"), **entry}
        try:
            self.audit(record)
        except Exception:
            log.exception("audit log refused a write record; the write result stands")


def _load_ramps(path: Path | None) -> dict[tuple[str, str], tuple[float, float]]:
    if path is None or not path.exists():
        return {}
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["last"]
        return {(str(d), str(t)): (float(v), float(at)) for d, t, v, at in rows}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.error("last written values in %s unreadable (%s): rate limits start afresh", path, exc)
        return {}


def _entry(device: str, caller: Caller, request: object) -> dict[str, Any]:
    fields = request if isinstance(request, dict) else {}
    rid = fields.get("request_id")
    entry: dict[str, Any] = {
        "device": device,
        "via": caller.via,
        "by": caller.identity,
        "claimed_by": fields.get("by"),
        "request_id": rid if isinstance(rid, str) else None,
        "tag": fields.get("tag"),
        "value": fields.get("value"),
    }
    if caller.remote is not None:
        entry["remote"] = caller.remote
    return entry
