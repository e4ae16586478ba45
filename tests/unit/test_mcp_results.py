"""MCP tool results as Claude tool_result content, and MCP tools as ToolSpecs (pure)."""

from __future__ import annotations

import base64
import json
from typing import Any

from mcp_types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
    ToolAnnotations,
)
from mcp_types import Tool as McpToolDef

from bot.tools.mcp.results import MAX_IMAGE_BYTES, to_output
from bot.tools.mcp.tools import tool_spec

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 32).decode()


def convert(*content: Any, structured: Any = None, is_error: bool = False, cap: int = 1000) -> Any:
    result = CallToolResult(content=list(content), structured_content=structured, is_error=is_error)
    return to_output(result, max_chars=cap)


def texts(output: Any) -> list[str]:
    return [block["text"] for block in output.content if block["type"] == "text"]


def test_text_stays_text_and_errors_carry_over() -> None:
    """Text blocks pass through in order; is_error is kept."""
    output = convert(TextContent(text="a"), TextContent(text="b"), is_error=True)
    assert output.content == ({"type": "text", "text": "a"}, {"type": "text", "text": "b"})
    assert output.is_error


def test_an_image_becomes_a_claude_image_block() -> None:
    """A PNG becomes a base64 image block Claude reads."""
    output = convert(ImageContent(data=PNG, mime_type="image/png"))
    assert output.content == (
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
    )


def test_images_claude_cannot_take_are_named_not_sent() -> None:
    """An SVG, a too-large image and broken base64 become notes, not blocks the API refuses."""
    huge = "A" * (MAX_IMAGE_BYTES * 4 // 3 + 8)
    output = convert(
        ImageContent(data=PNG, mime_type="image/svg+xml"),
        ImageContent(data=huge, mime_type="image/jpeg"),
        ImageContent(data="not base64!", mime_type="image/png"),
        AudioContent(data=PNG, mime_type="audio/wav"),
    )
    assert all(block["type"] == "text" for block in output.content)
    notes = texts(output)
    assert "image/svg+xml was left out" in notes[0]
    assert "bytes was left out: the limit is 5,242,880" in notes[1]
    assert "not valid base64" in notes[2]
    assert "audio clip (audio/wav) was left out" in notes[3]


def test_structured_content_becomes_json_text_once() -> None:
    """Structured content is JSON text; a text block that already says the same is not repeated."""
    weather = {"city": "Oslo", "celsius": 21.5}
    alone = convert(structured=weather)
    assert json.loads(texts(alone)[0]) == weather
    both = convert(TextContent(text=json.dumps(weather)), structured=weather)
    assert texts(both) == [json.dumps(weather)]
    wrapped = convert(TextContent(text="echo: hi"), structured={"result": "echo: hi"})
    assert texts(wrapped) == ["echo: hi"]
    different = convert(TextContent(text="It is warm."), structured=weather)
    assert texts(different)[0] == "It is warm."
    assert json.loads(texts(different)[1]) == weather


def test_resources_become_text_naming_them() -> None:
    """A resource link and embedded text are named with their URI; an embedded PNG is an image;
    other binary is named with its size."""
    output = convert(
        ResourceLink(
            name="readme", uri="file:///r.md", description="The readme", mime_type="text/markdown"
        ),
        EmbeddedResource(
            resource=TextResourceContents(uri="file:///n.txt", text="body", mime_type="text/plain")
        ),
        EmbeddedResource(
            resource=BlobResourceContents(uri="file:///p.png", blob=PNG, mime_type="image/png")
        ),
        EmbeddedResource(
            resource=BlobResourceContents(
                uri="file:///a.zip", blob=PNG, mime_type="application/zip"
            )
        ),
    )
    kinds = [block["type"] for block in output.content]
    assert kinds == ["text", "text", "image", "text"]
    notes = texts(output)
    assert notes[0] == "[Resource link: readme <file:///r.md> (text/markdown) — The readme]"
    assert notes[1] == "[Resource <file:///n.txt> (text/plain):]\nbody"
    assert notes[2] == "[Binary resource <file:///a.zip> (application/zip), 40 bytes was left out.]"


def test_text_past_the_cap_is_cut_with_a_note() -> None:
    """Megabytes of text are cut to the cap, across blocks, with a note giving both sizes."""
    output = convert(TextContent(text="x" * 700), TextContent(text="y" * 1_000_000), cap=1000)
    body = "".join(texts(output)[:-1])
    assert body == "x" * 700 + "y" * 300
    assert texts(output)[-1] == (
        "\n\n[Truncated: the result had 1,000,700 characters of text; the first 1,000 are "
        "shown (BOT_MCP_MAX_RESULT_CHARS).]"
    )


def test_an_empty_result_says_so() -> None:
    """No content at all still gives Claude one text block."""
    assert texts(convert()) == ["(the tool returned nothing)"]


def definition(annotations: ToolAnnotations | None) -> McpToolDef:
    return McpToolDef(
        name="close_ticket",
        description="Close a ticket.",
        input_schema={"properties": {"id": {"type": "string"}}},
        annotations=annotations,
    )


def test_a_tool_not_annotated_read_only_needs_approval_unless_preapproved() -> None:
    """changes_things = not readOnlyHint and not pre-approved; the schema gets type object."""
    plain = tool_spec("t__close_ticket", definition(None), preapproved=False)
    assert plain.changes_things
    assert plain.definition() == {
        "name": "t__close_ticket",
        "description": "Close a ticket.",
        "input_schema": {"type": "object", "properties": {"id": {"type": "string"}}},
    }
    hint_false = tool_spec(
        "n", definition(ToolAnnotations(read_only_hint=False)), preapproved=False
    )
    assert hint_false.changes_things
    read_only = tool_spec("n", definition(ToolAnnotations(read_only_hint=True)), preapproved=False)
    assert not read_only.changes_things
    assert not tool_spec("n", definition(None), preapproved=True).changes_things
