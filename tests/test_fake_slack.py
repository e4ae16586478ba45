"""Tests of the fake Slack itself, driven by the real slack_sdk / slack_bolt clients."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import aiohttp
import pytest
import yaml
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks.block_elements import UrlSourceElement
from slack_sdk.models.messages.chunk import MarkdownTextChunk, TaskUpdateChunk
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from testing.fakes.slack_server import FakeSlack, SlackRateLimits
from testing.fakes.slack_specs import MANIFEST_PATH

BOT = "U0BOT"
BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-fake-app-token"


class SocketApp:
    """A real SocketModeClient that records every request and acks it."""

    def __init__(self, slack: FakeSlack, *, ack_payload: dict[str, Any] | None = None) -> None:
        self.requests: list[SocketModeRequest] = []
        self.raw: list[dict[str, Any]] = []
        self.ack_payload = ack_payload
        self.client = SocketModeClient(
            app_token=APP_TOKEN,
            web_client=AsyncWebClient(base_url=slack.api_url),
            ping_interval=0.3,
        )
        self.client.message_listeners.append(self._on_message)
        self.client.socket_mode_request_listeners.append(self._on_request)

    async def _on_message(
        self, client: AsyncBaseSocketModeClient, message: dict[str, Any], raw: str | None
    ) -> None:
        self.raw.append(message)

    async def _on_request(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        self.requests.append(req)
        payload = self.ack_payload if req.accepts_response_payload else None
        await client.send_socket_mode_response(SocketModeResponse(req.envelope_id, payload))

    def events(self) -> list[dict[str, Any]]:
        return [r.payload["event"] for r in self.requests if r.type == "events_api"]


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    fake.add_user("U1", "ada", "Ada Lovelace")
    fake.add_user("U2", "alan")
    fake.add_channel("C1", "general", members={BOT, "U1", "U2"})
    fake.add_im("D1", "U1")
    yield fake
    await fake.stop()


@pytest.fixture
def web(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)


@pytest.fixture
async def app(slack: FakeSlack) -> AsyncIterator[SocketApp]:
    socket_app = SocketApp(slack)
    await socket_app.client.connect()  # type: ignore[no-untyped-call]
    await slack.wait_connected()
    yield socket_app
    await socket_app.client.close()  # type: ignore[no-untyped-call]


async def slack_error(call: Awaitable[Any]) -> AsyncSlackResponse:
    with pytest.raises(SlackApiError) as info:
        await call
    response: AsyncSlackResponse = info.value.response
    return response


async def error_code(call: Awaitable[Any]) -> str:
    return str((await slack_error(call))["error"])


# ---- auth and scopes ---------------------------------------------------------------------


async def test_auth_test_returns_bot_identity(slack: FakeSlack, web: AsyncWebClient) -> None:
    """auth.test answers with the bot identity, and refuses the app-level token."""
    res = await web.auth_test()
    assert res["user_id"] == BOT
    assert res["bot_id"] == "B0BOT"
    assert res["team_id"] == "T0TEAM"
    assert res["is_enterprise_install"] is False
    assert res["url"].startswith("https://")
    err = await slack_error(AsyncWebClient(token=APP_TOKEN, base_url=slack.api_url).auth_test())
    assert err["error"] == "not_allowed_token_type"


async def test_token_errors(slack: FakeSlack) -> None:
    """No token: not_authed; unknown: invalid_auth; wrong kind of token: not_allowed_token_type."""
    anon = AsyncWebClient(base_url=slack.api_url)
    assert await error_code(anon.chat_postMessage(channel="C1", text="x")) == "not_authed"
    bogus = AsyncWebClient(token="xoxb-nope", base_url=slack.api_url)
    assert await error_code(bogus.auth_test()) == "invalid_auth"
    app_client = AsyncWebClient(token=APP_TOKEN, base_url=slack.api_url)
    err = await slack_error(app_client.chat_postMessage(channel="C1", text="x"))
    assert err["error"] == "not_allowed_token_type"
    err = await slack_error(anon.apps_connections_open(app_token=BOT_TOKEN))
    assert err["error"] == "not_allowed_token_type"
    assert [c.status for c in slack.calls] == [200, 200, 200, 200]


async def test_missing_scope_names_needed_and_provided(
    slack: FakeSlack, web: AsyncWebClient
) -> None:
    """A method whose scope the manifest lacks fails with missing_scope, needed and provided."""
    err = await slack_error(web.team_info())
    assert err["error"] == "missing_scope"
    assert err["needed"] == "team:read"
    assert "chat:write" in err["provided"].split(",")
    narrow = FakeSlack(scopes={"users:read"})
    await narrow.start()
    try:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=narrow.api_url)
        err = await slack_error(client.chat_postMessage(channel="C1", text="x"))
        assert (err["error"], err["needed"], err["provided"]) == (
            "missing_scope",
            "chat:write",
            "users:read",
        )
        narrow.add_channel("C9", "nine")
        err = await slack_error(client.conversations_info(channel="C9"))
        assert err["needed"] == "channels:read"  # narrowed to the public-channel scope
    finally:
        await narrow.stop()


async def test_default_scopes_are_the_manifest_bot_scopes(
    slack: FakeSlack, web: AsyncWebClient
) -> None:
    """By default the fake grants exactly manifest.yml's bot scopes (x-oauth-scopes header)."""
    manifest = yaml.safe_load(MANIFEST_PATH.read_text())
    res = await web.auth_test()
    granted = set(res.headers["x-oauth-scopes"].split(","))
    assert granted == set(manifest["oauth_config"]["scopes"]["bot"])


