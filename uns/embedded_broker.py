"""An in-process MQTT broker (amqtt) for the demo on machines without Mosquitto.

MQTT 3.1.1 only and no shared subscriptions (FIELD-NOTES): fine for a demo, not for production.
Run as `python -m uns.embedded_broker PORT`.
"""

import asyncio
import contextlib
import signal
import sys
from typing import Any


def broker_config(port: int) -> dict[str, Any]:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


async def serve(port: int, stop: asyncio.Event) -> None:
    from amqtt.broker import Broker

    broker = Broker(broker_config(port))
    await broker.start()
    try:
        await stop.wait()
    finally:
        await broker.shutdown()


def main(argv: list[str]) -> int:
    port = int(argv[1]) if len(argv) > 1 else 1883

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(port, stop)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
