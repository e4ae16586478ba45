"""/ask-code cannot be used to freeze, exhaust or trick the bot: the real bot, git repositories
made here, the fake Slack and Claude."""

from __future__ import annotations

from pathlib import Path

from testing.fakes.claude_server import FakeClaude, TextReply, ToolUseReply
from testing.fakes.slack_server import FakeSlack
from testing.gitrepo import commit_files
from testing.harness import wait_for_final
from tests.wire.conftest import CHANNEL, OTHER_USER, USER, BotFactory

SONNET = "claude-sonnet-5-5"  # /ask-code's tier
REDOS = r"(\w+\w*)+\s*=$"  # exponential in Python's `re` on a long identifier without "="
HELPERS = "".join(f"def helper_{i}(x):\n    return x + {i}\n\n" for i in range(300))


async def slash(slack: FakeSlack, command: str, text: str, user: str = USER) -> str:
    """Run a command that starts a thread; the ts of the thread root the bot posts for it."""
    before = {m.ts for m in slack.messages(CHANNEL)}
    envelope = await slack.slash_command(command, text, user=user, channel=CHANNEL)
    await slack.wait_ack(envelope)
    await slack.wait_for(lambda: any(m.ts not in before for m in slack.messages(CHANNEL)))
    return next(m for m in slack.messages(CHANNEL) if m.ts not in before).ts


def tool_results(claude: FakeClaude) -> list[dict[str, object]]:
    """The tool_result blocks of every request the fake Claude received, in order."""
    found = []
    for request in claude.message_requests():
        last = request.body["messages"][-1]
        if isinstance(last["content"], list):
            found += [b for b in last["content"] if b.get("type") == "tool_result"]
    return found


async def test_a_catastrophic_search_neither_freezes_nor_fails_the_answer(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """Claude's search for a pattern that backtracks forever in Python's `re` gets "No matches."
    at once, a backreference gets a tool error naming RE2, the answer completes, and a question
    in another thread asked meanwhile is answered."""
    repo = tmp_path / "ids"
    commit_files(repo, {"src/ids.py": "abcdefghij_klmnopqrstuvwxyz_0123\n" * 20 + HELPERS})
    bot = bot_factory(ASK_CODE_REPOS=f"ids={repo}", ASK_CODE_CONTEXT_TOKENS="1000")
    await bot.start()
    claude.enqueue(
        ToolUseReply("search_code", {"pattern": REDOS}),
        ToolUseReply("search_code", {"pattern": r"(\w+) = \1"}),
        TextReply("Nothing assigns that identifier."),
        model=SONNET,
    )
    root_ts = await slash(slack, "/ask-code", "where is the identifier assigned?")
    await claude.wait_for_requests(2, path="/v1/messages", timeout=20)
    other_ts = await slash(slack, "/ask-haiku", "are you there?", user=OTHER_USER)
    await wait_for_final(slack, CHANNEL, other_ts, "You said")
    await wait_for_final(slack, CHANNEL, root_ts, "Nothing assigns that identifier.")
    catastrophic, backreference = tool_results(claude)
    assert catastrophic["content"] == "No matches."
    assert "is_error" not in catastrophic
    assert backreference["is_error"] is True
    assert "invalid regular expression" in str(backreference["content"])
    assert "RE2 syntax" in str(backreference["content"])


async def test_preparing_a_hostile_repository_leaves_other_threads_answered(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """A Java file of 30,000-space lines (the outline's old pattern took minutes on it, on the
    event loop) is mapped and indexed at once: its question and another thread are answered."""
    short = "".join(f"    int field{i};\n" for i in range(800))
    long = "".join(" " * 30_000 + "\n" for _ in range(4))
    repo = tmp_path / "java"
    commit_files(repo, {"src/Main.java": f"public class Main {{\n{short}{long}}}\n"})
    bot = bot_factory(ASK_CODE_REPOS=f"java={repo}", ASK_CODE_CONTEXT_TOKENS="1000")
    await bot.start()
    claude.enqueue(TextReply("Main declares fields (src/Main.java:L1)."), model=SONNET)
    root_ts = await slash(slack, "/ask-code", "what does Main declare?")
    other_ts = await slash(slack, "/ask-haiku", "still there?", user=OTHER_USER)
    await wait_for_final(slack, CHANNEL, other_ts, "You said")
    final = await wait_for_final(slack, CHANNEL, root_ts, "Main declares fields")
    assert "src/Main.java:L1" in final
    asked = next(r for r in claude.message_requests() if r.body["model"] == SONNET)
    system = asked.body["system"]
    assert any("src/Main.java" in block["text"] and "Main L1" in block["text"] for block in system)


async def test_a_changed_location_is_answered_from_the_new_repository(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """After ASK_CODE_REPOS points `widgets` elsewhere (a restart, the same data directory),
    the next question reads the new repository at once, not the old one's checkout."""
    old, new = tmp_path / "old-widgets", tmp_path / "new-widgets"
    old_commit = commit_files(old, {"w.py": "COLOR = 'red'\n"})
    new_commit = commit_files(new, {"w.py": "COLOR = 'blue'\n"})
    first = bot_factory(ASK_CODE_REPOS=f"widgets={old}")
    await first.start()
    claude.enqueue(TextReply("Red."))
    root_ts = await slash(slack, "/ask-code", "what color?")
    assert f"`{old_commit[:10]}`" in await wait_for_final(slack, CHANNEL, root_ts, "Read from")
    await first.stop()
    second = bot_factory(ASK_CODE_REPOS=f"widgets={new}")
    await second.start()
    claude.enqueue(TextReply("Blue."))
    root_ts = await slash(slack, "/ask-code", "what color now?")
    final = await wait_for_final(slack, CHANNEL, root_ts, "Read from")
    assert f"_Read from `widgets` at `{new_commit[:10]}`._" in final
    system = "\n".join(b["text"] for b in claude.message_requests()[-1].body["system"])
    assert "COLOR = 'blue'" in system
    assert "COLOR = 'red'" not in system


async def test_the_list_and_unknown_names_are_refused_outside_the_allowlists(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """Someone the allowlists leave out gets the refusal for `/ask-code list`, an unknown name
    and an empty question: no repository name or location, and no fetch."""
    repo = tmp_path / "secret-plans"
    commit_files(repo, {"plan.md": "# Plans\n"})
    bot = bot_factory(ASK_CODE_REPOS=f"plans={repo},more={repo}", BOT_ALLOWED_USERS=OTHER_USER)
    await bot.start()
    for text in ("list", "billing why?", ""):
        ack = await slack.wait_ack(
            await slack.slash_command("/ask-code", text, user=USER, channel=CHANNEL)
        )
        assert ack.payload is not None
        assert ack.payload["text"].startswith("Sorry, I'm not enabled for you.")
    assert slack.response_url_posts == []
    assert slack.messages(CHANNEL) == []
    assert not (tmp_path / "data" / "askcode" / "plans").exists()
    ack = await slack.wait_ack(
        await slack.slash_command("/ask-code", "list", user=OTHER_USER, channel=CHANNEL)
    )
    await slack.wait_for(lambda: bool(slack.response_url_posts))
    listing = slack.response_url_posts[0]["body"]["text"]
    assert f"`plans` — {repo} not fetched yet" in listing
    assert not (tmp_path / "data" / "askcode" / "plans").exists()  # listing fetched nothing