async def test_unknown_method(web: AsyncWebClient) -> None:
    """A method with no spec file is unknown_method."""
    err = await slack_error(web.api_call("chat.doesNotExist", json={"channel": "C1"}))
    assert err["error"] == "unknown_method"


async def test_response_headers(slack: FakeSlack) -> None:
    """Responses carry Slack's JSON content type and the accepted-scopes headers."""
    async with aiohttp.ClientSession() as http:
        url = slack.api_url + "chat.postMessage"
        headers = {"Authorization": f"Bearer {BOT_TOKEN}"}
        async with http.post(url, data={"channel": "C1", "text": "hi"}, headers=headers) as res:
            assert res.headers["Content-Type"] == "application/json; charset=utf-8"
            assert res.headers["x-accepted-oauth-scopes"] == "chat:write"
            assert (await res.json())["ok"] is True


# ---- arguments ---------------------------------------------------------------------------


async def test_missing_required_arguments(web: AsyncWebClient) -> None:
    """Missing required args fail: the spec's own code where one fits, else invalid_arguments."""
    err = await slack_error(web.api_call("chat.update", json={"channel": "C1", "text": "x"}))
    assert err["error"] == "invalid_arguments"
    assert "ts" in err["response_metadata"]["messages"][0]
    err = await slack_error(web.api_call("chat.postMessage", json={"text": "x"}))
    assert err["error"] == "channel_not_found"
    err = await slack_error(web.api_call("users.info", http_verb="GET", params={}))
    assert err["error"] == "user_not_found"


async def test_unknown_and_mistyped_arguments_are_violations(
    slack: FakeSlack, web: AsyncWebClient
) -> None:
    """Unknown args and wrongly typed values succeed but are recorded in violations."""
    root = await web.chat_postMessage(channel="C1", text="root", colour="red")
    await web.chat_postMessage(channel="C1", text="t", unfurl_links="yes please")  # type: ignore[arg-type]
    assert any("unknown argument 'colour'" in v for v in slack.violations)
    assert any("'unfurl_links'" in v and "boolean" in v for v in slack.violations)
    assert slack.calls[0].args["colour"] == "red"
    # a float thread_ts (a classic bug) loses its trailing zeros: no such thread
    float_ts = web.chat_postMessage(channel="C1", text="r", thread_ts=float(root["ts"]))  # type: ignore[arg-type]
    assert await error_code(float_ts) == "thread_not_found"
    assert any("'thread_ts'" in v and "string" in v for v in slack.violations)


async def test_json_body_ignored_by_non_json_method(slack: FakeSlack, web: AsyncWebClient) -> None:
    """A JSON body sent to a method without JSON support counts as no arguments."""
    err = await slack_error(
        web.api_call("conversations.replies", json={"channel": "C1", "ts": "1"})
    )
    assert err["error"] == "channel_not_found"
    assert any("does not accept JSON" in v for v in slack.violations)


async def test_form_query_and_token_argument(slack: FakeSlack) -> None:
    """Form bodies, query strings and a `token` argument are all accepted, like Slack."""
    async with aiohttp.ClientSession() as http:
        form = {"token": BOT_TOKEN, "channel": "C1", "text": "from a form"}
        async with http.post(slack.api_url + "chat.postMessage", data=form) as res:
            posted = await res.json()
        query = {"token": BOT_TOKEN, "channel": "C1", "ts": posted["ts"]}
        async with http.get(slack.api_url + "conversations.replies", params=query) as res:
            replies = await res.json()
    assert posted["ok"]
    assert replies["messages"][0]["text"] == "from a form"
    assert slack.violations == []


# ---- message content ---------------------------------------------------------------------


