"""Code execution end to end through the real bot process: a CSV shared with "plot this CSV"
goes into code execution's container, the plot it makes comes back into the thread as an image,
the thread keeps its container (a new one when Anthropic no longer has it), and web searches
are priced in the usage ledger. Against the strict fake Claude (Files API, containers) and the
fake Slack (external uploads)."""

from __future__ import annotations

from typing import Any

import aiohttp

from testing.fakes.claude_script_tools import Bash, Hit, OutFile, Say, ToolTurn, WebSearch
from testing.fakes.claude_server import FakeClaude, TextReply
from testing.fakes.slack_models import StoredMessage
from testing.fakes.slack_server import FakeSlack
from testing.harness import mention, recent_ledger_records, wait_for_final
from tests import samples
from tests.wire.conftest import CHANNEL, USER, BotFactory
from tests.wire.test_files import share

CSV_FILE = {"name": "sales.csv", "mimetype": "text/csv", "filetype": "csv"}
CSV_DATA = b"month,sales\n" + b"".join(b"m%d,%d\n" % (n, n * 7) for n in range(2_000))
PNG = samples.png(640, 400)


def _plot_turn(say: str = "Here is the plot of sales by month.") -> ToolTurn:
    return ToolTurn(
        [
            Bash(
                "python plot.py $INPUT_DIR/sales.csv",
                stdout="saved $OUTPUT_DIR/plot.png",
                files=[OutFile("plot.png", PNG, "image/png")],
            ),
            Say(say),
        ]
    )


def _posted_files(slack: FakeSlack, thread: str) -> list[StoredMessage]:
    """The bot's messages in the thread that share a file."""
    return [m for m in slack.bot_replies(CHANNEL, thread) if m.files]


async def _download(slack: FakeSlack, file: dict[str, Any]) -> bytes:
    headers = {"Authorization": f"Bearer {slack.ids.bot_token}"}
    async with aiohttp.ClientSession() as http, http.get(file["url_private"], headers=headers) as r:
        return await r.read()


async def _plot(slack: FakeSlack, claude: FakeClaude) -> str:
    """Share the CSV with "plot this CSV" and wait for the answer; the thread's ts."""
    claude.enqueue(_plot_turn())
    csv = slack.add_file(CSV_FILE, CSV_DATA)
    thread = await share(slack, "plot this CSV", [csv])
    await wait_for_final(slack, CHANNEL, thread, "Here is the plot")
    return thread


