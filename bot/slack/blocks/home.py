"""The App Home's Home tab as Block Kit: what the bot can do (how to ask, commands, models,
repositories) and the viewer's usage this month (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.conversation.tiers import TIER_TABLE, TIERS, tier_label
from bot.usage.records import Totals
from bot.usage.report import UsageReport
from bot.usage.spend_limits import money

Block = dict[str, Any]
HOW_TO_ASK = (
    "Mention *@Claude* in a channel, send me a direct message, or open me from Slack's top "
    "bar. I answer in a thread, and every thread is one conversation: follow-ups keep their "
    "context. Share screenshots, PDFs or text files with a question and I read them."
)
COMMANDS = (
    *((f"{spec.command} <question>", spec.command_help) for spec in TIER_TABLE),
    ("/ask-code [repo] <question>", "a question about one of the repositories below"),
    ("/claude-usage", "what you spent, only you see it"),
)
USAGE_UNAVAILABLE = "_Your usage can't be read right now._"


@dataclass(frozen=True)
class HomeFacts:
    """What the Home tab says about this bot: its tiers' models and /ask-code repositories."""

    models: dict[str, tuple[str, str]]  # tier -> (display name, model id)
    repos: tuple[str, ...] = ()
    switch_hint: str = "In any thread, say “@Claude switch to opus” to change its model."
    extra: list[Block] = field(default_factory=list)


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _calls(totals: Totals) -> str:
    return "1 call" if totals.calls == 1 else f"{totals.calls} calls"


def usage_section(report: UsageReport | None) -> list[Block]:
    """The viewer's month, today and budget (pure)."""
    if report is None:
        return [_section(USAGE_UNAVAILABLE)]
    month, today = report.month, report.today
    limit = report.budgets.user_daily_usd
    budget = "none" if limit is None or report.is_admin else f"{money(limit)} a day"
    fields = [
        {"type": "mrkdwn", "text": f"*This month*\n{money(month.cost_usd)} · {_calls(month)}"},
        {"type": "mrkdwn", "text": f"*Today*\n{money(today.cost_usd)} · {_calls(today)}"},
        {"type": "mrkdwn", "text": f"*Your daily budget*\n{budget}"},
        {"type": "mrkdwn", "text": f"*Saved by caching*\n{money(month.savings_usd)}"},
    ]
    return [{"type": "section", "fields": fields}]


def _note(name: str) -> str:
    return TIERS[name].note if name in TIERS else ""


def home_view(facts: HomeFacts, report: UsageReport | None) -> Block:
    """The Home tab (pure)."""
    commands = "\n".join(f"• `{usage}` — {what}" for usage, what in COMMANDS)
    models = "\n".join(
        f"• *{tier_label(name)}*: {display} (`{model}`), {_note(name)}".rstrip(", ")
        for name, (display, model) in facts.models.items()
    )
    repos = ", ".join(f"`{name}`" for name in facts.repos) or "_None configured yet._"
    blocks: list[Block] = [
        _header("Claude, in your Slack"),
        _section(HOW_TO_ASK),
        {"type": "divider"},
        _header("Commands"),
        _section(commands),
        _header("Models"),
        _section(f"{models}\n{facts.switch_hint}"),
        _header("Repositories for /ask-code"),
        _section(repos),
        {"type": "divider"},
        _header("Your usage this month"),
        *usage_section(report),
        *facts.extra,
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "UTC days and months, at catalog prices."}],
        },
    ]
    return {"type": "home", "callback_id": "claude_home", "blocks": blocks}
