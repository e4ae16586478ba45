"""Block Kit for tool approvals: the request with Approve / Deny buttons, and the same message
once decided (pure).

What a tool would do comes from Claude and from an MCP server, so it is shown as data: the
input as JSON in a code block, cut to MAX_INPUT_CHARS, with Slack's control characters escaped
and broadcast mentions defused; the tool's label likewise.
"""

from __future__ import annotations

import json
from typing import Any

from bot.conversation.mentions import defuse_broadcasts

APPROVE, DENY = "tool_approve", "tool_deny"
APPROVED, DENIED, EXPIRED, CANCELED = "approved", "denied", "expired", "canceled"
MAX_INPUT_CHARS = 1500  # of the JSON shown; the section's limit is 3000
MAX_LABEL_CHARS = 100
ZERO_WIDTH_SPACE = "\u200b"
Block = dict[str, Any]


def escaped(text: str) -> str:
    """Text Slack shows as written: &, < and > escaped (no links, mentions or broadcasts), and
    no broadcast spelled bare."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return defuse_broadcasts(text)


def tool_label(name: str, description: str) -> str:
    """ "demo › create_ticket" from the tool's progress line ("Using demo › create_ticket…"),
    else its name; safe to show in bold."""
    label = description.strip().removeprefix("Using ").removesuffix("…").strip() or name
    for mark in "*`":  # would end the bold or open code
        label = label.replace(mark, "")
    if len(label) > MAX_LABEL_CHARS:
        label = label[: MAX_LABEL_CHARS - 1] + "…"
    return escaped(label)


def shown_input(tool_input: dict[str, Any]) -> str:
    """The tool's input as the message shows it: JSON, cut to MAX_INPUT_CHARS, escaped, and
    unable to close its code block early."""
    text = json.dumps(tool_input, indent=2, ensure_ascii=False, default=str)
    if len(text) > MAX_INPUT_CHARS:
        more = len(text) - MAX_INPUT_CHARS
        text = f"{text[:MAX_INPUT_CHARS]}\n… ({more:,} more characters not shown)"
    text = text.replace("```", f"`{ZERO_WIDTH_SPACE}`{ZERO_WIDTH_SPACE}`")
    return escaped(text)


def minutes(seconds: float) -> str:
    """How long, in words: "5 minutes", "1 minute", "30 seconds", "1 second"."""
    if seconds < 60:
        return "1 second" if seconds == 1 else f"{seconds:g} seconds"
    whole = round(seconds / 60)
    return "1 minute" if whole == 1 else f"{whole} minutes"


def _button(text: str, action_id: str, approval_id: str, style: str) -> Block:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": approval_id,
        "style": style,
    }


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def request_text(asker: str, label: str) -> str:
    """The message's notification text (and its headline)."""
    return (
        f":raised_hand: <@{asker}>, Claude wants to use *{label}*, a tool that can change "
        "things. It runs only if you approve."
    )


def request_blocks(
    approval_id: str, asker: str, label: str, shown: str, seconds: float
) -> list[Block]:
    """The request: what would run, with what input, and the two buttons."""
    return [
        _section(request_text(asker, label)),
        _section(f"```\n{shown}\n```"),
        {
            "type": "actions",
            "elements": [
                _button("Approve", APPROVE, approval_id, "primary"),
                _button("Deny", DENY, approval_id, "danger"),
            ],
        },
        _context(
            f"Only <@{asker}> or a bot admin can decide. "
            f"Not decided within {minutes(seconds)}, it does not run."
        ),
    ]


def outcome_text(decision: str, by: str, seconds: float) -> str:
    """What happened, in one line."""
    if decision == APPROVED:
        return f":white_check_mark: Approved by <@{by}>: it runs."
    if decision == DENIED:
        return f":no_entry_sign: Denied by <@{by}>: it did not run, and Claude was told."
    if decision == EXPIRED:
        return (
            f":hourglass: Nobody decided within {minutes(seconds)}: it did not run, and "
            "Claude was told."
        )
    return ":heavy_minus_sign: The answer stopped before anyone decided: it did not run."


def decided_blocks(label: str, shown: str, outcome: str) -> list[Block]:
    """The request once decided: no buttons, and what happened."""
    return [
        _section(f"Claude asked to use *{label}*, a tool that can change things."),
        _section(f"```\n{shown}\n```"),
        _context(outcome),
    ]