async def test_markdown_text_conflicts(slack: FakeSlack, web: AsyncWebClient) -> None:
    """markdown_text with text or blocks is markdown_text_conflict; with empty text it's fine."""
    block = [{"type": "section", "text": {"type": "mrkdwn", "text": "b"}}]
    err = await slack_error(web.chat_postMessage(channel="C1", text="t", markdown_text="**m**"))
    assert err["error"] == "markdown_text_conflict"
    err = await slack_error(web.chat_postMessage(channel="C1", blocks=block, markdown_text="m"))
    assert err["error"] == "markdown_text_conflict"
    ok = await web.chat_postMessage(channel="C1", text="", markdown_text="**m**")
    assert slack.messages("C1")[-1].visible_text == "**m**"
    assert ok["message"]["text"] == "**m**"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_message_limits(web: AsyncWebClient) -> None:
    """Over-long text/markdown, too many or malformed blocks, and empty messages are refused."""
    long_text = web.chat_postMessage(channel="C1", text="x" * 40_001)
    assert await error_code(long_text) == "msg_too_long"
    long_md = web.chat_postMessage(channel="C1", markdown_text="x" * 12_001)
    assert await error_code(long_md) == "msg_too_long"
    many = [{"type": "divider"}] * 51
    assert (
        await error_code(web.chat_postMessage(channel="C1", text="t", blocks=many))
        == "invalid_blocks"
    )
    typeless = web.chat_postMessage(channel="C1", text="t", blocks=[{"text": "no type"}])
    assert await error_code(typeless) == "invalid_blocks"
    assert await error_code(web.chat_postMessage(channel="C1")) == "no_text"
    assert (await web.chat_postMessage(channel="C1", text="x" * 40_000))["ok"]


async def test_buttons_are_checked_as_slack_does(web: AsyncWebClient) -> None:
    """A button needs plain_text text of at most 75 characters, a value of at most 2000, a
    known style; two elements of a message may not share an action_id."""

    def button(action_id: str = "a", **fields: Any) -> dict[str, Any]:
        text = {"type": "plain_text", "text": "Approve"}
        return {"type": "button", "text": text, "action_id": action_id, **fields}

    def actions(*elements: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"type": "actions", "elements": list(elements)}]

    bad = [
        actions(button(text={"type": "mrkdwn", "text": "*x*"})),
        actions(button(text={"type": "plain_text", "text": "x" * 76})),
        actions(button(value="v" * 2001)),
        actions(button(style="warning")),
        actions(button("same"), button("same")),
        [*actions(button("same")), *actions(button("same"))],
    ]
    for blocks in bad:
        post = web.chat_postMessage(channel="C1", text="t", blocks=blocks)
        assert await error_code(post) == "invalid_blocks", blocks
    good = actions(button("yes", value="v" * 2000, style="primary"), button("no", style="danger"))
    assert (await web.chat_postMessage(channel="C1", text="t", blocks=good))["ok"]


# ---- conversations -----------------------------------------------------------------------


async def test_post_update_replies_round_trip(slack: FakeSlack, web: AsyncWebClient) -> None:
    """Posts and updates land in the thread as Slack stores them, and read back via replies."""
    root = await slack.user_message("C1", "U1", "a question")
    first = await web.chat_postMessage(channel="C1", thread_ts=root.ts, text="thinking")
    await web.chat_update(channel="C1", ts=first["ts"], markdown_text="**answer**")
    await web.chat_postMessage(channel="C1", thread_ts=root.ts, text="second")
    replies = await web.conversations_replies(channel="C1", ts=root.ts)
    texts = [m["text"] for m in replies["messages"]]
    assert texts == ["a question", "**answer**", "second"]
    assert replies["messages"][0]["reply_count"] == 2
    assert replies["messages"][1]["parent_user_id"] == "U1"
    bot = slack.bot_replies("C1", root.ts)
    assert [m.visible_text for m in bot] == ["**answer**", "second"]
    assert [text for _, text in bot[0].edits] == ["thinking", "**answer**"]
    assert [m.ts for m in slack.thread("C1", root.ts)] == [root.ts, first["ts"], bot[1].ts]
    assert slack.bot_replies("C1", None) == []


