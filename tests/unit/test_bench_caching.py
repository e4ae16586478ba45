"""bench.caching's pure helpers: breakpoint order, the answer-length crossing, the generated
repository, and how a reported usage is priced."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.caching import Result, Scenario, crossing
from bench.caching_askcode import generated_files, one_hour_first, ttls_in_order
from bench.caching_common import COST_GOAL, Turn, turn_of
from bench.caching_tools import calls_of
from bot.conversation.messages import Usage
from testing.fakes.claude_server import RecordedRequest

ONE_HOUR = {"type": "ephemeral", "ttl": "1h"}
FIVE_MINUTES = {"type": "ephemeral"}


def _body(system_mark: dict[str, str], message_mark: dict[str, str]) -> dict[str, Any]:
    return {
        "tools": [{"name": "search_code"}],
        "system": [
            {"type": "text", "text": "prompt"},
            {"type": "text", "text": "repo", "cache_control": system_mark},
        ],
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "q", "cache_control": message_mark}],
            }
        ],
    }


def _request(body: dict[str, Any]) -> RecordedRequest:
    return RecordedRequest("/v1/messages", {}, body, 0.0, 200, None)


def test_ttls_in_prefix_order_and_the_one_hour_check() -> None:
    """Tools, system, then messages; a 1-hour mark after a 5-minute one fails the check."""
    good = _body(ONE_HOUR, FIVE_MINUTES)
    assert ttls_in_order(good) == ["1h", "5m"]
    assert one_hour_first([_request(good)])
    assert not one_hour_first([_request(_body(FIVE_MINUTES, ONE_HOUR))])
    assert not one_hour_first([_request(_body(FIVE_MINUTES, FIVE_MINUTES))])


def _result(answer: int, cost: float, uncached: float) -> Result:
    turn = Turn(Usage(input_tokens=1, output_tokens=0), cost, uncached)
    return Result(Scenario("s"), answer, [turn])


def test_crossing_interpolates_between_the_bracketing_lengths() -> None:
    """30 % at 100 tokens, 40 % at 200: the 35 % goal is crossed at 150."""
    results = [_result(200, 0.40, 1.0), _result(100, 0.30, 1.0), _result(400, 0.5, 1.0)]
    assert crossing(results) == pytest.approx(150)
    assert crossing([_result(100, 0.5, 1.0), _result(200, 0.6, 1.0)]) is None
    assert COST_GOAL == 0.35


def test_generated_repository_is_deterministic_and_sizeable() -> None:
    """Same files every run; tens of thousands of characters of code (a real repository block)."""
    files = generated_files()
    assert files == generated_files()
    assert {"README.md", "pyproject.toml", "src/shipments/pricing.py"} <= set(files)
    assert sum(len(v) for v in files.values()) > 40_000


def test_turn_prices_reads_and_both_write_ttls() -> None:
    """The fake's usage object becomes a Usage priced at Sonnet 5.5's catalog prices."""
    reported = {
        "input_tokens": 10,
        "output_tokens": 100,
        "cache_read_input_tokens": 1_000_000,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 1_000_000},
    }
    turn = turn_of(reported)
    assert turn.usage.cache_write_1h_tokens == 1_000_000
    assert turn.cost == pytest.approx(0.2 + 4.0 + (10 * 2.0 + 100 * 10.0) / 1e6)
    assert turn.uncached == pytest.approx((2_000_010 * 2.0 + 100 * 10.0) / 1e6)
    assert turn.read_share == pytest.approx(1_000_000 / 2_000_010)


def test_tool_bytes_are_compared_call_to_call() -> None:
    """A call whose `tools` differ from the previous call's, even only in key order, is flagged;
    the first call of a tool round is labelled with its turn, the next as after the tool."""
    usage = {
        "input_tokens": 10,
        "output_tokens": 1,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
    }
    same = {"model": "claude-sonnet-5-5", "tools": [{"name": "a", "type": "x"}]}
    moved = {"model": "claude-sonnet-5-5", "tools": [{"type": "x", "name": "a"}]}
    requests = [
        RecordedRequest("/v1/messages", {}, body, 0.0, 200, usage) for body in (same, moved)
    ]
    calls = calls_of(requests, "3", json.dumps(same["tools"]))
    assert [(c.turn, c.same_tools, c.tools) for c in calls] == [
        ("3", True, ["a"]),
        ("3 (after the tool)", False, ["a"]),
    ]
