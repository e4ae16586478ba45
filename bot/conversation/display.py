"""What a user sees of an answer: live text, thinking status, notices and the footer (pure)."""

from __future__ import annotations

from bot.conversation.messages import StopReason
from bot.conversation.routing import tier_label

THINKING = "_Thinking…_"
CUT_NOTICE = "_(The answer reached the length limit and was cut here. Ask me to continue.)_"
REFUSAL_NOTICE = "_(Claude declined to answer this.)_"
EMPTY_ANSWER = "_(Claude returned an empty answer. Try rephrasing the question.)_"
HELLO_HINT = (
    "Hi! Ask me anything: mention me with your question, here or in a thread, "
    "and I'll answer in the thread. Follow-up mentions in the same thread continue "
    "the conversation."
)
THINKING_SHOWN_CHARS = 1500


def is_status(text: str) -> bool:
    """True for a placeholder or thinking status rather than answer text."""
    return not text.strip() or (text.startswith("_") and text.rstrip().endswith(("…_", " s_")))


def thinking_status(elapsed_seconds: float) -> str:
    """The live status while the model thinks, with elapsed seconds."""
    return f"_Thinking… {elapsed_seconds:.0f} s_"


def quoted_thinking(thinking: str) -> str:
    """The model's thinking as a quoted block (BOT_SHOW_THINKING), capped in length."""
    text = thinking.strip()
    if len(text) > THINKING_SHOWN_CHARS:
        text = text[:THINKING_SHOWN_CHARS].rstrip() + " …"
    lines = ["> _Thinking:_", *(f"> {line}" if line else ">" for line in text.split("\n"))]
    return "\n".join(lines)


def paragraph_break(text: str) -> str:
    """What goes between text and a new paragraph after it ("" when it already ends one)."""
    if not text or text.endswith("\n\n"):
        return ""
    return "\n" if text.endswith("\n") else "\n\n"


def joined(first: str, second: str) -> str:
    """Two pieces of an answer (before and after a tool call) as paragraphs."""
    return first + paragraph_break(first) + second if second else first


def live_text(answer: str, thinking: str, status: str, show_thinking: bool) -> str:
    """The message while streaming: thinking status (or thinking) until text arrives, then text."""
    shown = quoted_thinking(thinking) if show_thinking and thinking.strip() else ""
    body = answer if answer else status
    return f"{shown}\n\n{body}" if shown else body


def final_text(answer: str, stop_reason: StopReason) -> str:
    """What the answer says finally, with a notice when the model stopped early."""
    if stop_reason is StopReason.REFUSAL:
        return f"{answer}\n\n{REFUSAL_NOTICE}".strip()
    if not answer.strip():
        return EMPTY_ANSWER
    if stop_reason is StopReason.MAX_TOKENS:
        return f"{answer}\n\n{CUT_NOTICE}"
    return answer


def failure_text(partial: str, notice: str) -> str:
    """The final message after a failure: what had streamed, then the notice."""
    warning = f":warning: {notice}"
    return f"{partial}\n\n{warning}" if partial.strip() else warning


def footer(model_display: str, seconds: float, asked_tier: str, answered_tier: str) -> str:
    """One line naming the model that answered and how long it took."""
    line = f"{model_display} · {seconds:.1f} s"
    if asked_tier != answered_tier:
        line = f"{tier_label(asked_tier)} was overloaded — answered by {line}"
    return f"_{line}_"


def with_footer(text: str, footer_line: str) -> str:
    """The final text with the footer line under it."""
    return f"{text}\n\n{footer_line}"


def switched_text(tier: str, model_display: str) -> str:
    """The reply to "switch to <tier>"."""
    return (
        f"Switched this thread to *{tier_label(tier)}* (`{model_display}`). "
        "My next answers here will use it."
    )


# The footer counts server tools by their block's name (client tools: ToolSpec.counted_as).
SERVER_TOOL_NOUNS = {
    "web_search": "search",
    "web_fetch": "page read",
    "code_execution": "code run",
    "bash_code_execution": "code run",
    "text_editor_code_execution": "code run",
}
PLURALS = {"search": "searches", "page read": "pages read", "code run": "code runs"}


def counted(count: int, noun: str) -> str:
    """ "1 search", "2 searches", "3 MCP calls"."""
    return f"{count} {noun}" if count == 1 else f"{count} {PLURALS.get(noun, noun + 's')}"


def tools_note(footer_line: str, uses: dict[str, int]) -> str:
    """The footer with what the answer used, e.g. "_Sonnet 5.5 · 4.2 s · 2 searches · 1 MCP
    call_" (nouns in the order first used)."""
    if not uses:
        return footer_line
    note = " · ".join(counted(n, noun) for noun, n in uses.items() if n)
    return f"{footer_line[:-1]} · {note}_" if footer_line.endswith("_") else footer_line


MAX_SOURCES = 10


def _link_title(title: str, url: str) -> str:
    shown = (title or url.split("//", 1)[-1].split("/", 1)[0]).strip()
    return shown.replace("[", "(").replace("]", ")")[:120]


def fetched_pages(content: list[dict[str, object]]) -> list[tuple[str, str]]:
    """(url, title) of each page web fetch read in this answer, in order."""
    pages = []
    for block in content:
        result = block.get("content") if block.get("type") == "web_fetch_tool_result" else None
        if not isinstance(result, dict) or result.get("type") != "web_fetch_result":
            continue
        document = result.get("content")
        title = document.get("title") if isinstance(document, dict) else None
        pages.append((str(result.get("url") or ""), str(title or "")))
    return pages


def cited_page(citation: dict[str, object], pages: list[tuple[str, str]]) -> tuple[str, str]:
    """The (url, title) a citation points at: a search result's own URL, or for a passage of a
    fetched page (char_location, page_location) the page with its title, else its index."""
    if citation.get("url"):
        return str(citation["url"]), str(citation.get("title") or "")
    title = citation.get("document_title")
    for url, page_title in pages:
        if title and page_title == title:
            return url, page_title
    index = citation.get("document_index")
    if isinstance(index, int) and 0 <= index < len(pages):
        return pages[index]
    return "", ""


def with_sources(answer: str, content: list[dict[str, object]]) -> str:
    """An answer that cites web pages (searched or fetched), rebuilt from its text blocks with a
    numbered reference after each cited passage, and a sources list of links; the answer as it
    was otherwise."""
    pages = fetched_pages(content)
    refs: dict[str, tuple[int, str]] = {}
    parts: list[str] = []
    after_tool = False  # a tool call since the last text block: its text is a new paragraph
    for block in content:
        kind = str(block.get("type"))
        if kind != "text":
            after_tool = after_tool or (bool(parts) and kind.endswith(("_tool_use", "_result")))
            continue
        if after_tool:
            parts.append(paragraph_break("".join(parts)))
            after_tool = False
        numbers = []
        citations = block.get("citations")
        for citation in citations if isinstance(citations, list) else []:
            url, title = cited_page(citation, pages)
            if not url.startswith(("https://", "http://")):
                continue
            if url not in refs and len(refs) < MAX_SOURCES:
                refs[url] = (len(refs) + 1, title)
            if url in refs and refs[url][0] not in numbers:
                numbers.append(refs[url][0])
        marks = "".join(f"[{n}]" for n in sorted(numbers))
        parts.append(f"{block.get('text', '')}{' ' + marks if marks else ''}")
    if not refs:
        return answer
    sources = "\n".join(
        f"{n}. [{_link_title(title, url)}]({url})" for url, (n, title) in refs.items()
    )
    return f"{''.join(parts).strip()}\n\n*Sources*\n{sources}"
