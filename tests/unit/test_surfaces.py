"""The AI surfaces' pure parts: statuses, prompts, where an answer may stream, titles, the viewed
channel, feedback payloads and the Home view."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import DEFAULT_PROMPTS, SettingsError, load_settings, parse_prompts
from bot.conversation.messages import Question, ThreadKey
from bot.slack.api.viewing import channel_in_assistant_thread, channel_in_entities, render_viewing
from bot.slack.api.workspaces import OneWorkspace, Workspace
from bot.slack.blocks.feedback import feedback_block
from bot.slack.blocks.home import HomeFacts, home_view
from bot.slack.handlers.feedback import parse_click
from bot.slack.handlers.surfaces import SurfaceEvents
from bot.slack.sinks.choice import stream_target, thread_title
from bot.slack.sinks.native_stream import StreamTarget, cut_point
from bot.slack.sinks.status import loading_messages, plain_status, trailing_status
from bot.usage.records import Totals
from bot.usage.report import UsageReport
from bot.usage.spend_limits import Budgets


def _question(channel: str, thread_ts: str | None, *, dm: bool, team: str = "T1") -> Question:
    key = ThreadKey(team, channel, thread_ts or "dm")
    return Question(key, "U1", "hi", "1.0", dm, thread_ts)


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        ("_Thinking…_", ("", "Thinking…")),
        ("_Thinking… 12 s_", ("", "Thinking…")),
        ("_Reading 2 images and a PDF…_", ("", "Reading 2 images and a PDF…")),
        ("> _Thinking:_\n> hmm\n\n_Thinking… 3 s_", ("> _Thinking:_\n> hmm", "Thinking…")),
        ("The answer so far", ("The answer so far", None)),
        ("_Italic_ answer, not a status", ("_Italic_ answer, not a status", None)),
    ],
)
def test_trailing_status_splits_statuses_from_answer_text(
    live: str, expected: tuple[str, str | None]
) -> None:
    """Statuses (and the seconds counter) go to setStatus; answer text goes to the stream."""
    assert trailing_status(live) == expected


def test_status_text_and_loading_messages_fit_slack() -> None:
    """The status loses its underscores; loading messages are at most 50 characters."""
    assert plain_status("_Searching the repository…_") == "Searching the repository…"
    long = "Reading " + "x" * 80 + "…"
    assert all(len(m) <= 50 for m in loading_messages(long))
    assert loading_messages("Thinking…") == ["Thinking…"]


def test_prompts_parse_and_are_capped_at_four() -> None:
    """ "Title: message | …" pairs; an entry without a title is its own; a URL's colon is not a
    title; more than four is refused."""
    assert len(parse_prompts(DEFAULT_PROMPTS)) == 4
    assert parse_prompts(" Plan: Plan my week |  | see https://x.y ") == (
        ("Plan", "Plan my week"),
        ("see https://x.y", "see https://x.y"),
    )
    with pytest.raises(ValueError, match="at most 4"):
        parse_prompts("a | b | c | d | e")


def test_too_many_prompts_stop_the_bot_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Five prompts in BOT_SUGGESTED_PROMPTS: one line naming it, at start."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-abc")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-A-abc")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("BOT_SUGGESTED_PROMPTS", "a | b | c | d | e")
    with pytest.raises(SettingsError, match="BOT_SUGGESTED_PROMPTS is invalid"):
        load_settings()


@pytest.mark.parametrize(
    ("question", "mode", "expected"),
    [
        (_question("D1", "5.0", dm=True), "dm", StreamTarget("D1", "5.0")),
        (_question("D1", None, dm=True), "dm", None),  # a DM's top level has no thread
        (_question("D1", "5.0", dm=True), "off", None),
        (_question("C1", "5.0", dm=False), "dm", None),
        (_question("C1", "5.0", dm=False), "all", StreamTarget("C1", "5.0", "U1", "T1")),
        (_question("C1", "5.0", dm=False, team=""), "all", None),  # no recipient team: no stream
    ],
)
def test_stream_target_per_surface(question: Question, mode: str, expected: object) -> None:
    """Native streaming only into threads; in channels only with BOT_NATIVE_STREAMING=all and
    both recipient ids known."""
    assert stream_target(question, mode) == expected


def test_recipients_only_when_both_ids_are_known() -> None:
    """A target without both ids sends no recipient arguments at all."""
    assert StreamTarget("D1", "1.0").recipients() == {}
    assert StreamTarget("C1", "1.0", "U1", "T1").recipients() == {
        "recipient_user_id": "U1",
        "recipient_team_id": "T1",
    }


def test_cut_point_prefers_paragraphs_then_lines_then_words() -> None:
    """A full message ends at a paragraph, line or word end; with no such end near, before the
    new text (when the message has some) or hard at the window."""
    assert cut_point("aaaaaaa\n\nbb cc", 12, has_content=True) == 9
    assert cut_point("aa\n\nbbbbbb cc", 12, has_content=True) == 11  # the break is too early
    assert cut_point("aaaa bbbb\ncc", 11, has_content=True) == 10
    assert cut_point("x" * 20, 10, has_content=True) == 0
    assert cut_point("x" * 20, 10, has_content=False) == 10


def test_thread_title_is_the_first_line_shortened() -> None:
    """The first non-empty line, cut to 60 characters with an ellipsis."""
    assert thread_title("\n  How do I undo a rebase?\nmore") == "How do I undo a rebase?"
    long = thread_title("word " * 40)
    assert len(long) <= 60
    assert long.endswith("…")


def test_viewed_channel_from_each_payload_shape() -> None:
    """assistant_thread.context, agent_view entities (channel or message), DMs ignored."""
    thread = {"assistant_thread": {"context": {"channel_id": "C123"}}}
    assert channel_in_assistant_thread(thread) == "C123"
    assert channel_in_assistant_thread({"assistant_thread": {"context": {}}}) is None
    entities = {"entities": [{"type": "slack#/types/channel_id", "value": "G9"}]}
    assert channel_in_entities(entities) == "G9"
    message = {
        "entities": [
            {"type": "slack#/types/canvas_id", "value": "F1"},
            {"type": "slack#/types/message_context", "value": {"channel_id": "C7"}},
        ]
    }
    assert channel_in_entities(message) == "C7"
    dm = {"entities": [{"type": "slack#/types/channel_id", "value": "D1"}]}
    assert channel_in_entities(dm) is None
    assert channel_in_entities({}) is None


def test_viewing_note_names_the_channel_and_its_messages() -> None:
    """The note says which channel is in view and lists what can be read of it."""
    assert "<#C1>" in render_viewing("C1", [])
    assert "not shared" in render_viewing("C1", [])
    assert render_viewing("C1", ["[Bob]: hi"]).endswith("[Bob]: hi\n</viewing_context>")


def test_feedback_block_and_click_round_trip() -> None:
    """The block names the answer; a click on it parses to who said what about which message."""
    block = feedback_block("a1")
    buttons = block["elements"][0]
    assert block["type"] == "context_actions"
    assert buttons["type"] == "feedback_buttons"
    body = {
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "container": {"channel_id": "D1", "message_ts": "2.0", "thread_ts": "1.0"},
        "actions": [
            {
                "action_id": buttons["action_id"],
                "block_id": block["block_id"],
                "value": buttons["negative_button"]["value"],
            }
        ],
    }
    click = parse_click(body)
    assert click is not None
    assert (click["team"], click["channel"], click["message_ts"]) == ("T1", "D1", "2.0")
    assert (click["value"], click["answer"], click["thread_ts"]) == ("negative", "a1", "1.0")
    assert parse_click({**body, "actions": [{"action_id": "other", "value": "x"}]}) is None


def test_home_view_lists_commands_models_repos_and_usage() -> None:
    """The Home view: commands, each tier's model, the repositories, the viewer's month."""
    facts = HomeFacts(models={"opus": ("Opus 5.5", "claude-opus-5-5")}, repos=("api",))
    now = datetime(2026, 10, 5, tzinfo=UTC)
    month = Totals(calls=3, cost_nanos=1_230_000_000)
    report = UsageReport("U1", "", now, Totals(), month, Budgets(user_daily_usd=5.0))
    view = home_view(facts, report)
    text = repr(view["blocks"])
    assert view["type"] == "home"
    for expected in ("/ask-code", "Opus 5.5", "`api`", "$1.23 · 3 calls", "$5.00 a day"):
        assert expected in text
    assert "can't be read" in repr(home_view(facts, None)["blocks"])


class _Store:
    """An in-memory ViewingStore."""

    def __init__(self) -> None:
        self.saved: dict[tuple[str, str], str] = {}

    async def save_viewing(self, team: str, scope: str, channel: str) -> None:
        self.saved[(team, scope)] = channel

    async def viewing(self, team: str, scope: str) -> str | None:
        return self.saved.get((team, scope))


async def test_a_dm_message_context_is_saved_before_the_message_is_answered() -> None:
    """agent_view's `app_context` on a DM message is remembered for its sender before the
    listeners run (the middleware calls next only afterwards)."""
    store = _Store()
    client = AsyncWebClient(token="xoxb-unused")
    events = SurfaceEvents(OneWorkspace(Workspace("T1", None, client, "U0BOT")), store, prompts=())
    seen: list[dict[tuple[str, str], str]] = []

    async def next_() -> None:
        seen.append(dict(store.saved))

    context = {"entities": [{"type": "slack#/types/channel_id", "value": "C5"}]}
    event = {"type": "message", "user": "U1", "channel": "D1", "app_context": context}
    await events.remember_message_context({"team_id": "T1", "event": event}, next_)
    assert seen == [{("T1", "user:U1"): "C5"}]
