"""Screenshots, photos, PDFs and other files shared with the bot, end to end: the real bot process,
the fake Slack serving the files, the fake Claude with its Files API and media checks."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader

from testing.fakes.claude_files import FILES_BETA, StoredFile
from testing.fakes.claude_server import FakeClaude, TextReply
from testing.fakes.slack_server import FakeSlack
from testing.harness import BotProcess, wait_for_final
from tests import samples
from tests.wire.conftest import CHANNEL, DM, USER

PNG_FILE = {"name": "screenshot.png", "mimetype": "image/png", "filetype": "png"}
SCOPE_NOTICE = "I can't read files: the app lacks the files:read scope"


async def share(
    slack: FakeSlack, text: str, files: list[dict[str, Any]], thread_ts: str | None = None
) -> str:
    """A user mentions the bot with files in the channel; returns the thread's ts."""
    mention = f"<@{slack.ids.bot_user_id}> {text}"
    delivery = await slack.user_message(CHANNEL, USER, mention, thread_ts=thread_ts, files=files)
    return thread_ts or delivery.ts


def user_blocks(claude: FakeClaude, request: int = 0, message: int = 0) -> list[dict[str, Any]]:
    """The content blocks of one user message of one Messages request."""
    blocks: list[dict[str, Any]] = claude.message_requests()[request].body["messages"][message][
        "content"
    ]
    return blocks


def uploaded(claude: FakeClaude, block: dict[str, Any]) -> StoredFile:
    """The Files API file a block references."""
    return claude.files.files[block["source"]["file_id"]]


def placeholder(slack: FakeSlack, thread_ts: str) -> str:
    """The first text the bot's answer showed."""
    return slack.bot_replies(CHANNEL, thread_ts)[0].edits[0][1]


