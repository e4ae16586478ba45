"""The event loop's lag: how late a timer fires, and who held the loop when it stalled.

A loop step (`tick`, every TICK_SECONDS, run by BackgroundLoops) measures how late it woke and
records it in the `csb_event_loop_lag_seconds` histogram. A watchdog thread looks at the time of
the last tick: once the loop is more than STALL_SECONDS late it samples the loop thread's Python
stack (sys._current_frames) and the task being run, while the culprit is still on the stack.
When the loop comes back, the tick logs `loop.stalled` with the lag and that sample. A loop still
blocked after BLOCKED_SECONDS is reported by the watchdog itself (`loop.blocked`), since the loop
may never come back to say it.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

import structlog

log = structlog.get_logger("bot.loop")

TICK_SECONDS = 0.1
STALL_SECONDS = 0.25
BLOCKED_SECONDS = 5.0
WATCH_SECONDS = 0.05
STACK_FRAMES = 12


@dataclass(frozen=True)
class StallSample:
    """What the loop thread was running while the loop was stalled."""

    beat: float  # the tick the stall followed (identifies the stall)
    task: str
    stack: list[str]


class LagMonitor:
    """Measures the loop's lag from inside and samples stalls from a watchdog thread."""

    def __init__(
        self,
        observe: Callable[[float], None],
        *,
        every: float = TICK_SECONDS,
        stall: float = STALL_SECONDS,
        blocked: float = BLOCKED_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.every = every
        self._observe = observe
        self._stall = stall
        self._blocked = blocked
        self._clock = clock
        self._beat = clock()
        self._expected: float | None = None
        self._sample: StallSample | None = None
        self._reported_blocked: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread_id: int | None = None
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None

    async def tick(self) -> None:
        """One measurement; call every `every` seconds from the loop being measured."""
        now = self._clock()
        if self._expected is not None:
            lag = max(0.0, now - self._expected)
            self._observe(lag)
            if lag > self._stall:
                self._report(lag, self._beat)
        self._expected = now + self.every
        self._beat = now

    def start_watchdog(self) -> None:
        """Start the watchdog thread for the running loop (stopped by stop_watchdog)."""
        self._loop = asyncio.get_running_loop()
        self._thread_id = threading.get_ident()
        self._beat = self._clock()
        self._watchdog = threading.Thread(target=self._watch, name="loop-watchdog", daemon=True)
        self._watchdog.start()

    def stop_watchdog(self) -> None:
        """Stop the watchdog thread."""
        self._stop.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=1.0)

    def _report(self, lag: float, beat: float) -> None:
        sample, self._sample = self._sample, None
        if sample is None or sample.beat != beat:
            fields: dict[str, object] = {"task": "(not sampled)", "stack": []}
        else:
            fields = {"task": sample.task, "stack": sample.stack}
        log.warning("loop.stalled", lag_ms=round(lag * 1000), **fields)

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            beat = self._beat
            late = self._clock() - beat - self.every
            if late <= self._stall:
                continue
            if self._sample is None or self._sample.beat != beat:
                self._sample = self.sample(beat)
            if late > self._blocked and self._reported_blocked != beat:
                self._reported_blocked = beat
                log.error(
                    "loop.blocked",
                    blocked_ms=round(late * 1000),
                    task=self._sample.task,
                    stack=self.sample(beat).stack,
                )

    def sample(self, beat: float) -> StallSample:
        """The loop thread's current task and innermost Python frames (call from another thread)."""
        frame = sys._current_frames().get(self._thread_id or -1)
        return StallSample(beat, describe_task(self._current_task()), format_stack(frame))

    def _current_task(self) -> asyncio.Task[object] | None:
        if self._loop is None:
            return None
        try:
            return asyncio.current_task(self._loop)
        except RuntimeError:
            return None


def describe_task(task: asyncio.Task[object] | None) -> str:
    """A task's name and coroutine, e.g. `turn:C1:123 (EventHandler._answer)`."""
    if task is None:
        return "(no task: a callback)"
    coro = task.get_coro()
    return f"{task.get_name()} ({getattr(coro, '__qualname__', type(coro).__name__)})"


def format_stack(frame: FrameType | None) -> list[str]:
    """The innermost frames, innermost last, as `path:line in function`."""
    if frame is None:
        return []
    frames = traceback.extract_stack(frame)[-STACK_FRAMES:]
    return [f"{short_path(f.filename)}:{f.lineno} in {f.name}" for f in frames]


def short_path(filename: str) -> str:
    """The path from the package root (site-packages/… or bot/…) when there is one."""
    for marker in ("site-packages/", "/bot/", "/lib/python"):
        index = filename.rfind(marker)
        if index >= 0:
            start = index + len(marker) if marker == "site-packages/" else index + 1
            return filename[start:]
    return filename
