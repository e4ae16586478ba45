"""Server tools (BOT_TOOLS) as each model's request wants them, and how an answer that used
tools and cited the web is shown (pure)."""

from __future__ import annotations

import pytest

from bot.conversation.display import tools_note, with_sources
from bot.tools.server import (
    ConfiguredServerTools,
    ServerToolsError,
    WebOptions,
    parse_domains,
    parse_location,
    parse_names,
)


def test_definitions_are_the_newest_versions_called_directly() -> None:
    """Each named tool gets its newest type; the web tools are called directly, with the
    domain filter, uses cap and location given; definitions are reused (byte-stable)."""
    web = WebOptions(search_max_uses=3, allowed_domains=("docs.python.org",),
                     location={"country": "GB", "city": "London"})  # fmt: skip
    tools = ConfiguredServerTools(parse_names("code_execution, web_search,web_fetch"), web)
    search, fetch, code = tools.for_model("claude-sonnet-5-5")
    assert (search["type"], search["name"]) == ("web_search_20260318", "web_search")
    assert search["allowed_callers"] == ["direct"]
    assert search["max_uses"] == 3
    assert search["allowed_domains"] == ["docs.python.org"]
    assert search["user_location"] == {"type": "approximate", "country": "GB", "city": "London"}
    assert fetch["citations"] == {"enabled": True}
    assert code == {"type": "code_execution_20260521", "name": "code_execution"}
    assert tools.for_model("claude-sonnet-5-5") is tools.for_model("claude-sonnet-5-5")


@pytest.mark.parametrize(
    ("parse", "value"),
    [
        (parse_names, "web_search,browser"),
        (parse_domains, "https://example.com"),
        (parse_location, "country=Britain"),
        (parse_location, "planet=earth"),
    ],
)
def test_bad_settings_are_refused(parse: object, value: str) -> None:
    """Unknown tools, domains with a scheme, malformed locations: a clear error."""
    with pytest.raises(ServerToolsError):
        parse(value)  # type: ignore[operator]


def test_allowed_and_blocked_domains_exclude_each_other() -> None:
    """The API takes one or the other; both is a setting error."""
    with pytest.raises(ServerToolsError):
        ConfiguredServerTools(("web_search",), WebOptions(allowed_domains=("a.com",),
                                                         blocked_domains=("b.com",)))  # fmt: skip


def test_cited_passages_are_numbered_and_listed_once() -> None:
    """Each cited text block gets its sources' numbers; each URL is listed once, as a link."""
    url, other = "https://slack.dev/bolt/", "https://docs.slack.dev/"
    content: list[dict[str, object]] = [
        {"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}},
        {"type": "text", "text": "Bolt is Slack's framework", "citations": [
            {"type": "web_search_result_location", "url": url, "title": "Bolt [Python]"}]},
        {"type": "text", "text": ", documented well", "citations": [
            {"type": "web_search_result_location", "url": other, "title": None},
            {"type": "web_search_result_location", "url": url, "title": "Bolt"}]},
        {"type": "text", "text": "."},
    ]  # fmt: skip
    shown = with_sources("ignored", content)
    assert shown.startswith("Bolt is Slack's framework [1], documented well [1][2].")
    assert shown.endswith(f"*Sources*\n1. [Bolt (Python)]({url})\n2. [docs.slack.dev]({other})")


def test_passages_of_fetched_pages_link_the_page() -> None:
    """A char_location citation of a page web fetch read is listed as that page's link: by its
    document title, else by its index among the fetched pages; one it can't place is left out."""
    first, second = "https://docs.example.com/a", "https://docs.example.com/b"

    def fetched(url: str, title: str) -> dict[str, object]:
        document = {"type": "document", "title": title, "source": {"type": "text", "data": "x"}}
        return {
            "type": "web_fetch_tool_result",
            "tool_use_id": "s",
            "content": {"type": "web_fetch_result", "url": url, "content": document},
        }

    content: list[dict[str, object]] = [
        fetched(first, "Page A"), fetched(second, "Page B"),
        {"type": "text", "text": "B says so", "citations": [
            {"type": "char_location", "document_index": 0, "document_title": "Page B",
             "cited_text": "so", "start_char_index": 0, "end_char_index": 2}]},
        {"type": "text", "text": ", A too", "citations": [
            {"type": "char_location", "document_index": 0, "cited_text": "too",
             "start_char_index": 0, "end_char_index": 3},
            {"type": "char_location", "document_index": 7, "cited_text": "?",
             "start_char_index": 0, "end_char_index": 1}]},
    ]  # fmt: skip
    shown = with_sources("ignored", content)
    assert shown.startswith("B says so [1], A too [2]")
    assert shown.endswith(f"*Sources*\n1. [Page B]({second})\n2. [Page A]({first})")


def test_an_answer_without_citations_is_unchanged() -> None:
    """No citation: the streamed answer is the answer."""
    assert with_sources("plain", [{"type": "text", "text": "plain"}]) == "plain"


def test_the_footer_counts_tools_with_plurals() -> None:
    """The tools note goes inside the footer's italics."""
    line = tools_note("_Sonnet 5.5 · 2.0 s_", {"search": 2, "MCP call": 1, "page read": 1})
    assert line == "_Sonnet 5.5 · 2.0 s · 2 searches · 1 MCP call · 1 page read_"
    assert tools_note("_x_", {}) == "_x_"
