"""Slash commands: /ask-haiku, /ask-sonnet, /ask-opus start a thread answered by that tier."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.messages import Question, ThreadKey
from bot.conversation.ports import Clock
from bot.conversation.routing import tier_label
from bot.slack.listeners import EventHandler
from bot.slack.reply import RateLimited, call_waiting_out_limits

log = structlog.get_logger("bot.slack.commands")

ASK_COMMANDS = {"/ask-haiku": "haiku", "/ask-sonnet": "sonnet", "/ask-opus": "opus"}
NOT_YET = {
    "/ask-code": "Questions about code repositories are not set up on this bot yet.",
    "/claude-usage": "Usage reports are not set up on this bot yet.",
}
CANNOT_POST = {
    "not_in_channel": "I'm not in this channel. Invite me with `/invite @{bot}` and ask again.",
    "channel_not_found": (
        "I can't post in this conversation. Ask me in a channel I'm in, or in a DM with me."
    ),
    "is_archived": "This channel is archived, so I can't answer here.",
}

Ack = Callable[..., Awaitable[None]]


def usage_hint(command: str) -> str:
    """What an empty /ask-<tier> gets back."""
    return f"Ask a question after the command, e.g. `{command} How do I undo a git rebase?`"


def escape_mrkdwn(text: str) -> str:
    """Slack's three control characters escaped, for text posted with `text`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass
class CommandHandler:
    """Handles the slash commands of the manifest."""

    events: EventHandler
    client: AsyncWebClient
    clock: Clock
    bot_name: str

    async def on_ask(self, ack: Ack, command: dict[str, Any], respond: Ack) -> None:
        """/ask-<tier> <question>: post the question as a thread root, answer in its thread."""
        name = str(command.get("command", ""))
        tier = ASK_COMMANDS[name]
        text = str(command.get("text") or "").strip()
        if not text:
            await ack(response_type="ephemeral", text=usage_hint(name))
            return
        user, channel = str(command["user_id"]), str(command["channel_id"])
        refusal = self.events.access.refusal(
            user, channel, is_direct_message=channel.startswith("D")
        )
        if refusal is not None:
            await ack(response_type="ephemeral", text=refusal)
            return
        await ack()
        root = f"<@{user}> asked *{tier_label(tier)}*: {escape_mrkdwn(text)}"
        try:
            posted = await call_waiting_out_limits(
                self.clock, self.client.chat_postMessage, channel=channel, text=root
            )
        except (SlackApiError, RateLimited) as exc:
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else "ratelimited"
            log.info("command.cannot_post", command=name, error=str(error))
            reason = CANNOT_POST.get(str(error), f"I couldn't post here (Slack said `{error}`).")
            await respond(response_type="ephemeral", text=reason.format(bot=self.bot_name))
            return
        ts = str(posted["ts"])
        question = Question(
            key=ThreadKey(str(command.get("team_id") or ""), channel, ts),
            user=user,
            text=text,
            ts=ts,
            is_direct_message=False,
            reply_thread_ts=ts,
        )
        self.events.spawn_answer(question, tier=tier)

    async def on_not_yet(self, ack: Ack, command: dict[str, Any]) -> None:
        """Commands declared in the manifest whose feature is not enabled: say so, politely."""
        await ack(response_type="ephemeral", text=NOT_YET[str(command.get("command", ""))])


def register_commands(app: AsyncApp, handler: CommandHandler) -> None:
    """Attach the slash command listeners."""
    for name in ASK_COMMANDS:
        app.command(name)(handler.on_ask)
    for name in NOT_YET:
        app.command(name)(handler.on_not_yet)
