"""Which event loop `python -m bot` runs on (BOT_EVENT_LOOP)."""

from __future__ import annotations

import uvloop

from bot.__main__ import loop_factory


def test_auto_and_uvloop_choose_uvloop_when_installed() -> None:
    """uvloop is a dependency on Linux/macOS: `auto` and `uvloop` run on it."""
    assert loop_factory("auto") is uvloop.new_event_loop
    assert loop_factory("uvloop") is uvloop.new_event_loop


def test_asyncio_keeps_the_standard_loop() -> None:
    """`asyncio` leaves asyncio's own loop (no factory)."""
    assert loop_factory("asyncio") is None
