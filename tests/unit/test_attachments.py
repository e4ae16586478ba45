"""Shared files in the pure parts: kinds, the placeholder, notices, the prompt, Slack parsing,
the token's host rule and the request's image limit."""

from __future__ import annotations

from typing import Any

import pytest

from bot.claude.catalog import CATALOG
from bot.claude.media import FILES_BETA, OLDER_IMAGE, keep_newest_images, uses_files_api
from bot.claude.request import build_messages_call
from bot.conversation.attachments import FileKind, file_kind, reading_status
from bot.conversation.messages import Attachments, ChatRequest, FileRef, Question, ThreadKey
from bot.conversation.prompt import FILES_ONLY_PROMPT, build_user_message
from bot.slack.api.files import host_allowed, looks_like_html
from bot.slack.handlers.inbound import files_from_event

IMAGE_BLOCK = {"type": "image", "source": {"type": "file", "file_id": "file_1"}}


def _ref(name: str = "", mimetype: str = "", filetype: str = "") -> FileRef:
    return FileRef(id="F1", name=name, mimetype=mimetype, filetype=filetype)


@pytest.mark.parametrize(
    ("ref", "kind"),
    [
        (_ref("a.png", "image/png", "png"), FileKind.IMAGE),
        (_ref("scan.bmp", "image/bmp", "bmp"), FileKind.IMAGE),
        (_ref("IMG_1.HEIC", "image/heic", "heic"), FileKind.IMAGE),
        (_ref("r.pdf", "application/pdf", "pdf"), FileKind.PDF),
        (_ref("n.md", "text/markdown", "markdown"), FileKind.TEXT),
        (_ref("d.json", "application/json", "json"), FileKind.TEXT),
        (_ref("main.py", "text/x-python", "python"), FileKind.TEXT),
        (_ref("logo.svg", "image/svg+xml", "svg"), FileKind.TEXT),
        (_ref("Dockerfile", "application/octet-stream", ""), FileKind.TEXT),
        (_ref("a.zip", "application/zip", "zip"), FileKind.UNSUPPORTED),
        (_ref("v.mp4", "video/mp4", "mp4"), FileKind.UNSUPPORTED),
        (_ref("w.docx", "application/vnd.openxmlformats", "docx"), FileKind.UNSUPPORTED),
        (_ref(), FileKind.UNKNOWN),
    ],
)
def test_file_kind(ref: FileRef, kind: FileKind) -> None:
    """MIME type, Slack's filetype and the extension decide how a file is handed to Claude."""
    assert file_kind(ref) is kind


def test_reading_status_counts_what_is_read() -> None:
    """The placeholder names what is being read, counted and joined in plain English."""
    png, pdf = _ref("a.png", "image/png"), _ref("b.pdf", "application/pdf")
    assert reading_status([]) is None
    assert reading_status([png, png]) == "_Reading 2 images…_"
    assert reading_status([pdf]) == "_Reading a PDF…_"
    assert reading_status([png, pdf, _ref()]) == "_Reading an image, a PDF and a file…_"


def test_user_turn_puts_attachments_first_and_tells_claude_of_notices() -> None:
    """Blocks come before the text; notices are told to Claude briefly, in the text."""
    question = Question(ThreadKey("T", "C", "1.0"), "U1", "what is this?", "1.0", False, "1.0")
    attachments = Attachments((IMAGE_BLOCK,), ("I couldn't use *a.zip*: no.",))
    message = build_user_message(question, "Ana", [], attachments)
    assert message["content"][0] == IMAGE_BLOCK
    text = message["content"][-1]["text"]
    assert text.startswith("[Ana]: what is this?")
    assert "cannot see: I couldn't use *a.zip*: no." in text


def test_files_without_a_question_get_their_own_prompt() -> None:
    """A mention with only a file asks Claude to say what the file is, not to read the thread."""
    question = Question(ThreadKey("T", "D", "dm"), "U1", "", "1.0", True, None)
    message = build_user_message(question, "Ana", [], Attachments((IMAGE_BLOCK,)))
    assert message["content"][-1]["text"] == FILES_ONLY_PROMPT


def test_slack_files_are_parsed_stubs_and_tombstones_included() -> None:
    """Files in an event become FileRefs in order; a Slack Connect stub has no URL yet; a
    deleted file is marked unavailable."""
    event: dict[str, Any] = {
        "files": [
            {
                "id": "F1",
                "name": "a.png",
                "mimetype": "image/png",
                "filetype": "png",
                "size": 10,
                "url_private": "https://files.slack.com/files-pri/T-F1/a.png",
                "url_private_download": "https://files.slack.com/files-pri/T-F1/download/a.png",
            },
            {"id": "F2", "mode": "file_access", "file_access": "check_file_info", "created": 0},
            {"id": "F3", "mode": "tombstone"},
            {"name": "no id"},
        ]
    }
    first, stub, gone = files_from_event(event)
    assert first.url == "https://files.slack.com/files-pri/T-F1/download/a.png"
    assert (first.size, first.mimetype) == (10, "image/png")
    assert stub.id == "F2"
    assert stub.url is None
    assert stub.unavailable is None
    assert gone.unavailable == "it was deleted."


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://files.slack.com/files-pri/T-F1/a.png", True),
        ("http://files.slack.com/files-pri/T-F1/a.png", False),
        ("https://files.slack.com.evil.example/a.png", False),
        ("https://evil.example/files-pri/a.png", False),
        ("http://127.0.0.1:8080/files-pri/a.png", True),
        ("http://localhost:8080/files-pri/a.png", False),
        ("ftp://files.slack.com/a.png", False),
    ],
)
def test_the_token_goes_to_slacks_file_hosts_only(url: str, allowed: bool) -> None:
    """Only the configured hosts, over HTTPS (plain HTTP to loopback for tests), get the token."""
    assert host_allowed(url, frozenset({"files.slack.com", "127.0.0.1"})) is allowed


def test_slacks_sign_in_page_is_recognised() -> None:
    """HTML served instead of a file (no files:read) is told apart from the file."""
    assert looks_like_html(b"  <!DOCTYPE html><html>Sign in", "application/octet-stream")
    assert looks_like_html(b"\x89PNG", "text/html; charset=utf-8")
    assert not looks_like_html(b"\x89PNG\r\n", "image/png")
    assert not looks_like_html(b"<html> in a markdown file", "text/markdown", sniff=False)


def _turns_with_images(count: int) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": [IMAGE_BLOCK, {"type": "text", "text": f"q{n}"}]}
        for n in range(count)
    ]


def test_only_the_newest_20_images_are_sent() -> None:
    """Past 20 images the API caps each at 2000 px, so older images become a short text."""
    assert keep_newest_images(_turns_with_images(20)) == _turns_with_images(20)
    kept = keep_newest_images(_turns_with_images(22))
    assert [m["content"][0]["type"] for m in kept[:3]] == ["text", "text", "image"]
    assert kept[0]["content"][0]["text"] == OLDER_IMAGE


def test_requests_with_uploaded_files_carry_the_files_beta() -> None:
    """A call referencing a Files API file sends the beta header; one without does not."""
    model = CATALOG["claude-sonnet-5-5"]
    with_file = ChatRequest("claude-sonnet-5-5", "sys", _turns_with_images(1), 100)
    call = build_messages_call(with_file, model)
    assert call["extra_headers"] == {"anthropic-beta": FILES_BETA}
    plain = ChatRequest("claude-sonnet-5-5", "sys", [{"role": "user", "content": "hi"}], 100)
    assert "extra_headers" not in build_messages_call(plain, model)
    assert uses_files_api(_turns_with_images(1))
