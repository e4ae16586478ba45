"""Building Claude requests: cache breakpoints, caps and metadata."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

from bot.claude.catalog import CATALOG
from bot.claude.media import CONTAINER_FILE_GONE, FILES_BETA
from bot.claude.request import build_messages_call, count_breakpoints, hashed_user_id
from bot.conversation.messages import ChatRequest

SONNET = CATALOG["claude-sonnet-5-5"]


def _request(messages: list[dict[str, object]], system: str = "Be brief.") -> ChatRequest:
    return ChatRequest(
        model=SONNET.model_id,
        system=system,
        messages=messages,
        max_tokens=999_999,
        metadata_user="U1",
    )


def _turns(n: int, size: int) -> list[dict[str, object]]:
    turns: list[dict[str, object]] = []
    for i in range(n):
        turns.append({"role": "user", "content": [{"type": "text", "text": f"q{i} " + "x" * size}]})
        turns.append({"role": "assistant", "content": [{"type": "text", "text": f"a{i}"}]})
    turns.append({"role": "user", "content": [{"type": "text", "text": "last"}]})
    return turns


def test_short_prompt_gets_no_breakpoint() -> None:
    """Below the model's minimum cacheable length, no cache_control is sent."""
    call = build_messages_call(_request(_turns(1, 10)), SONNET)
    assert count_breakpoints(call) == 0


