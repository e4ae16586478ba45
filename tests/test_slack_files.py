"""The Slack file download adapter (bot/slack/files.py) against the fake Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.api.files import SlackFileSource
from bot.slack.api.workspaces import OneWorkspace, Workspace
from bot.slack.handlers.inbound import file_ref_from
from bot.vision.problems import SCOPE_NOTICE, FileProblem
from testing.fakes.slack_server import FakeSlack

BOT_TOKEN = "xoxb-fake-bot-token"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(bot_token=BOT_TOKEN) as fake:
        yield fake


def _source(slack: FakeSlack, max_bytes: int = 1000) -> SlackFileSource:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    workspace = OneWorkspace(Workspace(slack.ids.team_id, None, client, slack.ids.bot_user_id))
    return SlackFileSource(workspace, allowed_hosts=frozenset({"127.0.0.1"}), max_bytes=max_bytes)


async def _problem(source: SlackFileSource, file: dict[str, object]) -> FileProblem:
    ref = file_ref_from(file)
    assert ref is not None
    try:
        with pytest.raises(FileProblem) as caught:
            await source.fetch(ref)
    finally:
        await source.close()
    return caught.value


async def test_a_file_is_downloaded_with_the_token(slack: FakeSlack) -> None:
    """A file on the allowed host comes back whole; the token went along."""
    file = slack.add_file({"name": "a.txt"}, content="hello")
    ref = file_ref_from(file)
    assert ref is not None
    source = _source(slack)
    fetched = await source.fetch(ref)
    await source.close()
    assert fetched.data == b"hello"
    assert slack.downloads[0]["token_sent"]


async def test_a_stub_is_resolved_before_the_download(slack: FakeSlack) -> None:
    """A Slack Connect stub is described by files.info, then downloaded."""
    slack.add_file({"id": "F1", "name": "a.txt", "mimetype": "text/plain"}, content="hi")
    ref = file_ref_from(slack.connect_stub("F1"))
    assert ref is not None
    source = _source(slack)
    fetched = await source.fetch(ref)
    await source.close()
    assert (fetched.ref.name, fetched.ref.mimetype, fetched.data) == ("a.txt", "text/plain", b"hi")


async def test_size_limit_applies_before_and_during_the_download(slack: FakeSlack) -> None:
    """A file whose metadata is over the limit is not fetched; one without a size in its
    metadata is stopped by the response's length."""
    declared = slack.add_file({"name": "big.txt"}, content="x" * 2000)
    assert "I download files up to" in (await _problem(_source(slack), declared)).reason
    assert slack.downloads == []
    undeclared = {**declared, "size": None}
    assert "I download files up to" in (await _problem(_source(slack), undeclared)).reason
    assert len(slack.downloads) == 1


async def test_foreign_host_missing_file_and_missing_scope(slack: FakeSlack) -> None:
    """A foreign host is refused without contact; a file Slack no longer has is "deleted"; the
    sign-in page (no files:read) gives the scope notice."""
    foreign = slack.add_file({"name": "a.png"}, content=b"x", host="localhost")
    assert "not to Slack's file host" in (await _problem(_source(slack), foreign)).reason
    assert slack.downloads == []
    gone = slack.add_file({"name": "gone.png"})  # registered without content: 404
    assert "deleted" in (await _problem(_source(slack), gone)).reason
    slack.revoke_scope("files:read")
    scoped = slack.add_file({"name": "b.png", "mimetype": "image/png"}, content=b"\x89PNG")
    assert (await _problem(_source(slack), scoped)).notice == SCOPE_NOTICE
