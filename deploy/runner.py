"""Run the services of `vq up` until SIGINT or SIGTERM asks us to stop.

A service is an async function given the Runtime; it runs until cancelled.
"""

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from deploy.embedded import ServerUrls
from deploy.errors import ServiceFailed
from deploy.settings import Settings

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class Runtime:
    """What a running service needs: settings, server URLs and the secret."""

    settings: Settings
    urls: ServerUrls
    secret: str = field(repr=False)


Service = Callable[[Runtime], Awaitable[None]]


async def run_until_signal(runtime: Runtime, services: Sequence[Service]) -> None:
    """Run the services until a stop signal, or until one of them ends."""
    stop = _stop_event()
    tasks = [asyncio.create_task(_run(service, runtime)) for service in services]
    stopper = asyncio.create_task(stop.wait())
    logger.info("vq ready services=%d", len(tasks))

    await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for task in [stopper, *tasks]:
        task.cancel()
    results = await asyncio.gather(stopper, *tasks, return_exceptions=True)

    failures = [r for r in results[1:] if isinstance(r, ServiceFailed)]
    if failures:
        raise failures[0]


async def _run(service: Service, runtime: Runtime) -> None:
    name = getattr(service, "__qualname__", repr(service))
    logger.info("service started name=%s", name)
    try:
        await service(runtime)
    except asyncio.CancelledError:
        logger.info("service stopped name=%s", name)
        raise
    except Exception as exc:
        logger.exception("service failed name=%s", name)
        raise ServiceFailed(f"service {name} failed: {exc}") from exc
    raise ServiceFailed(f"service {name} returned; services run until stopped")


def _stop_event() -> asyncio.Event:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, _on_signal, stop, sig)
    return stop


def _on_signal(stop: asyncio.Event, sig: signal.Signals) -> None:
    logger.info("vq stopping signal=%s", sig.name)
    stop.set()
