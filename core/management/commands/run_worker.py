"""`manage.py run_worker`: the background process (mempool feed, health sampler, price scheduler)."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import structlog
from django.conf import settings

from core.commands import CorrelatedCommand
from core.worker import loops_from_paths, run_loops

log = structlog.get_logger(__name__)


class Command(CorrelatedCommand):
    help = "Run the background loops (settings.WORKER_LOOPS) until SIGINT or SIGTERM."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--only",
            action="append",
            metavar="NAME",
            help="run only the named loop (repeatable); default: all",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        loops = loops_from_paths(settings.WORKER_LOOPS)
        if options["only"]:
            unknown = set(options["only"]) - {loop.name for loop in loops}
            if unknown:
                names = ", ".join(loop.name for loop in loops) or "none"
                self.stderr.write(f"unknown loop(s): {', '.join(sorted(unknown))} (have: {names})")
                raise SystemExit(2)
            loops = [loop for loop in loops if loop.name in options["only"]]
        asyncio.run(self._run(loops))

    async def _run(self, loops: list) -> None:
        stop = asyncio.Event()
        running = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            running.add_signal_handler(signum, self._request_stop, stop, signum)
        await run_loops(loops, stop)

    @staticmethod
    def _request_stop(stop: asyncio.Event, signum: int) -> None:
        log.info("worker_stop_requested", signal=signal.Signals(signum).name)
        stop.set()
