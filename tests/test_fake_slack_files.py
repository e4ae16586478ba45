"""The fake Slack's file features used by the file-sharing tests: downloads recorded (host, token),
a URL on a foreign host name, Slack Connect stubs resolved by files.info, a revoked files:read
(kept apart from test_fake_slack.py, which is long already)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from testing.fakes.slack_server import FakeSlack

BOT_TOKEN = "xoxb-fake-bot-token"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    fake.add_user("U1", "ada", "Ada Lovelace")
    fake.add_channel("C1", "general", members={fake.ids.bot_user_id, "U1"})
    yield fake
    await fake.stop()


@pytest.fixture
def web(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)


async def _get(url: str, token: str | None = BOT_TOKEN) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, await response.read()


async def test_downloads_are_recorded_with_host_and_token(slack: FakeSlack) -> None:
    """Each download is recorded: the host asked for, the file, whether the bot token came."""
    file = slack.add_file({"id": "F1", "name": "a.txt"}, content="hi")
    assert await _get(file["url_private_download"]) == (200, b"hi")
    await _get(file["url_private"], token=None)
    assert [(d["host"], d["file"], d["token_sent"]) for d in slack.downloads] == [
        ("127.0.0.1", "F1", True),
        ("127.0.0.1", "F1", False),
    ]


async def test_a_file_can_live_on_a_foreign_host_name(slack: FakeSlack) -> None:
    """add_file(host=...) puts another host name in the URLs (same server), and the recorded
    download names that host."""
    file = slack.add_file({"id": "F2", "name": "b.png"}, content=b"png", host="localhost")
    assert file["url_private"].startswith(f"http://localhost:{slack.port}/files-pri/")
    assert await _get(file["url_private"]) == (200, b"png")
    assert slack.downloads[-1]["host"] == "localhost"


async def test_slack_connect_stub_resolves_with_files_info(
    slack: FakeSlack, web: AsyncWebClient
) -> None:
    """A message can carry a Slack Connect stub (no name, no URLs); files.info returns the full
    file, whose URL downloads it."""
    slack.add_file({"id": "F3", "name": "c.pdf", "mimetype": "application/pdf"}, content=b"%PDF")
    delivery = await slack.user_message("C1", "U1", "see file", files=[slack.connect_stub("F3")])
    shared = delivery.event["files"][0]
    assert shared["file_access"] == "check_file_info"
    assert "url_private" not in shared
    assert delivery.event["subtype"] == "file_share"
    full = (await web.files_info(file="F3"))["file"]
    assert await _get(full["url_private_download"]) == (200, b"%PDF")
    with pytest.raises(ValueError, match="unknown file"):
        await slack.user_message("C1", "U1", "x", files=[slack.connect_stub("F404")])


async def test_revoked_files_read_gives_the_sign_in_page(
    slack: FakeSlack, web: AsyncWebClient
) -> None:
    """Without files:read a download with the bot token gets Slack's HTML sign-in page (HTTP
    200), and files.info answers missing_scope."""
    file = slack.add_file({"id": "F4", "name": "d.png"}, content=b"\x89PNG")
    slack.revoke_scope("files:read")
    status, body = await _get(file["url_private"])
    assert status == 200
    assert body.startswith(b"<!DOCTYPE html>")
    with pytest.raises(SlackApiError) as caught:
        await web.files_info(file="F4")
    assert caught.value.response["error"] == "missing_scope"
