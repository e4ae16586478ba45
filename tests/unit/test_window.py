"""Fitting a thread into the context budget: oldest exchanges first, whole exchanges only."""

from __future__ import annotations

from bot.conversation.messages import ChatRequest
from bot.conversation.window import (
    LEGACY_DOCUMENT_TOKENS,
    LEGACY_IMAGE_TOKENS,
    MEDIA_TOKENS,
    estimate_tokens,
    fit,
    media_tokens,
    message_tokens,
    request_tokens,
    stale_prefix,
    starts_a_turn,
    stored_bytes,
)


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


def _image_turn(i: int, tokens: int | None) -> dict[str, object]:
    message: dict[str, object] = {
        "role": "user",
        "content": [
            {"type": "text", "text": f"[Image: shot{i}.png]"},
            {"type": "image", "source": {"type": "file", "file_id": f"file_{i:024d}"}},
            {"type": "text", "text": f"what is in picture {i}?"},
        ],
    }
    if tokens is not None:
        message[MEDIA_TOKENS] = tokens
    return message


def test_images_count_at_their_real_cost_not_their_json() -> None:
    """An image referenced by file id is ~100 bytes of JSON but costs what the reader recorded;
    a message stored before that was recorded counts a conservative default per image."""
    recorded = _image_turn(1, 1590)
    assert message_tokens(recorded) >= 1590 + estimate_tokens(recorded)
    assert media_tokens(_image_turn(2, None)) == LEGACY_IMAGE_TOKENS
    pdf = {
        "role": "user",
        "content": [{"type": "document", "source": {"type": "file", "file_id": "f"}}],
    }
    assert media_tokens(pdf) == LEGACY_DOCUMENT_TOKENS
    text_doc = {"role": "user", "content": [{"type": "document", "source": {"type": "text"}}]}
    assert media_tokens(text_doc) == 0, "inline text is counted by its JSON"


def test_a_thread_of_images_drops_its_oldest_images_to_fit() -> None:
    """Five image turns of 1,600 tokens each do not fit 5,000 tokens: the oldest exchanges
    drop out, although their JSON alone would have fitted easily."""
    history = []
    for i in range(5):
        history += [_image_turn(i, 1600), {"role": "assistant", "content": f"a{i}"}]
    new = _image_turn(9, 1600)
    assert sum(estimate_tokens(m) for m in [*history, new]) < 5000, "JSON alone fits"
    window = fit(history, new, "sys", 5000)
    assert window is not None
    assert window.dropped >= 8
    assert sum(message_tokens(m) for m in window.messages) <= 5000


def test_request_tokens_count_system_tools_and_media() -> None:
    """A request's estimate adds the system prompt, long-lived blocks, tools and messages."""
    request = ChatRequest(
        model="m",
        system="sys",
        messages=[_image_turn(1, 2000)],
        max_tokens=10,
        long_lived_system=("repo " * 700,),
        tools=({"name": "search", "description": "d" * 350},),
    )
    assert request_tokens(request) >= 2000 + 1000 + 100


def _chat(count: int, size: int = 10) -> list[dict[str, object]]:
    return [m for i in range(count) for m in _exchange(i, size)]


def test_stored_history_keeps_what_the_largest_window_can_send() -> None:
    """The store keeps the newest whole exchanges within the token limit; what no window can
    send any more is dropped, and the kept part starts with a user turn."""
    messages = _chat(10, 700)
    per_exchange = message_tokens(messages[0]) + message_tokens(messages[1])
    drop = stale_prefix(messages, 3 * per_exchange)
    assert drop == 14
    assert starts_a_turn(messages[drop])
    assert stale_prefix(messages, None) == 0


def test_stored_history_is_bounded_by_count_and_bytes_too() -> None:
    """Without a token limit, the message count and the byte size still bound the history."""
    assert stale_prefix(_chat(10), None, max_messages=6) == 14
    two = stored_bytes(_chat(1)[0]) + stored_bytes(_chat(1)[1])
    assert stale_prefix(_chat(10), None, max_bytes=2 * two + 5) == 16


def test_stored_history_keeps_the_newest_exchange_and_tool_rounds_whole() -> None:
    """The newest exchange stays even when it alone is over the limit, and a cut never lands
    between a tool_use and its tool_result."""
    tool_round = [
        {"role": "user", "content": "q " * 300},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "x"}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}]},
        {"role": "assistant", "content": "done " * 300},
    ]
    assert stale_prefix([*_chat(2), *tool_round], 10) == 4
    kept = [*_chat(2), *tool_round][stale_prefix([*_chat(2), *tool_round], 10) :]
    assert kept[0]["content"] == "q " * 300
