"""The MCP connection's retry backoff and failure descriptions."""

from __future__ import annotations

from mcp.shared.exceptions import MCPError

from bot.tools.mcp.faults import Backoff, describe


def test_backoff_doubles_up_to_the_maximum_with_jitter() -> None:
    """Waits double from the initial one, stop at the maximum, and are jittered to 50-100 %."""
    backoff = Backoff(initial=1.0, maximum=8.0)
    for failures, base in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0), (1000, 8.0)]:
        for _ in range(20):
            assert base * 0.5 <= backoff.delay(failures) <= base


def test_describe_gives_the_innermost_cause_on_one_short_line() -> None:
    """An exception group (as anyio raises) is described by its first leaf, type and message."""
    group = ExceptionGroup("unhandled errors", [ExceptionGroup("inner", [OSError("refused\nx")])])
    assert describe(group) == "OSError: refused x"
    assert describe(MCPError(-32000, "Connection closed")) == "Connection closed"
    assert describe(TimeoutError()) == "TimeoutError"
    assert len(describe(ValueError("y" * 1000))) == 300