async def test_replies_pagination_and_bounds(slack: FakeSlack, web: AsyncWebClient) -> None:
    """conversations.replies pages with limit/cursor and filters with oldest/inclusive."""
    root = await slack.user_message("C1", "U1", "root")
    for n in range(5):
        await web.chat_postMessage(channel="C1", thread_ts=root.ts, text=f"r{n}")
    seen: list[str] = []
    cursor = None
    while True:
        page = await web.conversations_replies(channel="C1", ts=root.ts, limit=2, cursor=cursor)
        seen += [m["text"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] is bool(cursor)
        if not cursor:
            break
    assert seen == ["root", "r0", "r1", "r2", "r3", "r4"]
    r2 = slack.thread("C1", root.ts)[3].ts
    newer = await web.conversations_replies(channel="C1", ts=root.ts, oldest=r2, inclusive=True)
    assert [m["text"] for m in newer["messages"]] == ["root", "r2", "r3", "r4"]
    bad = web.conversations_replies(channel="C1", ts=root.ts, cursor="bm9wZQ==")
    assert await error_code(bad) == "invalid_cursor"


async def test_history_is_newest_first(slack: FakeSlack, web: AsyncWebClient) -> None:
    """conversations.history lists top-level messages newest first, without thread replies."""
    root = await slack.user_message("C1", "U1", "one")
    await web.chat_postMessage(channel="C1", thread_ts=root.ts, text="reply")
    await web.chat_postMessage(channel="C1", text="two")
    history = await web.conversations_history(channel="C1")
    assert [m["text"] for m in history["messages"]] == ["two", "one"]


async def test_update_and_delete_errors(slack: FakeSlack, web: AsyncWebClient) -> None:
    """chat.update/delete: unknown ts, someone else's message, unknown channel."""
    human = await slack.user_message("C1", "U1", "mine")
    err = await slack_error(web.chat_update(channel="C1", ts="1.000001", text="x"))
    assert err["error"] == "message_not_found"
    err = await slack_error(web.chat_update(channel="C1", ts=human.ts, text="x"))
    assert err["error"] == "cant_update_message"
    err = await slack_error(web.chat_delete(channel="C1", ts=human.ts))
    assert err["error"] == "cant_delete_message"
    err = await slack_error(web.chat_update(channel="C404", ts=human.ts, text="x"))
    assert err["error"] == "channel_not_found"
    mine = await web.chat_postMessage(channel="C1", text="bye")
    await web.chat_delete(channel="C1", ts=mine["ts"])
    assert slack.messages("C1")[-1].deleted


async def test_not_in_channel_archived_and_thread_not_found(
    slack: FakeSlack, web: AsyncWebClient
) -> None:
    """Not a member: not_in_channel; archived: is_archived; bad thread_ts: thread_not_found."""
    slack.add_channel("C2", "random", members={"U1"})
    assert await error_code(web.chat_postMessage(channel="C2", text="x")) == "not_in_channel"
    assert await error_code(web.conversations_replies(channel="C2", ts="1.1")) == "not_in_channel"
    assert await error_code(web.conversations_history(channel="C2")) == "not_in_channel"
    bad_thread = web.chat_postMessage(channel="C1", text="x", thread_ts="1.000001")
    assert await error_code(bad_thread) == "thread_not_found"
    slack.archive_channel("C1")
    assert await error_code(web.chat_postMessage(channel="C1", text="x")) == "is_archived"


async def test_users_files_reactions_permalink(slack: FakeSlack, web: AsyncWebClient) -> None:
    """users.info, files.info (+ url_private download), reactions and permalinks behave."""
    assert (await web.users_info(user="U1"))["user"]["real_name"] == "Ada Lovelace"
    assert await error_code(web.users_info(user="U404")) == "user_not_found"
    file = slack.add_file({"id": "F1", "name": "notes.txt"}, content="hello file")
    assert (await web.files_info(file="F1"))["file"]["name"] == "notes.txt"
    assert await error_code(web.files_info(file="F404")) == "file_not_found"
    async with aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {BOT_TOKEN}"}
        async with http.get(file["url_private"], headers=auth) as res:
            assert await res.text() == "hello file"
        async with http.get(file["url_private"]) as res:  # no token: Slack's sign-in page
            assert res.status == 200
            assert "Sign in" in await res.text()
    msg = await slack.user_message("C1", "U1", "react to me")
    await web.reactions_add(channel="C1", timestamp=msg.ts, name="eyes")
    err = await slack_error(web.reactions_add(channel="C1", timestamp=msg.ts, name="eyes"))
    assert err["error"] == "already_reacted"
    await web.reactions_remove(channel="C1", timestamp=msg.ts, name="eyes")
    link = await web.chat_getPermalink(channel="C1", message_ts=msg.ts)
    assert link["permalink"].endswith("/archives/C1/p" + msg.ts.replace(".", ""))


async def test_ephemeral_messages_are_kept_apart(slack: FakeSlack, web: AsyncWebClient) -> None:
    """chat.postEphemeral stores the message for one user, not in the channel."""
    res = await web.chat_postEphemeral(channel="C1", user="U2", text="only you")
    assert slack.ephemerals[0].user == "U2"
    assert slack.ephemerals[0].ts == res["message_ts"]
    assert slack.messages("C1") == []
    slack.add_user("U3", "grace")
    err = await slack_error(web.chat_postEphemeral(channel="C1", user="U3", text="x"))
    assert err["error"] == "user_not_in_channel"


async def test_assistant_status_cleared_by_reply(slack: FakeSlack, web: AsyncWebClient) -> None:
    """setStatus shows a status under the thread; the bot's reply clears it, as in Slack."""
    root = await slack.user_message("D1", "U1", "hi")
    await web.assistant_threads_setStatus(channel_id="D1", thread_ts=root.ts, status="thinking…")
    assert slack.thread_status("D1", root.ts) == "thinking…"
    await web.chat_postMessage(channel="D1", thread_ts=root.ts, text="hello")
    assert slack.thread_status("D1", root.ts) == ""
    bad = web.assistant_threads_setStatus(channel_id="D1", thread_ts="1.000001", status="x")
    assert await error_code(bad) == "invalid_thread_ts"


# ---- streaming ---------------------------------------------------------------------------


async def test_streaming_lifecycle(slack: FakeSlack, web: AsyncWebClient) -> None:
    """start/append/stop build one message; appends after stop or expiry are refused."""
    root = await slack.user_message("D1", "U1", "question")
    started = await web.chat_startStream(channel="D1", thread_ts=root.ts, markdown_text="Hel")
    ts = started["ts"]
    await web.chat_appendStream(channel="D1", ts=ts, markdown_text="lo ")
    update = web.chat_update(channel="D1", ts=ts, text="x")
    assert await error_code(update) == "streaming_state_conflict"
    stopped = await web.chat_stopStream(channel="D1", ts=ts, markdown_text="world")
    assert stopped["message"]["text"] == "Hello world"
    (msg,) = slack.bot_replies("D1", root.ts)
    assert [text for _, text in msg.edits] == ["Hel", "Hello ", "Hello world"]
    late = web.chat_appendStream(channel="D1", ts=ts, markdown_text="!")
    assert await error_code(late) == "message_not_in_streaming_state"
    second = await web.chat_startStream(channel="D1", thread_ts=root.ts)
    slack.expire_stream(second["ts"])
    late = web.chat_appendStream(channel="D1", ts=second["ts"], markdown_text="!")
    assert await error_code(late) == "message_not_in_streaming_state"


async def test_broadcast_mentions_the_bot_shows_are_recorded(
    slack: FakeSlack, web: AsyncWebClient
) -> None:
    """Every broadcast a bot message shows is recorded — a posted one, one completed across two
    stream appends, a bare @here — while a person's mention and people's own posts are not."""
    root = await slack.user_message("D1", "U1", "<!here> from a person")
    await web.chat_postMessage(channel="C1", markdown_text="<@U1> and <!channel|channel>")
    started = await web.chat_startStream(channel="D1", thread_ts=root.ts, markdown_text="<!ev")
    await web.chat_appendStream(channel="D1", ts=started["ts"], markdown_text="eryone> hi")
    await web.chat_stopStream(channel="D1", ts=started["ts"], markdown_text=" and @here.")
    mentions = [mention for _, _, mention in slack.broadcasts]
    assert mentions == ["<!channel|channel>", "<!everyone>", "@here"]
    await web.chat_postMessage(channel="C1", markdown_text="<!her\u2060e> is inert")
    assert len(slack.broadcasts) == 3


async def test_sdk_chat_stream_helper_and_channel_recipient(
    slack: FakeSlack, web: AsyncWebClient
) -> None:
    """The SDK's ChatStream (chunks) works; channel streams need recipient ids, as Slack says."""
    root = await slack.user_message("C1", "U1", f"<@{BOT}> question")
    err = await slack_error(web.chat_startStream(channel="C1", thread_ts=root.ts))
    assert err["error"] == "missing_recipient_user_id"
    stream = await web.chat_stream(
        channel="C1",
        thread_ts=root.ts,
        recipient_user_id="U1",
        recipient_team_id="T0TEAM",
        buffer_size=4,
    )
    for piece in ["ab", "cd", "ef", "gh", "i"]:
        await stream.append(markdown_text=piece)
    await stream.stop()
    (msg,) = slack.bot_replies("C1", root.ts)
    assert msg.visible_text == "abcdefghi"
    assert not msg.streaming
    assert [c.method for c in slack.calls][-3:] == [
        "chat.startStream",
        "chat.appendStream",
        "chat.stopStream",
    ]
    assert slack.violations == []


async def test_task_updates_are_recorded_in_order_with_the_text(
    slack: FakeSlack, web: AsyncWebClient
) -> None:
    """task_update chunks (from the SDK's own chunk classes) make a timeline with the text: a
    task's statuses in order, the message text only the markdown."""

    root = await slack.user_message("D1", "U1", "question")
    task = TaskUpdateChunk(id="t1", title="Searching the web", status="in_progress")
    started = await web.chat_startStream(channel="D1", thread_ts=root.ts, chunks=[task])
    source = UrlSourceElement(url="https://slack.dev", text="Slack")
    done = TaskUpdateChunk(id="t1", title="Searching the web", status="complete", sources=[source])
    await web.chat_appendStream(
        channel="D1", ts=started["ts"], chunks=[done, MarkdownTextChunk(text="Found it.")]
    )
    await web.chat_stopStream(channel="D1", ts=started["ts"])
    (msg,) = slack.bot_replies("D1", root.ts)
    assert msg.visible_text == "Found it."
    assert msg.tasks() == {"t1": ["in_progress", "complete"]}
    assert [c["type"] for c in msg.timeline] == ["task_update", "task_update", "markdown_text"]


@pytest.mark.parametrize(
    "chunk",
    [
        {"type": "task_update", "id": "t1", "title": "Search"},  # no status
        {"type": "task_update", "id": "t1", "title": "Search", "status": "done"},
        {"type": "task_update", "id": "", "title": "Search", "status": "complete"},
        {"type": "task_update", "id": "t1", "title": "x" * 250, "status": "complete"},
        {"type": "task_update", "id": "t1", "title": "S", "status": "error", "colour": "red"},
        {
            "type": "task_update",
            "id": "t1",
            "title": "S",
            "status": "complete",
            "sources": [{"type": "url", "url": "ftp://x", "text": "x"}],
        },
        {"type": "plan_update"},
        {"type": "markdown_text", "text": 3},
        {"type": "blocks", "blocks": [{"type": "divider"}] * 51},
        {"type": "status", "text": "x"},
    ],
)
async def test_a_malformed_chunk_is_invalid_chunks(
    slack: FakeSlack, web: AsyncWebClient, chunk: dict[str, Any]
) -> None:
    """Chunks are checked against chunks.md: required fields, status values, the 256-character
    limit of a task_update (as compact JSON), known keys, web sources, 50 blocks, known types."""
    root = await slack.user_message("D1", "U1", "question")
    err = await slack_error(web.chat_startStream(channel="D1", thread_ts=root.ts, chunks=[chunk]))
    assert err["error"] == "invalid_chunks"
    assert "json-pointer:/chunks/0" in err["response_metadata"]["messages"][0]


# ---- rate limits ---------------------------------------------------------------------------


async def test_update_rate_limit_answers_429() -> None:
    """chat.update beyond its bucket gets HTTP 429 + Retry-After; slack_sdk raises SlackApiError."""
    limits = SlackRateLimits(update_per_minute=6.0, update_burst=2)
    async with FakeSlack(rate_limits=limits) as slack:
        slack.add_channel("C1", "general")
        web = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        ts = (await web.chat_postMessage(channel="C1", text="0"))["ts"]
        await web.chat_update(channel="C1", ts=ts, text="1")
        await web.chat_update(channel="C1", ts=ts, text="2")
        with pytest.raises(SlackApiError) as info:
            await web.chat_update(channel="C1", ts=ts, text="3")
        assert info.value.response.status_code == 429
        assert info.value.response["error"] == "ratelimited"
        assert info.value.response.headers["Retry-After"] == "10"
        assert [c.status for c in slack.rate_limited] == [429]
        assert slack.calls_to("chat.update")[-1].status == 429
        assert slack.messages("C1")[0].visible_text == "2"


async def test_post_rate_limit_is_per_channel() -> None:
    """chat.postMessage has one bucket per channel: a busy channel doesn't block another."""
    limits = SlackRateLimits(post_per_second_per_channel=0.5, post_burst=2)
    async with FakeSlack(rate_limits=limits) as slack:
        slack.add_user("U1", "ada")
        slack.add_channel("C1", "general")
        slack.add_im("D1", "U1")
        web = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        await web.chat_postMessage(channel="C1", text="1")
        await web.chat_postMessage(channel="C1", text="2")
        err = await slack_error(web.chat_postMessage(channel="C1", text="3"))
        assert err.status_code == 429
        assert err.headers["Retry-After"] == "2"
        assert (await web.chat_postMessage(channel="D1", text="other channel"))["ok"]


# ---- Socket Mode -------------------------------------------------------------------------


async def test_socket_hello_envelope_and_ack(slack: FakeSlack, app: SocketApp) -> None:
    """The client gets the real hello, then an events_api envelope, and its ack is recorded."""
    await slack.wait_for(lambda: len(app.raw) == 1)
    hello = app.raw[0]
    assert hello["type"] == "hello"
    assert hello["num_connections"] == 1
    assert hello["connection_info"] == {"app_id": "A0APP"}
    assert hello["debug_info"]["host"] == "applink-fake"
    payload = {"type": "event_callback", "event": {"type": "app_home_opened", "user": "U1"}}
    envelope_id = await slack.send_envelope("events_api", payload)
    ack = await slack.wait_ack(envelope_id)
    assert ack.envelope_id == envelope_id
    assert ack.payload is None
    assert 0 <= ack.latency_s < 3
    (req,) = app.requests
    assert (req.type, req.retry_attempt, req.retry_reason) == ("events_api", 0, "")
    assert slack.connection_count == 1


async def test_ticket_is_single_use(slack: FakeSlack) -> None:
    """A websocket URL from apps.connections.open works once; reusing it is refused (HTTP 401)."""
    opener = AsyncWebClient(token=APP_TOKEN, base_url=slack.api_url)
    url = (await opener.apps_connections_open(app_token=APP_TOKEN))["url"]
    assert url.startswith(f"ws://127.0.0.1:{slack.port}/link/?ticket=")
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url) as ws:
            hello = json.loads((await ws.receive()).data)
            assert hello["type"] == "hello"
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await http.ws_connect(url)
        assert info.value.status == 401


