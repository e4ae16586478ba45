"""Tool calls shown while they run (bot/conversation/activity.py, calls.py): the pure describe
table, and the live message of an answer whose calls use server and client tools."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

import pytest

from bot.conversation.activity import activity_line, server_tool_text
from bot.conversation.agent import LoopLimits, NoApprover
from bot.conversation.calls import Caller, answer_calls
from bot.conversation.display import with_sources
from bot.conversation.kit import AnswerKit
from bot.conversation.messages import (
    AnswerDone,
    AnswerEvent,
    ChatRequest,
    StopReason,
    TextDelta,
    ToolActivity,
    ToolState,
    Usage,
)
from bot.conversation.throttle import EditPolicy
from bot.conversation.tools import JsonObject, ToolOutput, ToolSpec

REQUEST = ChatRequest(
    model="m", system="s", messages=[{"role": "user", "content": "q"}], max_tokens=9
)
SEARCH = "Searching the web for “slack bolt”…"


@pytest.mark.parametrize(
    ("name", "tool_input", "text"),
    [
        (
            "web_search",
            {"query": "slack  bolt\npython"},
            "Searching the web for “slack bolt python”…",
        ),
        ("web_search", {}, "Searching the web…"),
        ("web_fetch", {"url": "https://docs.example.com/a/b?c=d"}, "Reading docs.example.com…"),
        ("web_fetch", {"url": "not a url"}, "Reading a web page…"),
        ("code_execution", {"code": "print(1)"}, "Running code…"),
        ("bash_code_execution", {"command": "ls"}, "Running code…"),
        ("text_editor_code_execution", {"command": "view"}, "Running code…"),
        ("something_new", {}, "Using something_new…"),
    ],
)
def test_server_tools_are_described_from_their_input(
    name: str, tool_input: JsonObject, text: str
) -> None:
    """The table: the search's query (one line), the fetched page's host, "Running code…"."""
    assert server_tool_text(name, tool_input) == text


def test_a_long_query_is_shortened_and_a_failure_says_the_answer_goes_on() -> None:
    """A query is cut to 80 characters; a failed call's line says so and that it carries on,
    still a status line (ends with "…_")."""
    text = server_tool_text("web_search", {"query": "word " * 40})
    assert len(text) < 110
    failed = ToolActivity("1", "web_fetch", ToolState.FAILED, "Reading docs.example.com…")
    assert activity_line(failed) == "_Reading docs.example.com failed — carrying on…_"


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


def _done(*blocks: JsonObject, stop: StopReason = StopReason.END) -> AnswerDone:
    return AnswerDone({"role": "assistant", "content": list(blocks)}, stop, Usage(), "m")


@dataclass
class Model:
    """Each call yields the next scripted events."""

    calls: list[list[AnswerEvent]]

    async def stream(self, request: ChatRequest) -> AsyncGenerator[AnswerEvent, None]:
        for event in self.calls.pop(0):
            yield event


@dataclass
class Sink:
    """Records what is shown; `native` says whether it shows tool calls itself."""

    native: bool = False
    shows: list[str] = field(default_factory=list)
    activities: list[tuple[str, str, str]] = field(default_factory=list)  # (id, state, text)

    @property
    def shown(self) -> str:
        return self.shows[-1] if self.shows else ""

    async def start(self, status: str) -> None:
        self.shows.append(status)

    async def show(self, text: str) -> float:
        self.shows.append(text)
        return 0.0

    async def finish(self, text: str) -> None:
        self.shows.append(text)

    async def activity(self, activity: ToolActivity, text: str) -> bool:
        self.activities.append((activity.tool_id, activity.state.value, text))
        return self.native


@dataclass
class Echo:
    name: str = "echo"
    fail: bool = False

    @property
    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, "echoes", {"type": "object"})

    def describe(self, tool_input: JsonObject) -> str:
        return "Using demo › echo…"

    async def run(self, tool_input: JsonObject) -> ToolOutput:
        return ToolOutput.error("no") if self.fail else ToolOutput.text("echo")


def _caller(model: Model, sink: Sink) -> Caller:
    async def record(done: AnswerDone) -> None:
        return None

    return Caller(
        model=model,
        clock=Clock(),
        sink=sink,
        started=0.0,
        edit_policy=EditPolicy("every_n", every=1),
        show_thinking=False,
        limits=LoopLimits(),
        record=record,
        approver=NoApprover(),
    )


def _search_then_echo(fail: bool = False) -> Model:
    call = {"type": "tool_use", "id": "t1", "name": "echo", "input": {}}
    started = ToolActivity("s1", "web_search", ToolState.STARTED, SEARCH)
    done = ToolActivity("s1", "web_search", ToolState.DONE, SEARCH)
    return Model(
        [
            [
                TextDelta("Let me look."),
                started,
                done,
                TextDelta("Found it."),
                _done(
                    {"type": "text", "text": "Let me look.Found it."},
                    call,
                    stop=StopReason.TOOL_USE,
                ),
            ],
            [TextDelta("The echo said hi."), _done({"type": "text", "text": "The echo said hi."})],
        ]
    )


async def test_an_edited_answer_shows_each_tool_as_a_status_line_under_the_text() -> None:
    """Edit in place: the search shows under the text so far, the text after it replaces the
    line (a paragraph apart); the client tool of the next round shows under everything so far;
    the answer's text is every call's text."""
    sink = Sink()
    kit = AnswerKit(tools=(Echo(),))
    answered = await answer_calls(REQUEST, _caller(_search_then_echo(), sink), kit)
    assert sink.shows == [
        "Let me look.",
        f"Let me look.\n\n_{SEARCH}_",
        "Let me look.\n\nFound it.",
        "Let me look.\n\nFound it.\n\n_Using demo › echo…_",
        "Let me look.\n\nFound it.\n\nThe echo said hi.",
    ]
    assert answered.lead == "Let me look.\n\nFound it."
    assert answered.text == "Let me look.\n\nFound it.\n\nThe echo said hi."
    assert [state for _, state, _ in sink.activities] == ["started", "done", "started", "done"]


async def test_a_failed_client_tool_shows_as_failed_and_the_answer_goes_on() -> None:
    """An error result is a failed call: its line says so; the next call's text follows."""
    sink = Sink()
    kit = AnswerKit(tools=(Echo(fail=True),))
    answered = await answer_calls(REQUEST, _caller(_search_then_echo(), sink), kit)
    assert "Let me look.\n\nFound it.\n\n_Using demo › echo failed — carrying on…_" in sink.shows
    assert answered.text.endswith("The echo said hi.")


