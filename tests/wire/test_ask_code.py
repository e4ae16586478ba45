"""/ask-code end to end: the real bot, a git repository made here, the fake Slack and Claude."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.fakes.claude_server import FakeClaude, TextReply, ToolUseReply
from testing.fakes.slack_server import FakeSlack
from testing.gitrepo import commit_files
from testing.harness import BotProcess, mention, wait_for_final
from tests.wire.conftest import CHANNEL, USER, BotFactory

TOKEN = "QUOKKA_TOKEN_7781"  # only src/payments/retry.py contains it
SECRET = "sk_live_thisMustNeverLeaveTheBot42"  # only in .env
WEB = "https://github.com/acme/payments"
RETRY = (
    '"""Retries of card charges."""\n\n'
    f'MARKER = "{TOKEN}"\n\n\n'
    "def backoff(attempt):\n"
    "    return min(30, 2**attempt)\n"
)
FILES: dict[str, str | bytes] = {
    "README.md": "# Payments\n\nCharges cards. See src/payments/app.py.\n",
    "docs/guide.md": "".join(f"Step {i}: charge, then settle the card.\n" for i in range(120)),
    "src/payments/__init__.py": "",
    "src/payments/app.py": "from payments.retry import backoff\n\n\ndef charge(card):\n"
    "    return backoff(1)\n",
    "src/payments/retry.py": RETRY,
    ".env": f"STRIPE_SECRET_KEY={SECRET}\n",
    "docs/logo.png": b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01",
}

CODE_TOOLS = {"search_code", "list_files", "read_file"}  # besides them: Slack's tools


@pytest.fixture
def payments(tmp_path: Path) -> tuple[Path, str]:
    """The test repository and its commit."""
    repo = tmp_path / "payments"
    return repo, commit_files(repo, FILES)


async def ask_code(slack: FakeSlack, text: str) -> str:
    """Run /ask-code; return the ts of the thread root the bot posts for it."""
    before = {m.ts for m in slack.messages(CHANNEL)}
    envelope = await slack.slash_command("/ask-code", text, user=USER, channel=CHANNEL)
    await slack.wait_ack(envelope)
    await slack.wait_for(lambda: any(m.ts not in before for m in slack.messages(CHANNEL)))
    return next(m for m in slack.messages(CHANNEL) if m.ts not in before).ts


def everything_sent(claude: FakeClaude) -> str:
    """Every request body the fake Claude received (messages and count_tokens), as JSON."""
    return "\n".join(json.dumps(r.body) for r in claude.requests)


def edits_of(slack: FakeSlack, thread_ts: str) -> list[str]:
    """Every text the bot's replies in the thread showed, in order."""
    return [text for m in slack.bot_replies(CHANNEL, thread_ts) for _, text in m.edits]


async def start_bot(bot_factory: BotFactory, repo: Path, **env: str) -> BotProcess:
    """A bot answering /ask-code about the repository (linked to its GitHub page)."""
    bot = bot_factory(ASK_CODE_REPOS=f"payments={repo}", ASK_CODE_LINKS=f"payments={WEB}", **env)
    await bot.start()
    return bot


