"""Channel profiles through the real bot: a channel's profile changes the system prompt, the model,
the tools and the repositories of requests there and nowhere else; /claude-config is for admins."""

from __future__ import annotations

from pathlib import Path

from testing.fakes.claude_server import FakeClaude, TextReply
from testing.fakes.slack_server import FakeSlack
from testing.gitrepo import commit_files
from testing.harness import mention, wait_for_final
from tests.wire.conftest import CHANNEL, USER, BotFactory

PAYMENTS = "C0PAYMENTS"
PROFILES = """
default: {tools: []}
channels:
  C0PAYMENTS:
    system_prompt: "You support the payments team. Answer in British English."
    tier: opus
    tools: [web_search]
    repos: [api]
"""


async def _start(bot_factory: BotFactory, slack: FakeSlack, tmp_path: Path) -> None:
    profiles = tmp_path / "profiles.yaml"
    profiles.write_text(PROFILES)
    api, docs = tmp_path / "api", tmp_path / "docs"
    commit_files(api, {"main.py": "def charge(): ...\n"})
    commit_files(docs, {"README.md": "# Docs\n"})
    slack.add_channel(PAYMENTS, "payments", members={USER, slack.ids.bot_user_id})
    await bot_factory(
        BOT_CHANNEL_PROFILES=str(profiles),
        BOT_TOOLS="web_search",
        ASK_CODE_REPOS=f"api={api},docs={docs}",
        BOT_ADMIN_USERS=USER,
    ).start()


async def test_a_channels_profile_shapes_its_requests_and_no_others(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """In #payments: the profile's instructions after the base prompt, Opus, web search offered;
    in another channel: the base prompt, Sonnet, no server tools (the default profile turns them
    off; Slack's own search tools stay)."""
    await _start(bot_factory, slack, tmp_path)
    claude.enqueue(TextReply("Cheers."), TextReply("Hello."))
    there = await mention(slack, PAYMENTS, USER, "why did the charge fail?")
    await wait_for_final(slack, PAYMENTS, there.ts, "Cheers.")
    elsewhere = await mention(slack, CHANNEL, USER, "hello?")
    await wait_for_final(slack, CHANNEL, elsewhere.ts, "Hello.")
    pay, other = (r.body for r in claude.message_requests())
    pay_system = "".join(block["text"] for block in pay["system"])
    assert pay_system.endswith("You support the payments team. Answer in British English.")
    assert pay["model"] == "claude-opus-5-5"
    assert [t["name"] for t in pay["tools"] if t.get("type")] == ["web_search"]
    other_system = "".join(block["text"] for block in other["system"])
    assert "payments team" not in other_system
    assert other["model"] == "claude-sonnet-5-5"
    assert not [t for t in other.get("tools", []) if t.get("type")]  # no server tool there


async def test_a_repository_outside_the_profile_is_refused_there(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """/ask-code in #payments lists only `api` and refuses `docs` with a clear private message;
    Claude is never called for it."""
    await _start(bot_factory, slack, tmp_path)
    ack = await slack.wait_ack(
        await slack.slash_command("/ask-code", "docs what is this?", user=USER, channel=PAYMENTS)
    )
    assert ack.payload is not None
    assert "`docs` can't be asked about in this conversation" in ack.payload["text"]
    await slack.wait_ack(
        await slack.slash_command("/ask-code", "list", user=USER, channel=PAYMENTS)
    )
    await slack.wait_for(lambda: bool(slack.response_url_posts))
    listing = slack.response_url_posts[-1]["body"]["text"]
    assert "`api`" in listing
    assert "`docs`" not in listing
    assert claude.message_requests() == []


async def test_claude_config_shows_the_profile_to_admins_only(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """/claude-config shows an admin the channel's effective profile, privately; anyone else is
    told it is for admins."""
    await _start(bot_factory, slack, tmp_path)
    ack = await slack.wait_ack(
        await slack.slash_command("/claude-config", "", user=USER, channel=PAYMENTS)
    )
    assert ack.payload is not None
    assert ack.payload["response_type"] == "ephemeral"
    assert "*Default tier:* opus" in ack.payload["text"]
    assert "You support the payments team" in ack.payload["text"]
    slack.add_user("U0CAROL", "carol")
    ack = await slack.wait_ack(
        await slack.slash_command("/claude-config", "", user="U0CAROL", channel=PAYMENTS)
    )
    assert ack.payload is not None
    assert "Only the bot's admins" in ack.payload["text"]
