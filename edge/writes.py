"""Device writes (CONTRACTS.md section 4): validate, check the allow-list, write, audit.

`WriteService.handle(device, request)` serves both MQTT `_cmd/write` and the REST call (the
caller authenticates). Every attempt, refusals included, is passed to `audit` as one dict.
A request repeated with the same `request_id` (a retry) gets the first result again and is not
written twice.
"""

import asyncio
import logging
import math
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from edge.drivers.base import Driver, WriteRefused

log = logging.getLogger(__name__)

#: results remembered per service for retried request ids
REMEMBERED = 1000


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
    ) -> None:
        self.devices = devices
        self.audit = audit
        self.timeout_s = timeout_s
        self._writable = {
            name: {t.name for t in cfg.tags if getattr(t, "writable", False)}
            for name, (cfg, _) in devices.items()
        }
        self._known = {name: {t.name for t in cfg.tags} for name, (cfg, _) in devices.items()}
        self._done: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def handle(self, device: str, request: dict[str, Any]) -> dict[str, Any]:
        """The result `{"v": 1, "request_id", "ok", "error"?}` (error only when not ok)."""
        raw_rid = request.get("request_id") if isinstance(request, dict) else None
        entry: dict[str, Any] = {
            "device": device,
            "request_id": raw_rid if isinstance(raw_rid, str) else None,
            "tag": request.get("tag") if isinstance(request, dict) else None,
            "value": request.get("value") if isinstance(request, dict) else None,
            "by": request.get("by") if isinstance(request, dict) else None,
        }
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
            error = self._refusal(device, tag)
            if error is None:
                error = await self._write(device, tag, value)
            result = self._finish(entry, error)
            self._done[(device, rid)] = result
            while len(self._done) > REMEMBERED:
                self._done.popitem(last=False)
            return result

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