async def test_small_repository_whole_with_checked_citations(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, payments: tuple[Path, str]
) -> None:
    """The whole repository goes to Claude (the token in, the .env value and the binary out,
    behind a 1-hour breakpoint); citations link to the exact commit and lines; one that does
    not exist is flagged; the answer names the commit it read."""
    repo, commit = payments
    await start_bot(bot_factory, repo)
    claude.enqueue(TextReply("Set in src/payments/retry.py:L3 (see src/nowhere.py:L1-L4)."))
    root_ts = await ask_code(slack, f"payments where is {TOKEN} defined?")
    root = slack.thread(CHANNEL, root_ts)[0]
    assert root.text == f"<@{USER}> asked about *payments*: where is {TOKEN} defined?"
    final = await wait_for_final(slack, CHANNEL, root_ts, "Read from")
    link = f"[src/payments/retry.py:L3]({WEB}/blob/{commit}/src/payments/retry.py#L3)"
    assert link in final
    assert "`src/nowhere.py:L1-L4` _(⚠" in final
    assert f"_Read from `payments` at `{commit[:10]}`._" in final
    body = claude.message_requests()[0].body
    system = body["system"]
    assert system[-1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    repo_text = "\n".join(block["text"] for block in system[1:])
    assert f'3\tMARKER = "{TOKEN}"' in repo_text
    assert "docs/logo.png" not in repo_text
    assert SECRET not in everything_sent(claude)
    assert not CODE_TOOLS & {tool["name"] for tool in body.get("tools", [])}  # whole mode
    assert any(r.path == "/v1/messages/count_tokens" for r in claude.requests)
    assert any("Fetching `payments`…" in text for text in edits_of(slack, root_ts))


async def test_follow_up_reuses_the_cached_repository_block(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, payments: tuple[Path, str]
) -> None:
    """A mention in the thread keeps the repository: the same system bytes with the 1-hour
    breakpoint in place, read from the prompt cache."""
    repo, _ = payments
    await start_bot(bot_factory, repo)
    claude.enqueue(TextReply("First: src/payments/app.py:L4-L5."))
    root_ts = await ask_code(slack, "payments how is a card charged?")
    await wait_for_final(slack, CHANNEL, root_ts, "Read from")
    claude.enqueue(TextReply("Second: backoff is at src/payments/retry.py:L6-L7."))
    await mention(slack, CHANNEL, USER, "and the backoff?", thread_ts=root_ts)
    await wait_for_final(slack, CHANNEL, root_ts, "Second:")
    first, second = claude.message_requests()
    assert second.body["system"] == first.body["system"]
    assert second.body["system"][-1]["cache_control"]["ttl"] == "1h"
    assert second.usage is not None
    assert second.usage["cache_read_input_tokens"] > 0
    assert second.usage["cache_creation"]["ephemeral_1h_input_tokens"] == 0
    assert [m["role"] for m in second.body["messages"]] == ["user", "assistant", "user"]


async def test_large_repository_runs_the_tool_loop(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, payments: tuple[Path, str]
) -> None:
    """Over the budget: a repository map (and files shown whole), excerpts and tools; the
    scripted tool calls run against the snapshot, every tool_use gets its result, the answer
    keeps what Claude wrote before its calls."""
    repo, _ = payments
    filler = "".join(f"def helper_{i}(x):\n    return x + {i}\n\n" for i in range(400))
    commit_files(repo, {"src/payments/helpers.py": filler}, "helpers")
    await start_bot(bot_factory, repo, ASK_CODE_CONTEXT_TOKENS="2000")
    claude.enqueue(
        ToolUseReply("search_code", {"pattern": "QUOKKA"}, text_before="Let me look."),
        ToolUseReply(
            "read_file", {"path": "src/payments/retry.py", "start_line": 1, "end_line": 7}
        ),
        TextReply("The marker is at src/payments/retry.py:L3."),
    )
    root_ts = await ask_code(slack, "where is the marker set?")
    final = await wait_for_final(slack, CHANNEL, root_ts, "The marker is at")
    assert f"[src/payments/retry.py:L3]({WEB}/blob/" in final
    first, second, third = claude.message_requests()
    code_tools = [t["name"] for t in first.body["tools"] if t["name"] in CODE_TOOLS]
    assert code_tools == ["search_code", "list_files", "read_file"]
    assert any("<repository_map" in block["text"] for block in first.body["system"])
    assert first.body["system"][-1]["cache_control"]["ttl"] == "1h"
    result = second.body["messages"][-1]["content"][0]
    assert result["type"] == "tool_result"
    assert f'src/payments/retry.py:3: MARKER = "{TOKEN}"' in result["content"]
    read = third.body["messages"][-1]["content"][0]["content"]
    assert read.startswith("src/payments/retry.py lines 1-7 of 7\n1\t")
    # what the thread shows while a tool runs is an interim edit, coalesced like text: these
    # tools answer within the edit interval, so their lines may never show (unit-tested in
    # tests/unit/test_code_turn.py; slow tools at the wire in tests/wire/test_tool_progress.py)
    assert final.startswith("Let me look.\n\nThe marker is at")
    assert SECRET not in everything_sent(claude)


async def test_unknown_empty_and_unfetchable(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, payments: tuple[Path, str]
) -> None:
    """An unknown name gets the list (fetching nothing); an empty question a hint; a repository
    that can't be fetched a clear message in its thread, and `list` then says so."""
    repo, _ = payments
    ghost = repo.parent / "ghost"
    bot = bot_factory(ASK_CODE_REPOS=f"payments={repo},ghost={ghost}")
    await bot.start()
    ack = await slack.wait_ack(
        await slack.slash_command("/ask-code", "payments", user=USER, channel=CHANNEL)
    )
    assert ack.payload is not None
    assert "Ask a question after the repository name" in ack.payload["text"]
    await slack.wait_ack(
        await slack.slash_command("/ask-code", "billing why?", user=USER, channel=CHANNEL)
    )
    await slack.wait_for(lambda: bool(slack.response_url_posts))
    listing = slack.response_url_posts[0]["body"]["text"]
    assert "I don't know a repository named `billing`" in listing
    assert f"`payments` — {repo} not fetched yet" in listing
    assert f"`ghost` — {ghost} not fetched yet" in listing
    assert slack.messages(CHANNEL) == []
    root_ts = await ask_code(slack, "ghost anything?")
    final = await wait_for_final(slack, CHANNEL, root_ts, "couldn't fetch")
    assert ":warning: I couldn't fetch `ghost`" in final
    assert claude.message_requests() == []
    await slack.wait_ack(await slack.slash_command("/ask-code", "list", user=USER, channel=CHANNEL))
    await slack.wait_for(lambda: len(slack.response_url_posts) == 2)
    listing = slack.response_url_posts[1]["body"]["text"]
    assert f"`ghost` — {ghost} not fetched yet :warning: the last fetch failed" in listing