async def test_reconnect_after_drop(slack: FakeSlack, app: SocketApp) -> None:
    """After drop_connections the SDK client reconnects and still gets envelopes."""
    await slack.drop_connections()
    assert slack.connection_count == 0
    await slack.wait_connected()
    assert slack.connections_opened == 2
    delivery = await slack.user_message("D1", "U1", "are you there?")
    await slack.wait_ack(str(delivery.envelope_id))
    assert app.events()[-1]["text"] == "are you there?"


async def test_disconnect_message_makes_client_reconnect(slack: FakeSlack, app: SocketApp) -> None:
    """Slack's disconnect (refresh_requested) makes the client open a fresh connection."""
    await slack.send_disconnect("refresh_requested", close_after=0.5)
    await slack.wait_connected()
    await slack.wait_for(lambda: slack.connections_opened == 2)
    assert slack.connection_count == 1  # the old socket is draining, no longer counted
    envelope_id = await slack.send_envelope("events_api", {"event": {"type": "x"}})
    await slack.wait_ack(envelope_id)


async def test_user_message_routing(slack: FakeSlack, app: SocketApp) -> None:
    """IM -> message.im event; channel mention -> app_mention; plain channel message -> none."""
    dm = await slack.user_message("D1", "U1", "hello bot")
    assert dm.event["type"] == "message"
    assert dm.event["channel_type"] == "im"
    mention = await slack.user_message("C1", "U1", f"<@{BOT}> summarize")
    assert mention.event["type"] == "app_mention"
    assert "channel_type" not in mention.event
    plain = await slack.user_message("C1", "U2", "just chatting")
    assert plain.envelope_id is None
    assert plain.event_id is None
    reply = await slack.user_message("C1", "U2", f"<@{BOT}> more", thread_ts=mention.ts)
    assert reply.event["thread_ts"] == mention.ts
    shared = await slack.user_message("D1", "U1", "see file", files=[{"id": "F9", "name": "a.py"}])
    assert shared.event["subtype"] == "file_share"
    assert shared.event["files"][0]["id"] == "F9"
    for delivery in (dm, mention, reply, shared):
        await slack.wait_ack(str(delivery.envelope_id))
    events = app.events()
    assert [e["ts"] for e in events] == [dm.ts, mention.ts, reply.ts, shared.ts]
    body = app.requests[1].payload
    assert body["authorizations"][0]["user_id"] == BOT
    assert body["event_id"].startswith("Ev")
    assert events[1]["blocks"][0]["elements"][0]["elements"][0] == {"type": "user", "user_id": BOT}
    assert events[0]["client_msg_id"]
    assert events[0]["team"] == "T0TEAM"


