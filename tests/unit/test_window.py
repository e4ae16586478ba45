"""Fitting a thread into the context budget: oldest exchanges first, whole exchanges only."""

from __future__ import annotations

from bot.conversation.window import estimate_tokens, fit, starts_a_turn


def _exchange(i: int, size: int) -> list[dict[str, object]]:
    return [
        {"role": "user", "content": [{"type": "text", "text": f"q{i} " + "x" * size}]},
        {"role": "assistant", "content": [{"type": "text", "text": f"a{i}"}]},
    ]


NEW = {"role": "user", "content": [{"type": "text", "text": "newest"}]}


def test_no_budget_keeps_everything() -> None:
    """Without a budget the whole history goes."""
    history = _exchange(0, 10) + _exchange(1, 10)
    window = fit(history, NEW, "sys", None)
    assert window is not None
    assert window.messages == [*history, NEW]
    assert window.dropped == 0


def test_oldest_exchanges_drop_first_and_history_starts_with_a_user_turn() -> None:
    """Over budget, whole exchanges go from the oldest end until the rest fits."""
    history = [m for i in range(5) for m in _exchange(i, 700)]
    budget = estimate_tokens("sys") + estimate_tokens(NEW) + 2 * estimate_tokens(history[0]) + 40
    window = fit(history, NEW, "sys", budget)
    assert window is not None
    assert window.dropped % 2 == 0
    assert window.dropped >= 6
    assert window.messages[0]["role"] == "user"
    assert window.messages[-1] == NEW
    assert sum(estimate_tokens(m) for m in window.messages) + estimate_tokens("sys") <= budget


def test_tool_results_are_never_separated_from_their_tool_use() -> None:
    """A history never begins at a tool_result: its tool_use would be missing."""
    tool_result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}]}
    assert not starts_a_turn(tool_result)
    assert starts_a_turn({"role": "user", "content": "hi"})
    history = [
        {"role": "user", "content": "q" * 400},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "x"}]},
        tool_result,
        {"role": "assistant", "content": "done"},
    ]
    window = fit(history, NEW, "s", estimate_tokens(NEW) + 60)
    assert window is not None
    assert window.dropped == 4


def test_a_message_too_long_alone_is_refused() -> None:
    """A new turn larger than the whole budget cannot be sent at all."""
    huge = {"role": "user", "content": "y" * 10_000}
    assert fit([], huge, "s", 1000) is None