async def test_plot_this_csv_runs_on_the_csv_and_posts_the_plot_inline(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """The shared CSV is uploaded whole to the Files API and given to code execution as a
    container_upload block (not read inline); the PNG code execution made is downloaded and
    posted into the thread under the answer as an image; the footer counts the code run."""
    await bot_factory(BOT_TOOLS="code_execution").start()
    thread = await _plot(slack, claude)
    final = await wait_for_final(slack, CHANNEL, thread, "Here is the plot")
    body = claude.message_requests()[0].body
    content = body["messages"][0]["content"]
    (upload,) = [block for block in content if block["type"] == "container_upload"]
    assert claude.files.files[upload["file_id"]].data == CSV_DATA
    assert not [block for block in content if block["type"] == "document"]
    assert [tool["type"] for tool in body["tools"] if "type" in tool] == ["code_execution_20260521"]
    assert "container" not in body
    (posted,) = _posted_files(slack, thread)
    (file,) = posted.files or []
    assert (file["name"], file["mimetype"]) == ("plot.png", "image/png")
    assert await _download(slack, file) == PNG
    answer = slack.bot_replies(CHANNEL, thread)[0]
    assert float(answer.ts) < float(posted.ts), "the plot comes under the answer"
    assert "1 code run" in final.splitlines()[-1]
    assert "couldn't bring back" not in final


async def test_a_follow_up_runs_in_the_same_container(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """The container the first answer used (holding the CSV) is sent with the follow-up; the
    history sends the container_upload block back as stored."""
    await bot_factory(BOT_TOOLS="code_execution").start()
    thread = await _plot(slack, claude)
    (container,) = claude.tool_state.container_files
    claude.enqueue(ToolTurn([Bash("ls $OUTPUT_DIR", stdout="plot.png"), Say("Both are there.")]))
    await mention(slack, CHANNEL, USER, "is the plot still there?", thread_ts=thread)
    await wait_for_final(slack, CHANNEL, thread, "Both are there.")
    follow_up = claude.message_requests()[-1]
    assert (follow_up.status, follow_up.body["container"]) == (200, container)
    kinds = [b["type"] for m in follow_up.body["messages"] for b in m["content"]]
    assert "container_upload" in kinds
    assert "bash_code_execution_tool_result" in kinds
    assert len(_posted_files(slack, thread)) == 1, "the old plot is not posted again"


async def test_a_container_anthropic_no_longer_has_is_replaced_without_a_word(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """The thread's container expired at Anthropic: the follow-up's request is refused (400),
    sent once more without it, answered normally; the new container is the one used next."""
    await bot_factory(BOT_TOOLS="code_execution").start()
    thread = await _plot(slack, claude)
    (old,) = claude.tool_state.container_files
    claude.tool_state.containers.clear()  # Anthropic let it go
    claude.enqueue(_plot_turn("Here it is again."))
    await mention(slack, CHANNEL, USER, "plot it again", thread_ts=thread)
    final = await wait_for_final(slack, CHANNEL, thread, "Here it is again.")
    refused, retried = claude.message_requests()[-2:]
    assert (refused.status, refused.body["container"]) == (400, old)
    assert retried.status == 200
    assert "container" not in retried.body
    assert ":warning:" not in final
    (new,) = claude.tool_state.containers
    assert claude.tool_state.container_files[new] == claude.tool_state.container_files[old]
    claude.enqueue(TextReply("Still here."))
    await mention(slack, CHANNEL, USER, "thanks", thread_ts=thread)
    await wait_for_final(slack, CHANNEL, thread, "Still here.")
    assert claude.message_requests()[-1].body["container"] == new
    assert len(_posted_files(slack, thread)) == 2


async def test_a_file_too_big_to_bring_back_is_named_in_the_answer(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A file over BOT_CODE_FILE_MAX_MB is not posted: the answer says which and why; the
    small one still comes."""
    await bot_factory(BOT_TOOLS="code_execution", BOT_CODE_FILE_MAX_MB="1").start()
    big = OutFile("all_rows.csv", b"x" * (3 * 1024 * 1024 // 2), "text/csv")
    claude.enqueue(
        ToolTurn(
            [
                Bash("python export.py", files=[big, OutFile("plot.png", PNG, "image/png")]),
                Say("Exported."),
            ]
        )
    )
    delivery = await mention(slack, CHANNEL, USER, "export everything and plot it")
    final = await wait_for_final(slack, CHANNEL, delivery.ts, "Exported.")
    assert (
        "I couldn't bring back *all_rows.csv*, a file code execution made: it is 1.5 MB and I "
        "bring back files up to 1.0 MB." in final
    )
    (posted,) = _posted_files(slack, delivery.ts)
    assert [f["name"] for f in posted.files or []] == ["plot.png"]


async def test_web_searches_are_priced_in_the_ledger(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """An answer that searched twice is recorded with its two searches and their $0.02 on top
    of its tokens; the failed third search (max_uses) is not billed."""
    await bot_factory(BOT_TOOLS="web_search", BOT_WEB_SEARCH_MAX_USES="2").start()
    url = "https://slack.dev/bolt-python/"
    claude.enqueue(
        ToolTurn(
            [
                WebSearch("bolt python", [Hit(url, "Bolt for Python")]),
                WebSearch("bolt python socket mode", [Hit(url, "Bolt for Python")]),
                WebSearch("bolt python again", [Hit(url, "Bolt for Python")]),
                Say("Bolt is Slack's framework."),
            ]
        )
    )
    delivery = await mention(slack, CHANNEL, USER, "what is bolt for python?")
    await wait_for_final(slack, CHANNEL, delivery.ts, "Bolt is Slack's framework.")
    (record,) = await recent_ledger_records(redis_url, slack.ids.team_id)
    assert (record["web_searches"], record["web_fetches"]) == ("2", "0")
    usage = claude.message_requests()[0].usage or {}
    written = usage.get("cache_creation_input_tokens") or 0  # the prefix is cacheable with tools
    read = usage.get("cache_read_input_tokens") or 0
    tokens = usage["input_tokens"] * 2 + written * 2.5 + read * 0.2 + usage["output_tokens"] * 10
    tokens_usd = tokens / 1e6  # Sonnet 5.5's prices per million tokens
    assert int(record["cost_nanos"]) == round((tokens_usd + 0.02) * 1e9)
