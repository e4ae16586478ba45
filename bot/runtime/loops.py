"""Background loops that never die silently.

Every loop the bot runs besides the turns themselves (the heartbeat file, the orphan sweeper, the
batch poller, the lag monitor) runs through BackgroundLoops: an iteration that raises is logged
and the loop goes on; a loop that ends anyway, or is stuck in one iteration, makes `healthy()`
false, which /healthz and the heartbeat file report.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

log = structlog.get_logger("bot.loops")

Step = Callable[[], Awaitable[None]]
STUCK_AFTER_SECONDS = 300.0  # one iteration running longer than this: the loop is stuck


@dataclass
class _Loop:
    """One loop's state, as the health check reads it."""

    name: str
    stuck_after: float
    task: asyncio.Task[None] | None = None
    iteration_started: float | None = None  # monotonic; None between iterations
    failures: int = 0
    ended_cleanly: bool = False
    last_error: str = field(default="")

    def is_dead(self, now: float) -> bool:
        """Ended on its own, or stuck in one iteration for longer than stuck_after."""
        ended = self.task is not None and self.task.done() and not self.ended_cleanly
        started = self.iteration_started
        return ended or (started is not None and now - started > self.stuck_after)


class BackgroundLoops:
    """Starts named loops, keeps them alive through failures, and says which ones are dead."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._loops: dict[str, _Loop] = {}

    def start(
        self,
        name: str,
        step: Step,
        every: float,
        *,
        stop: asyncio.Event | None = None,
        stuck_after: float = STUCK_AFTER_SECONDS,
        on_end: Step | None = None,
    ) -> asyncio.Task[None]:
        """Run `step` now and then every `every` seconds until `stop` is set or the task is
        cancelled; an exception in one step is logged and the next step runs as planned.
        `on_end` runs when the loop ends, however it ends (shielded from cancellation)."""
        loop = _Loop(name, stuck_after)
        loop.task = asyncio.create_task(
            self._run(loop, step, every, stop, on_end), name=f"loop:{name}"
        )
        loop.task.add_done_callback(lambda task: self._ended(loop, task))
        self._loops[name] = loop
        return loop.task

    def dead(self) -> list[str]:
        """Names of the loops that ended on their own or are stuck in one iteration."""
        now = self._clock()
        return [loop.name for loop in self._loops.values() if loop.is_dead(now)]

    async def healthy(self) -> bool:
        """True when every loop is running (a health check; async to fit /healthz)."""
        return not self.dead()

    def failures(self, name: str) -> int:
        """How many iterations of the loop raised so far."""
        return self._loops[name].failures

    async def cancel_all(self) -> None:
        """Cancel every loop and wait for them to end."""
        await self.cancel(tuple(self._loops))

    async def cancel(self, names: tuple[str, ...]) -> None:
        """Cancel these loops and wait for them to end."""
        tasks = [
            loop.task
            for name, loop in self._loops.items()
            if name in names and loop.task is not None
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(
        self,
        loop: _Loop,
        step: Step,
        every: float,
        stop: asyncio.Event | None,
        on_end: Step | None,
    ) -> None:
        try:
            await self._repeat(loop, step, every, stop)
        finally:
            if on_end is not None:
                await asyncio.shield(on_end())

    async def _repeat(
        self, loop: _Loop, step: Step, every: float, stop: asyncio.Event | None
    ) -> None:
        while stop is None or not stop.is_set():
            loop.iteration_started = self._clock()
            try:
                await step()
            except Exception as exc:  # one failed iteration must not end the loop
                loop.failures += 1
                loop.last_error = type(exc).__name__
                log.warning(
                    "loop.iteration_failed",
                    loop=loop.name,
                    error=loop.last_error,
                    failures=loop.failures,
                )
            finally:
                loop.iteration_started = None
            await _pause(every, stop)
        loop.ended_cleanly = True

    def _ended(self, loop: _Loop, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            loop.ended_cleanly = True  # shutdown
            return
        error = task.exception()
        if error is not None:
            log.error("loop.died", loop=loop.name, error=type(error).__name__)


async def _pause(seconds: float, stop: asyncio.Event | None) -> None:
    """Sleep, or return early when `stop` is set."""
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