async def test_redeliver_keeps_event_id(slack: FakeSlack, app: SocketApp) -> None:
    """A redelivery has the same event_id, a new envelope_id and the retry fields."""
    first = await slack.user_message("D1", "U1", "once")
    retry_id = await slack.redeliver(first, retry_attempt=1, retry_reason="timeout")
    await slack.wait_ack(retry_id)
    original, retried = app.requests
    assert retried.envelope_id != original.envelope_id
    assert retried.payload["event_id"] == original.payload["event_id"] == first.event_id
    assert (retried.retry_attempt, retried.retry_reason) == (1, "timeout")


async def test_bot_messages_echo_in_ims(
    slack: FakeSlack, app: SocketApp, web: AsyncWebClient
) -> None:
    """Bot posts/updates in a DM come back as message events (bot_id, message_changed)."""
    posted = await web.chat_postMessage(channel="D1", text="hi there")
    await web.chat_update(channel="D1", ts=posted["ts"], text="hi again")
    await web.chat_postMessage(channel="C1", text="channel post, no echo")
    await slack.wait_for(lambda: len(app.events()) == 2)
    echo, changed = app.events()
    assert (echo["bot_id"], echo["user"], echo["channel_type"]) == ("B0BOT", BOT, "im")
    assert "subtype" not in echo
    assert echo["text"] == "hi there"
    assert changed["subtype"] == "message_changed"
    assert changed["message"]["text"] == "hi again"
    assert changed["previous_message"]["text"] == "hi there"


