"""Subscriptions that hand over one batch of readings per publish response.

asyncua's stock handler spawns one task per notification; at 10,000 items that costs more
than the decoding. Here each PublishResponse becomes one list of readings, decoded in
place, which is also the unit the telemetry contract publishes.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from asyncua import Client, ua
from asyncua.common.subscription import Subscription

from edge.drivers.opcua import codec
from edge.drivers.opcua.config import OpcUaTag
from edge.model import Reading, now_ms

log = logging.getLogger(__name__)

#: Status codes meaning "this server cannot apply that filter": retry without the filter.
_FILTER_REFUSED = {
    ua.StatusCodes.BadMonitoredItemFilterUnsupported,
    ua.StatusCodes.BadFilterNotAllowed,
    ua.StatusCodes.BadMonitoredItemFilterInvalid,
    ua.StatusCodes.BadDeadbandFilterInvalid,
}

OnReadings = Callable[[list[Reading]], None]
OnLost = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ItemSpec:
    """One tag as a monitored item: its parsed node id and its settings."""

    tag: OpcUaTag
    node_id: ua.NodeId


class _NoHandler:
    """Placeholder: batches are handled in publish_callback, never per notification."""


class BatchSubscription(Subscription):
    """One subscription; its items' client handles index `items`."""

    def __init__(
        self,
        client: Client,
        params: ua.CreateSubscriptionParameters,
        items: Sequence[ItemSpec],
        on_readings: OnReadings,
        on_lost: OnLost,
    ) -> None:
        super().__init__(client.uaclient.session, params, _NoHandler())  # type: ignore[arg-type]
        self.items = list(items)
        self.on_readings = on_readings
        self.on_lost = on_lost
        self.closed = False  # set when the session is torn down: late data is dropped

    async def publish_callback(self, publish_result: ua.PublishResult) -> None:
        """Called inside asyncua's publish loop: decode soon, but let the loop send the next
        PublishRequest first, so the server never waits for our decoding."""
        self.last_publish_at = time.monotonic()
        message = publish_result.NotificationMessage
        if not message.NotificationData:
            return
        self.last_sequence_number = int(message.SequenceNumber)
        asyncio.get_running_loop().call_soon(self._decode, message.NotificationData, now_ms())

    def _decode(self, notifications: list[Any], acquired: int) -> None:
        if self.closed:
            return  # its session was declared lost: a good value now would contradict that
        batch: list[Reading] = []
        items = self.items
        for notif in notifications:
            if isinstance(notif, ua.DataChangeNotification):
                for mi in notif.MonitoredItems:
                    handle = mi.ClientHandle
                    if not 0 <= handle < len(items):
                        continue
                    tag = items[handle].tag
                    dv = mi.Value
                    variant = dv.Value
                    batch.append(
                        codec.reading(
                            tag.name,
                            tag.unit,
                            variant.Value if variant is not None else None,
                            dv.StatusCode.value if dv.StatusCode is not None else 0,
                            dv.SourceTimestamp,
                            dv.ServerTimestamp,
                            acquired,
                        )
                    )
            elif isinstance(notif, ua.StatusChangeNotification):
                code = notif.Status.value
                if code & 0x80000000:
                    self.on_lost(codec.status_name(code))
        if batch:
            self.on_readings(batch)


def _filter(tag: OpcUaTag) -> ua.DataChangeFilter | None:
    if tag.deadband is None and tag.deadband_percent is None:
        return None
    flt = ua.DataChangeFilter()
    flt.Trigger = ua.DataChangeTrigger.StatusValue
    if tag.deadband is not None:
        flt.DeadbandType = ua.DeadbandType.Absolute
        flt.DeadbandValue = tag.deadband
    else:
        flt.DeadbandType = ua.DeadbandType.Percent
        flt.DeadbandValue = float(tag.deadband_percent or 0.0)
    return flt


def _request(
    handle: int, spec: ItemSpec, default_sampling_ms: float, with_filter: bool
) -> ua.MonitoredItemCreateRequest:
    rv = ua.ReadValueId()
    rv.NodeId = spec.node_id
    rv.AttributeId = ua.AttributeIds.Value
    mp = ua.MonitoringParameters()
    mp.ClientHandle = handle
    sampling = spec.tag.sampling_interval_ms
    mp.SamplingInterval = float(default_sampling_ms if sampling is None else sampling)
    mp.QueueSize = spec.tag.queue_size
    mp.DiscardOldest = True
    flt = _filter(spec.tag) if with_filter else None
    if flt is not None:
        mp.Filter = flt
    req = ua.MonitoredItemCreateRequest()
    req.ItemToMonitor = rv
    req.MonitoringMode = ua.MonitoringMode.Reporting
    req.RequestedParameters = mp
    return req


async def subscribe(
    client: Client,
    items: Sequence[ItemSpec],
    publishing_interval_ms: int,
    on_readings: OnReadings,
    on_lost: OnLost,
) -> tuple[BatchSubscription, dict[str, str]]:
    """Create one subscription with `items`; returns it and {tag: status name} of refusals.

    Items whose deadband filter the server refuses are created again without it (the
    pipeline's deadband still applies); items still refused are reported, not retried.
    """
    params = ua.CreateSubscriptionParameters()
    params.RequestedPublishingInterval = float(publishing_interval_ms)
    params.RequestedMaxKeepAliveCount = client.get_keepalive_count(publishing_interval_ms)
    params.RequestedLifetimeCount = params.RequestedMaxKeepAliveCount * 3
    params.MaxNotificationsPerPublish = 0  # no limit: one response carries the whole change
    params.PublishingEnabled = True
    params.Priority = 0
    sub = BatchSubscription(client, params, items, on_readings, on_lost)
    await sub.init()
    reqs = [_request(i, spec, publishing_interval_ms, True) for i, spec in enumerate(items)]
    results = await sub.create_monitored_items(reqs)
    refused: dict[str, str] = {}
    retry: list[int] = []
    for i, res in enumerate(results):
        if isinstance(res, ua.StatusCode):
            if res.value in _FILTER_REFUSED:
                retry.append(i)
            else:
                refused[items[i].tag.name] = codec.status_name(res.value)
    if retry:
        names = [items[i].tag.name for i in retry]
        log.warning("server refused the deadband filter of %s: filtering client-side", names)
        again = await sub.create_monitored_items(
            [_request(i, items[i], publishing_interval_ms, False) for i in retry]
        )
        for i, res in zip(retry, again, strict=True):
            if isinstance(res, ua.StatusCode):
                refused[items[i].tag.name] = codec.status_name(res.value)
    return sub, refused