async def test_a_sink_with_its_own_tool_display_gets_no_status_lines() -> None:
    """A native stream shows the calls as tasks: activity() is given the text so far (to show
    first) and no status line enters the text."""
    sink = Sink(native=True)
    kit = AnswerKit(tools=(Echo(),))
    await answer_calls(REQUEST, _caller(_search_then_echo(), sink), kit)
    assert not any("_Searching" in text or "_Using" in text for text in sink.shows)
    assert sink.activities[0] == ("s1", "started", "Let me look.")
    assert sink.activities[2] == ("t1", "started", "Let me look.\n\nFound it.")


def test_cited_text_after_a_search_starts_a_new_paragraph() -> None:
    """with_sources rebuilds a cited answer from its blocks: text written after a search is a
    paragraph apart from the text before it, as it streamed; cited passages keep one paragraph."""
    url = "https://slack.dev/bolt-python/"
    cite = [{"type": "web_search_result_location", "url": url, "title": "Bolt"}]
    content = [
        {"type": "text", "text": "Let me look."},
        {"type": "server_tool_use", "id": "s1", "name": "web_search", "input": {}},
        {"type": "web_search_tool_result", "tool_use_id": "s1", "content": []},
        {"type": "text", "text": "Bolt is ", "citations": cite},
        {"type": "text", "text": "a framework."},
    ]
    shown = with_sources("Let me look.\n\nBolt is a framework.", content)
    assert shown.startswith("Let me look.\n\nBolt is ")
    assert shown.endswith(f"*Sources*\n1. [Bolt]({url})")
