"""The fake Slack's external uploads (files.getUploadURLExternal, the upload URL,
files.completeUploadExternal), driven by slack_sdk's own files_upload_v2 where it can be."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from testing.fakes.slack_server import FakeSlack

BOT_TOKEN = "xoxb-fake-bot-token"
CSV = b"id,answer\n1,yes\n2,no\n"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    fake.add_user("U1", "ada", "Ada Lovelace")
    fake.add_channel("C1", "general", members={fake.ids.bot_user_id, "U1"})
    fake.add_channel("C2", "elsewhere", members={"U1"})
    yield fake
    await fake.stop()


@pytest.fixture
def web(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)


async def _download(url: str) -> bytes:
    headers = {"Authorization": f"Bearer {BOT_TOKEN}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return await response.read()


async def _post(url: str, data: bytes) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.post(url, data=data) as response:
        return response.status, await response.text()


async def test_files_upload_v2_shares_the_file_into_the_thread(
    slack: FakeSlack, web: AsyncWebClient
) -> None:
    """files_upload_v2 into a thread: one bot reply there carrying the file, the initial comment
    as its text, and the file's url_private serves exactly the uploaded bytes."""
    root = await slack.user_message("C1", "U1", "here is the data")
    done = await web.files_upload_v2(
        channel="C1",
        thread_ts=root.ts,
        content=CSV,
        filename="out.csv",
        title="Results",
        initial_comment="All done.",
    )
    assert done["file"]["title"] == "Results"
    [reply] = slack.bot_replies("C1", root.ts)
    assert reply.text == "All done."
    [file] = reply.files or []
    assert (file["name"], file["filetype"], file["mimetype"]) == ("out.csv", "csv", "text/csv")
    assert file["shares"]["public"]["C1"][0]["thread_ts"] == root.ts
    assert await _download(file["url_private_download"]) == CSV
    history = await web.conversations_replies(channel="C1", ts=root.ts)
    assert history["messages"][-1]["files"][0]["id"] == file["id"]
    assert [c.method for c in slack.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
        "conversations.replies",
    ]
    assert slack.violations == []


async def test_upload_url_takes_bytes_once_and_checks_the_length(
    slack: FakeSlack, web: AsyncWebClient
) -> None:
    """The upload URL answers `OK - <n>` once (a second POST is refused); a size other than the
    announced length is recorded as a violation."""
    ticket = await web.files_getUploadURLExternal(filename="a.csv", length=5)
    assert await _post(ticket["upload_url"], b"1234") == (200, "OK - 4")
    status, _ = await _post(ticket["upload_url"], b"12345")
    assert status == 404
    assert slack.violations == [
        "upload of a.csv: 4 bytes sent, files.getUploadURLExternal was told length=5"
    ]
    slack.violations.clear()


async def test_upload_errors_follow_the_spec(slack: FakeSlack, web: AsyncWebClient) -> None:
    """length 0 -> missing_argument; completing before the bytes came -> file_not_found; a channel
    the bot is not in -> not_in_channel; files:write revoked -> missing_scope."""
    with pytest.raises(SlackApiError) as caught:
        await web.files_getUploadURLExternal(filename="a.csv", length=0)
    assert caught.value.response["error"] == "missing_argument"
    ticket = await web.files_getUploadURLExternal(filename="a.csv", length=3)
    file_id = str(ticket["file_id"])
    with pytest.raises(SlackApiError) as caught:
        await web.files_completeUploadExternal(files=[{"id": file_id}], channel_id="C1")
    assert caught.value.response["error"] == "file_not_found"
    await _post(ticket["upload_url"], b"abc")
    with pytest.raises(SlackApiError) as caught:
        await web.files_completeUploadExternal(files=[{"id": file_id}], channel_id="C2")
    assert caught.value.response["error"] == "not_in_channel"
    done = await web.files_completeUploadExternal(files=[{"id": file_id, "title": "A"}])
    assert done["files"] == [{"id": file_id, "title": "A"}]  # not shared: a private file
    assert slack.messages("C1") == []
    slack.revoke_scope("files:write")
    with pytest.raises(SlackApiError) as caught:
        await web.files_getUploadURLExternal(filename="a.csv", length=3)
    assert caught.value.response["error"] == "missing_scope"