async def test_echo_can_be_turned_off() -> None:
    """With echo_bot_messages=False the bot's DM posts raise no events."""
    async with FakeSlack(echo_bot_messages=False) as slack:
        slack.add_user("U1", "ada")
        slack.add_im("D1", "U1")
        web = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        await web.chat_postMessage(channel="D1", text="quiet")
        assert slack.envelopes == []


async def test_slash_command_response_url_and_trigger(slack: FakeSlack) -> None:
    """A slash command arrives with response_url/trigger_id; both work like Slack's."""
    app = SocketApp(slack, ack_payload={"text": "on it"})
    await app.client.connect()  # type: ignore[no-untyped-call]
    try:
        envelope_id = await slack.slash_command("/ask-haiku", "why?", user="U1", channel="C1")
        ack = await slack.wait_ack(envelope_id)
        assert ack.payload == {"text": "on it"}
        (req,) = app.requests
        assert req.type == "slash_commands"
        assert req.accepts_response_payload is True
        body = req.payload
        assert (body["command"], body["text"], body["user_id"]) == ("/ask-haiku", "why?", "U1")
        hook = AsyncWebhookClient(body["response_url"])
        res = await hook.send(text="public answer", response_type="in_channel")
        assert res.status_code == 200
        assert slack.messages("C1")[-1].visible_text == "public answer"
        web = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        view = {"type": "modal", "title": {"type": "plain_text", "text": "t"}, "blocks": []}
        assert (await web.views_open(trigger_id=body["trigger_id"], view=view))["ok"]
        again = web.views_open(trigger_id=body["trigger_id"], view=view)
        assert await error_code(again) == "exchanged_trigger_id"
        with pytest.raises(ValueError, match="not a slash command"):
            await slack.slash_command("/nope", "", user="U1", channel="C1")
    finally:
        await app.client.close()  # type: ignore[no-untyped-call]


