"""The /claude-usage answer as Block Kit (pure): the caller's numbers, then, for admins, the top
channels, users and models over 7 and 30 days."""

from __future__ import annotations

from typing import Any

from bot.usage.records import Totals
from bot.usage.report import Ranking, UsageReport
from bot.usage.spend_limits import money, reset_phrase

Block = dict[str, Any]
TITLES = {"channel": "Channels", "user": "People", "model": "Models"}
FOOTNOTE = (
    "From the bot's usage ledger, priced with its model catalog (web search at $10 per 1,000). "
    "Days and months are UTC. "
    "Cache savings compare with the same calls without prompt caching."
)


def _calls(totals: Totals) -> str:
    return "1 call" if totals.calls == 1 else f"{totals.calls} calls"


def _spend(totals: Totals) -> str:
    """ "$0.13 · 4 calls", with the web searches among them and what they cost."""
    line = f"{money(totals.cost_usd)} · {_calls(totals)}"
    searches = totals.web_searches
    if searches:
        counted = "1 web search" if searches == 1 else f"{searches:,} web searches"
        line += f" · {counted} ({money(totals.tool_usd)})"
    return line


def _field(title: str, body: str) -> Block:
    return {"type": "mrkdwn", "text": f"*{title}*\n{body}"}


def _budget_line(report: UsageReport) -> str:
    limit = report.budgets.user_daily_usd
    if report.is_admin:
        return "No limit (you are a bot admin)."
    if limit is None:
        return "No daily budget is set."
    spent = report.today.cost_usd
    share = round(100 * spent / limit)
    resets = reset_phrase(report.day_resets, report.now)
    return f"{money(spent)} of {money(limit)} ({share} %); resets {resets}"


def _savings_line(month: Totals) -> str:
    if not month.calls:
        return "No calls this month yet."
    return (
        f"{money(month.savings_usd)} saved this month; "
        f"{round(100 * month.cache_read_share)} % of input tokens read from cache"
    )


def _channel_section(report: UsageReport) -> Block | None:
    limit = report.budgets.channel_monthly_usd
    if report.channel_month is None or limit is None:
        return None
    spent = report.channel_month.cost_usd
    resets = reset_phrase(report.month_resets, report.now)
    text = (
        f"*This channel this month:* {money(spent)} of its {money(limit)} budget "
        f"({round(100 * spent / limit)} %); resets {resets}."
    )
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _name(dimension: str, ident: str) -> str:
    if dimension == "channel":
        return f"<#{ident}>"
    if dimension == "user":
        return f"<@{ident}>"
    return f"`{ident}`"


def _ranking_text(ranking: Ranking) -> str:
    if not ranking.entries:
        return "_Nothing yet._"
    lines = [
        f"{place}. {_name(ranking.dimension, ident)} {money(usd)}"
        for place, (ident, usd) in enumerate(ranking.entries, start=1)
    ]
    return "\n".join(lines)


def _admin_blocks(rankings: list[Ranking]) -> list[Block]:
    blocks: list[Block] = [
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": "Workspace (admins only)"}},
    ]
    for dimension, title in TITLES.items():
        fields = [
            _field(f"{title} · {r.days} days", _ranking_text(r))
            for r in rankings
            if r.dimension == dimension
        ]
        if fields:
            blocks.append({"type": "section", "fields": fields})
    return blocks


def usage_blocks(report: UsageReport) -> list[Block]:
    """The blocks of one /claude-usage answer."""
    fields = [
        _field("Today", _spend(report.today)),
        _field("This month", _spend(report.month)),
        _field("Your daily budget", _budget_line(report)),
        _field("Cache savings", _savings_line(report.month)),
    ]
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Your Claude usage"}},
        {"type": "section", "fields": fields},
    ]
    channel = _channel_section(report)
    if channel is not None:
        blocks.append(channel)
    if report.is_admin:
        blocks.extend(_admin_blocks(report.rankings))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": FOOTNOTE}]})
    return blocks


def usage_text(report: UsageReport) -> str:
    """The plain-text fallback (notifications, screen readers)."""
    return (
        f"Your Claude usage: today {money(report.today.cost_usd)}, "
        f"this month {money(report.month.cost_usd)}."
    )