async def test_png_screenshot_goes_as_an_image_with_the_same_pixels(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A PNG shared with a mention: the placeholder says it reads an image, the PNG is uploaded
    unchanged (same bytes, image/png) and sent as an image block before the question."""
    claude.enqueue(TextReply("It shows a login form."))
    data = samples.png(800, 500)
    thread = await share(slack, "what is this?", [slack.add_file(PNG_FILE, data)])
    await wait_for_final(slack, CHANNEL, thread, "It shows a login form.")
    assert "Reading an image…" in placeholder(slack, thread)
    label, image, text = user_blocks(claude)
    assert label == {"type": "text", "text": "[Image: screenshot.png]"}
    stored = uploaded(claude, image)
    assert (stored.mime_type, stored.data) == ("image/png", data)
    assert text["text"].endswith("what is this?")
    assert claude.message_requests()[0].headers["anthropic-beta"] == FILES_BETA
    assert all(d["token_sent"] and d["host"] == "127.0.0.1" for d in slack.downloads)


async def test_large_photo_is_resized_within_the_models_edge(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A 6000×4000 JPEG is downscaled to Sonnet 5.5's 2576 px edge (aspect kept), as a JPEG."""
    claude.enqueue(TextReply("A red circle."))
    file = slack.add_file(
        {"name": "IMG_0001.jpg", "mimetype": "image/jpeg", "filetype": "jpg"}, samples.photo_jpeg()
    )
    thread = await share(slack, "describe", [file])
    await wait_for_final(slack, CHANNEL, thread, "A red circle.")
    stored = uploaded(claude, user_blocks(claude)[1])
    assert stored.mime_type == "image/jpeg"
    assert samples.pixels(stored.data)[1] == (2576, 1717)


async def test_several_images_in_order_animated_gif_and_bmp_converted(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """Two images in one message keep their order: an animated GIF goes as its first frame, a
    BMP as a PNG with the same pixels; the placeholder counts both."""
    claude.enqueue(TextReply("Two images."))
    gif = slack.add_file(
        {"name": "spinner.gif", "mimetype": "image/gif", "filetype": "gif"}, samples.animated_gif()
    )
    bmp_data = samples.bmp()
    bmp = slack.add_file({"name": "scan.bmp", "mimetype": "image/bmp", "filetype": "bmp"}, bmp_data)
    thread = await share(slack, "compare", [gif, bmp])
    await wait_for_final(slack, CHANNEL, thread, "Two images.")
    assert "Reading 2 images…" in placeholder(slack, thread)
    blocks = user_blocks(claude)
    assert blocks[0]["text"] == "[Image: spinner.gif, first frame of an animation]"
    assert blocks[2]["text"] == "[Image: scan.bmp]"
    first, second = uploaded(claude, blocks[1]), uploaded(claude, blocks[3])
    assert (first.filename, first.mime_type) == ("spinner.png", "image/png")
    assert (second.filename, second.mime_type) == ("scan.png", "image/png")
    assert samples.pixels(second.data)[1:] == samples.pixels(bmp_data)[1:]


async def test_pdf_goes_as_a_document_and_stays_for_follow_ups(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A 3-page PDF becomes a document block (Files API); the follow-up turn carries the very
    same block (byte-stable, so it stays in the cached prefix) and nothing is uploaded again."""
    claude.enqueue(TextReply("A 3-page report."), TextReply("Page 2 has two bars."))
    data = samples.pdf(3)
    file = slack.add_file({"name": "report.pdf", "mimetype": "application/pdf"}, data)
    thread = await share(slack, "summarise", [file])
    await wait_for_final(slack, CHANNEL, thread, "A 3-page report.")
    assert "Reading a PDF…" in placeholder(slack, thread)
    document = user_blocks(claude)[0]
    assert document["type"] == "document"
    assert document["title"] == "report.pdf"
    stored = uploaded(claude, document)
    assert stored.mime_type == "application/pdf"
    assert len(PdfReader(io.BytesIO(stored.data)).pages) == 3
    await share(slack, "and page 2?", [], thread_ts=thread)
    await wait_for_final(slack, CHANNEL, thread, "Page 2 has two bars.")
    first = [_without_cache_control(b) for b in user_blocks(claude, 0, 0)]
    again = [_without_cache_control(b) for b in user_blocks(claude, 1, 0)]
    assert json.dumps(first) == json.dumps(again)
    assert len(claude.uploaded()) == 1


def _without_cache_control(block: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in block.items() if key != "cache_control"}


async def test_image_in_a_dm_is_answered_and_remembered(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A screenshot sent in a DM without any text is described; the next DM still shows it."""
    claude.enqueue(TextReply("A screenshot of a form."), TextReply("Yes, the same form."))
    await slack.user_message(DM, USER, "", files=[slack.add_file(PNG_FILE, samples.png())])
    await wait_for_final(slack, DM, None, "A screenshot of a form.")
    await slack.user_message(DM, USER, "is it the same one?")
    await wait_for_final(slack, DM, None, "Yes, the same form.")
    history = claude.message_requests()[1].body["messages"]
    assert [block["type"] for block in history[0]["content"]] == ["text", "image", "text"]


async def test_slack_connect_stub_is_resolved_with_files_info(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A Slack Connect file arrives as a stub; the bot resolves it with files.info first."""
    claude.enqueue(TextReply("Got it."))
    slack.add_file({"id": "F0SHARED", **PNG_FILE}, samples.png())
    thread = await share(slack, "look", [slack.connect_stub("F0SHARED")])
    await wait_for_final(slack, CHANNEL, thread, "Got it.")
    assert [c.args.get("file") for c in slack.calls_to("files.info")] == ["F0SHARED"]
    assert user_blocks(claude)[1]["type"] == "image"


async def test_foreign_host_is_refused_and_the_token_never_leaves(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A url_private on a host that is not Slack's file host is not contacted at all (so no
    token is sent); the user is told why and the question is still answered."""
    claude.enqueue(TextReply("Without the image: no idea."))
    file = slack.add_file(PNG_FILE, samples.png(), host="localhost")
    thread = await share(slack, "what is this?", [file])
    final = await wait_for_final(slack, CHANNEL, thread, "Without the image: no idea.")
    assert "not to Slack's file host" in final
    assert "localhost" in final
    assert slack.downloads == []
    assert [b["type"] for b in user_blocks(claude)] == ["text"]
    assert "cannot see" in user_blocks(claude)[0]["text"]


async def test_sign_in_page_instead_of_the_file_says_files_read_is_missing(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """Without files:read Slack serves its HTML sign-in page: the user is told the scope is
    missing, nothing is uploaded, and the text is answered."""
    claude.enqueue(TextReply("I can only read your text."))
    slack.revoke_scope("files:read")
    thread = await share(slack, "and this?", [slack.add_file(PNG_FILE, samples.png())])
    final = await wait_for_final(slack, CHANNEL, thread, "I can only read your text.")
    assert SCOPE_NOTICE in final
    assert claude.uploaded() == []


async def test_unsupported_zip_gets_a_clear_line_and_the_text_is_answered(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A ZIP is not downloaded; the final message names what is supported, and the text of the
    message is still answered."""
    claude.enqueue(TextReply("Here is my answer."))
    archive = slack.add_file(
        {"name": "logs.zip", "mimetype": "application/zip", "filetype": "zip"},
        samples.zip_archive(),
    )
    thread = await share(slack, "what's in the logs?", [archive])
    final = await wait_for_final(slack, CHANNEL, thread, "Here is my answer.")
    assert final.startswith(":paperclip: I couldn't use *logs.zip*: I can't read that kind")
    assert "I can read images (PNG, JPEG, GIF, WebP, BMP, TIFF), PDFs and text files" in final
    assert slack.downloads == []


async def test_pdf_over_the_page_limit_says_which_limit(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A 101-page PDF is refused before Claude sees it: Haiku 5.5 (a configured tier) takes 100
    pages, so the user is told the limit and what to do; the question is answered."""
    claude.enqueue(TextReply("Answered without the PDF."))
    big = slack.add_file(
        {"name": "manual.pdf", "mimetype": "application/pdf"}, samples.blank_pdf(101)
    )
    thread = await share(slack, "read this", [big])
    final = await wait_for_final(slack, CHANNEL, thread, "Answered without the PDF.")
    assert "it has 101 pages and Claude reads at most 100 pages at once" in final
    assert claude.uploaded() == []


async def test_text_file_goes_inline_as_a_document(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A CSV goes as a plain-text document with its content (no upload needed)."""
    claude.enqueue(TextReply("Two rows."))
    csv = slack.add_file(
        {"name": "data.csv", "mimetype": "text/csv", "filetype": "csv"}, "a,b\n1,2\n3,4\n"
    )
    thread = await share(slack, "how many rows?", [csv])
    await wait_for_final(slack, CHANNEL, thread, "Two rows.")
    document = user_blocks(claude)[0]
    assert document["source"] == {
        "type": "text",
        "media_type": "text/plain",
        "data": "a,b\n1,2\n3,4\n",
    }
    assert claude.uploaded() == []


def peak_memory_mb(bot: BotProcess) -> float:
    """The bot process's peak resident memory so far (Linux's VmHWM), in MB."""
    assert bot.process is not None
    status = Path(f"/proc/{bot.process.pid}/status").read_text()
    [line] = [line for line in status.splitlines() if line.startswith("VmHWM:")]
    return int(line.split()[1]) / 1024


async def test_a_decompression_bomb_image_gets_a_line_and_the_rest_is_answered(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A tiny PNG of 10000×9999 pixels (100 megapixels once decoded) shared with a screenshot:
    the bomb is skipped from its header with a line saying its size and the limit, the
    screenshot is read, and the question answered."""
    claude.enqueue(TextReply("The screenshot shows a form."))
    bomb = samples.encoded(Image.new("1", (10_000, 9_999)), "PNG")
    assert len(bomb) < 100_000
    files = [
        slack.add_file({**PNG_FILE, "name": "huge.png"}, bomb),
        slack.add_file(PNG_FILE, samples.png()),
    ]
    thread = await share(slack, "what do these show?", files)
    final = await wait_for_final(slack, CHANNEL, thread, "The screenshot shows a form.")
    assert (
        ":paperclip: I couldn't use *huge.png*: it is 10,000×9,999 pixels (100 megapixels) "
        "and I read images up to 25 megapixels. Share a smaller copy"
    ) in final
    label, image, text = user_blocks(claude)
    assert label["text"] == "[Image: screenshot.png]"
    assert image["type"] == "image"
    assert "what do these show?" in text["text"]
    assert "cannot see: I couldn't use *huge.png*" in text["text"]  # Claude is told, too
    assert len(claude.uploaded()) == 1


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's VmHWM")
async def test_large_images_in_one_message_are_converted_two_at_a_time(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """Four 25-megapixel PNGs (the most an image may have) in one message are all read, yet the
    bot's peak memory stays far below four decoded at once (each takes about 100 MB): the
    process converts two files at a time."""
    claude.enqueue(TextReply("Four white squares."))
    data = samples.encoded(Image.new("RGB", (5_000, 5_000), (250, 250, 250)), "PNG")
    files = [slack.add_file({**PNG_FILE, "name": f"plan{n}.png"}, data) for n in range(4)]
    thread = await share(slack, "compare them", files)
    await wait_for_final(slack, CHANNEL, thread, "Four white squares.", timeout=120)
    assert [b["type"] for b in user_blocks(claude)].count("image") == 4
    assert peak_memory_mb(bot) < 800