async def test_wait_for_timeout_explains(slack: FakeSlack, web: AsyncWebClient) -> None:
    """wait_for raises TimeoutError naming the condition and the recent calls."""
    await web.auth_test()

    def never() -> bool:
        return False

    with pytest.raises(TimeoutError, match=r"never.*auth\.test->200"):
        await slack.wait_for(never, timeout=0.05)


async def test_bolt_app_end_to_end(slack: FakeSlack) -> None:
    """A slack_bolt AsyncApp over Socket Mode answers a mention and ignores its own DM echo."""
    web = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    bolt = AsyncApp(client=web)
    seen: list[str] = []

    @bolt.event("app_mention")
    async def on_mention(event: dict[str, Any], say: Any) -> None:
        seen.append(event["text"])
        await say(markdown_text="**hi**", thread_ts=event["ts"])

    @bolt.event("message")
    async def on_dm(event: dict[str, Any], say: Any) -> None:
        seen.append(event["text"])
        await say(text="pong")

    handler = AsyncSocketModeHandler(bolt, APP_TOKEN, ping_interval=0.3)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        await slack.wait_connected()
        mention = await slack.user_message("C1", "U1", f"<@{BOT}> hello")
        await slack.user_message("D1", "U1", "ping")
        await slack.wait_for(lambda: len(slack.bot_replies("D1", None)) == 1)
        await slack.wait_for(lambda: len(slack.acks) == len(slack.envelopes) == 3)
        assert [m.visible_text for m in slack.bot_replies("C1", mention.ts)] == ["**hi**"]
        assert sorted(seen) == sorted([f"<@{BOT}> hello", "ping"])  # "pong" echo: ignored
        assert slack.violations == []
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
