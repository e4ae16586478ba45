"""The fake Claude's Files API and its checks of image and document blocks, driven by the real
anthropic SDK (kept apart from test_fake_claude.py, which is long already)."""

from __future__ import annotations

import base64
from typing import Any

import anthropic
import pytest
from anthropic import AsyncAnthropic

from testing.fakes.claude_files import FILES_BETA
from testing.fakes.claude_server import FakeClaude, TextReply
from tests import samples

SMALL_CONTEXT_MODEL = "claude-haiku-4-5"  # 200k context: 100 images and 100 PDF pages
LARGE_CONTEXT_MODEL = "claude-sonnet-5-5"  # 1M context: 600 of each
BETA = {"anthropic-beta": FILES_BETA}


# The fixtures `fake` and `client` come from tests/claude_fixtures.py.


def _image(data: bytes, media_type: str = "image/png") -> dict[str, Any]:
    encoded = base64.b64encode(data).decode()
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": media_type, "data": encoded},
    }


def _pdf(data: bytes) -> dict[str, Any]:
    encoded = base64.b64encode(data).decode()
    source = {"type": "base64", "media_type": "application/pdf", "data": encoded}
    return {"type": "document", "source": source}


async def _ask(
    client: AsyncAnthropic,
    blocks: list[dict[str, Any]],
    model: str = LARGE_CONTEXT_MODEL,
    headers: dict[str, str] | None = None,
) -> Any:
    content = [*blocks, {"type": "text", "text": "What is this?"}]
    return await client.messages.create(
        model=model,
        max_tokens=50,
        messages=[{"role": "user", "content": content}],
        extra_headers=headers,
    )


async def _bad_request(call: Any) -> str:
    with pytest.raises(anthropic.BadRequestError) as caught:
        await call
    return str(caught.value.message)


async def test_files_api_upload_metadata_and_delete(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """Upload (multipart, beta header) returns the file object; metadata and delete work; the
    fake keeps the bytes and the declared MIME type."""
    data = samples.png()
    uploaded = await client.beta.files.upload(
        file=("shot.png", data, "image/png"), betas=[FILES_BETA]
    )
    assert (uploaded.filename, uploaded.mime_type, uploaded.size_bytes) == (
        "shot.png",
        "image/png",
        len(data),
    )
    assert fake.uploaded()[0].data == data
    meta = await client.beta.files.retrieve_metadata(uploaded.id, betas=[FILES_BETA])
    assert meta.id == uploaded.id
    await client.beta.files.delete(uploaded.id, betas=[FILES_BETA])
    with pytest.raises(anthropic.NotFoundError):
        await client.beta.files.retrieve_metadata(uploaded.id, betas=[FILES_BETA])


async def test_files_api_needs_the_beta_header(client: AsyncAnthropic) -> None:
    """Without `anthropic-beta: files-api-2025-04-14` an upload is refused."""
    message = await _bad_request(client.files.upload(file=("a.png", samples.png(), "image/png")))
    assert FILES_BETA in message


async def test_file_sources_need_the_beta_and_a_fitting_file(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """A file image is accepted with the beta header; without it, for an unknown id, or for a
    file that is not an image, the request is refused."""
    png = await client.beta.files.upload(
        file=("a.png", samples.png(), "image/png"), betas=[FILES_BETA]
    )
    pdf = await client.beta.files.upload(
        file=("r.pdf", samples.pdf(2), "application/pdf"), betas=[FILES_BETA]
    )
    fake.enqueue(TextReply("A screenshot."))

    def image(file_id: str) -> list[dict[str, Any]]:
        return [{"type": "image", "source": {"type": "file", "file_id": file_id}}]

    answer = await _ask(client, image(png.id), headers=BETA)
    assert answer.content[0].text == "A screenshot."
    assert FILES_BETA in await _bad_request(_ask(client, image(png.id)))
    assert "File not found" in await _bad_request(_ask(client, image("file_nope"), headers=BETA))
    assert "application/pdf" in await _bad_request(_ask(client, image(pdf.id), headers=BETA))
    document = [{"type": "document", "source": {"type": "file", "file_id": pdf.id}}]
    fake.enqueue(TextReply("Two pages."))
    assert (await _ask(client, document, headers=BETA)).content[0].text == "Two pages."


async def test_image_media_type_must_match_the_bytes(client: AsyncAnthropic) -> None:
    """A PNG declared as JPEG is refused, as the API does."""
    message = await _bad_request(_ask(client, [_image(samples.png(), "image/jpeg")]))
    assert "does not match the provided media type image/jpeg" in message


async def test_image_dimension_limits(client: AsyncAnthropic) -> None:
    """8000 px per edge; 2000 px once a request holds more than 20 images."""
    wide = samples.encoded(samples.screenshot(8001, 4), "PNG")
    message = await _bad_request(_ask(client, [_image(wide)]))
    assert "exceed max allowed size: 8000 pixels" in message
    fine = samples.encoded(samples.screenshot(2001, 4), "PNG")
    await _ask(client, [_image(fine)] * 20)
    message = await _bad_request(_ask(client, [_image(fine)] * 21))
    assert "exceed max allowed size: 2000 pixels" in message


async def test_image_over_5_mb_of_base64_is_refused(client: AsyncAnthropic) -> None:
    """An image whose base64 is over 5 MB is refused before it is decoded."""
    block = _image(samples.png())
    block["source"]["data"] = "A" * (5 * 1024 * 1024 + 4)
    assert "image exceeds 5 MB maximum" in await _bad_request(_ask(client, [block]))


async def test_pdf_page_limit_depends_on_the_context_window(client: AsyncAnthropic) -> None:
    """101 pages are refused by a 200k-context model and accepted by a 1M one."""
    document = [_pdf(samples.blank_pdf(101))]
    message = await _bad_request(_ask(client, document, model=SMALL_CONTEXT_MODEL))
    assert "A maximum of 100 PDF pages may be provided." in message
    await _ask(client, document, model=LARGE_CONTEXT_MODEL)


async def test_encrypted_or_broken_pdfs_are_refused(client: AsyncAnthropic) -> None:
    """An encrypted PDF and a damaged one are refused, in messages and in count_tokens."""
    assert "encrypted" in await _bad_request(
        _ask(client, [_pdf(samples.blank_pdf(1, password="x"))])
    )
    broken = [_pdf(b"%PDF-1.7 nothing")]
    assert "not valid" in await _bad_request(_ask(client, broken))
    counting = client.messages.count_tokens(
        model=LARGE_CONTEXT_MODEL,
        messages=[{"role": "user", "content": [*broken, {"type": "text", "text": "?"}]}],
    )
    assert "not valid" in await _bad_request(counting)


async def test_requests_over_32_mb_are_too_large(client: AsyncAnthropic) -> None:
    """A Messages request over 32 MB gets 413 request_too_large."""
    with pytest.raises(anthropic.APIStatusError) as caught:
        await _ask(client, [{"type": "text", "text": "x" * (33 * 1024 * 1024)}])
    assert caught.value.status_code == 413