def test_long_history_gets_a_moving_breakpoint_on_the_last_block() -> None:
    """A history past the minimum gets a breakpoint on the newest turn's last block, and one
    where the previous turn's request ended (its user message)."""
    messages = _turns(5, 3000)
    call = build_messages_call(_request(messages), SONNET)
    assert count_breakpoints(call) == 2
    assert call["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert call["messages"][-3]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in messages[-1]["content"][-1], "stored history is not mutated"
    assert call["messages"][:-3] == messages[:-3], "the prefix is byte-identical to the history"


def test_long_system_prompt_gets_its_own_breakpoint() -> None:
    """A system prompt past the minimum is cached on its own too (three breakpoints, within 4)."""
    call = build_messages_call(_request(_turns(1, 10), system="s" * 20_000), SONNET)
    assert call["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert count_breakpoints(call) == 3


def test_tool_definitions_count_towards_the_cacheable_prefix() -> None:
    """Tools come first in the prompt: a short system prompt and question behind enough tool
    definitions get the system breakpoint (shared by every thread with the same tools) and one
    on the question, from the first turn."""
    tools = tuple(
        {"name": f"t{n}", "description": "d" * 200, "input_schema": {"type": "object"}}
        for n in range(15)
    )
    request = dataclasses.replace(_request(_turns(0, 10)), tools=tools)
    call = build_messages_call(request, SONNET)
    assert call["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert call["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert count_breakpoints(call) == 2
    assert call["tools"] == list(tools)


def _marked(call: dict[str, object]) -> list[str]:
    """Paths of the message blocks carrying cache_control, e.g. "0.-1"."""
    messages = call["messages"]
    assert isinstance(messages, list)
    return [
        f"{m}.{b - len(message['content'])}"
        for m, message in enumerate(messages)
        for b, block in enumerate(message["content"])
        if "cache_control" in block
    ]


def test_second_turn_has_a_breakpoint_where_the_first_request_ended() -> None:
    """Turn 1 marks its user message; turn 2 marks that same block again (an exact cache hit)
    and its own newest block, with the prefix up to the first mark byte-identical."""
    first_user = {"role": "user", "content": [{"type": "text", "text": "q " + "x" * 4000}]}
    first = build_messages_call(_request([first_user]), SONNET)
    assert _marked(first) == ["0.-1"]
    answer = {"role": "assistant", "content": [{"type": "text", "text": "a"}]}
    second_user = {"role": "user", "content": [{"type": "text", "text": "q2"}]}
    second = build_messages_call(_request([first_user, answer, second_user]), SONNET)
    assert _marked(second) == ["0.-1", "2.-1"]
    assert second["messages"][0] == first["messages"][0]
    assert second["system"] == first["system"]


def test_short_previous_turn_gets_no_breakpoint_of_its_own() -> None:
    """Where the prefix up to the previous request is below the minimum, only the newest turn
    (long enough with the new text) is marked."""
    short = {"role": "user", "content": [{"type": "text", "text": "hi"}]}
    answer = {"role": "assistant", "content": [{"type": "text", "text": "hello"}]}
    long = {"role": "user", "content": [{"type": "text", "text": "x" * 4000}]}
    call = build_messages_call(_request([short, answer, long]), SONNET)
    assert _marked(call) == ["2.-1"]


def test_breakpoint_minimum_follows_the_model() -> None:
    """Haiku 5.5 caches from 4,096 tokens: a prompt Sonnet 5.5 caches gets no mark there."""
    haiku = CATALOG["claude-haiku-5-5"]
    messages = _turns(1, 4000)
    assert count_breakpoints(build_messages_call(_request(messages), SONNET)) >= 1
    request = ChatRequest(haiku.model_id, "Be brief.", messages, 100)
    assert count_breakpoints(build_messages_call(request, haiku)) == 0


def test_max_tokens_capped_at_the_models_output_limit() -> None:
    """max_tokens never exceeds what the model can produce."""
    call = build_messages_call(_request(_turns(0, 0)), SONNET)
    assert call["max_tokens"] == SONNET.max_output


def test_user_id_is_hashed() -> None:
    """Only an opaque hash of the Slack user id goes to Anthropic as metadata."""
    call = build_messages_call(_request(_turns(0, 0)), SONNET)
    assert call["metadata"] == {"user_id": hashed_user_id("U1")}
    assert "U1" not in call["metadata"]["user_id"]


def test_adaptive_thinking_with_effort_on_newest_models() -> None:
    """Opus 5.5 thinks adaptively with the effort in output_config."""
    opus = CATALOG["claude-opus-5-5"]
    request = ChatRequest(opus.model_id, "s", _turns(0, 0), 8000, thinking_effort="high")
    call = build_messages_call(request, opus)
    assert call["thinking"] == {"type": "adaptive"}
    assert call["output_config"] == {"effort": "high"}


def test_budget_thinking_on_older_models_stays_below_max_tokens() -> None:
    """Sonnet 4.6 gets an enabled budget of at least 1024 and below max_tokens, or none."""
    sonnet46 = CATALOG["claude-sonnet-4-6"]
    call = build_messages_call(
        ChatRequest(sonnet46.model_id, "s", _turns(0, 0), 8000, thinking_effort="high"), sonnet46
    )
    assert call["thinking"] == {"type": "enabled", "budget_tokens": 7999}
    tiny = build_messages_call(
        ChatRequest(sonnet46.model_id, "s", _turns(0, 0), 500, thinking_effort="high"), sonnet46
    )
    assert "thinking" not in tiny


def test_no_thinking_parameter_when_off() -> None:
    """Thinking off sends no thinking parameter at all (Sonnet 5.5 rejects type disabled)."""
    call = build_messages_call(_request(_turns(0, 0)), SONNET)
    assert "thinking" not in call
    assert "output_config" not in call


def test_thinking_blocks_of_another_model_are_dropped() -> None:
    """A stored answer's thinking is sent back only to the model that wrote it."""
    answer = {
        "role": "assistant",
        "model": "claude-opus-5-5",
        "content": [
            {"type": "thinking", "thinking": "t", "signature": "sig"},
            {"type": "text", "text": "a"},
        ],
    }
    messages = [{"role": "user", "content": "q"}, answer, {"role": "user", "content": "q2"}]
    to_sonnet = build_messages_call(_request(messages), SONNET)["messages"][1]
    assert to_sonnet == {"role": "assistant", "content": [{"type": "text", "text": "a"}]}
    opus = CATALOG["claude-opus-5-5"]
    to_opus = build_messages_call(ChatRequest(opus.model_id, "s", messages, 100), opus)["messages"][
        1
    ]
    assert to_opus == {"role": "assistant", "content": answer["content"]}


def test_media_token_count_stays_out_of_the_request() -> None:
    """The token cost stored with a user turn is the window's business: never sent to Claude."""
    turn = {"role": "user", "content": [{"type": "text", "text": "hi"}], "media_tokens": 1600}
    call = build_messages_call(_request([turn]), CATALOG["claude-sonnet-5-5"])
    assert call["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


CODE_TOOL = {"type": "code_execution_20260521", "name": "code_execution"}
UPLOAD = {"type": "container_upload", "file_id": "file_csv"}


def test_container_is_sent_only_with_code_execution() -> None:
    """The thread's container goes out as `container` when code execution is offered, with the
    Files API beta for a container_upload; without code execution neither the container nor
    container_upload blocks are sent (the API takes them only with it)."""
    messages = [{"role": "user", "content": [dict(UPLOAD), {"type": "text", "text": "plot"}]}]
    request = replace(_request(messages), tools=(CODE_TOOL,), container="container_1")
    call = build_messages_call(request, SONNET)
    assert call["container"] == "container_1"
    assert call["messages"][0]["content"][0] == UPLOAD
    assert call["extra_headers"] == {"anthropic-beta": FILES_BETA}
    plain = build_messages_call(replace(request, tools=()), SONNET)
    assert "container" not in plain
    assert plain["messages"][0]["content"][0] == {"type": "text", "text": CONTAINER_FILE_GONE}
    assert "extra_headers" not in plain
