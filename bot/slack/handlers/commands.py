"""Slash commands: /ask-<tier> (one per row of the tier table) starts a thread answered by that
tier; /ask-code, /claude-usage."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.askcode.service import AskCodeService
from bot.conversation.messages import Question, ThreadKey
from bot.conversation.ports import Clock
from bot.conversation.profiles import Profile, Profiles, StaticProfiles, describe
from bot.conversation.tiers import TIERS_BY_COMMAND
from bot.slack.api.calls import RateLimited, call_waiting_out_limits
from bot.slack.api.workspaces import NotInstalled, SlackWorkspaces, workspace_of
from bot.slack.blocks.usage import usage_blocks, usage_text
from bot.slack.handlers.access import AccessPolicy
from bot.slack.handlers.ask_code import Listing, parse_ask_code, repo_list_text
from bot.usage.report import UsageReporter

log = structlog.get_logger("bot.slack.handlers.commands")

ASK_CODE = "/ask-code"
NOT_YET = {
    "/ask-code": "Questions about code repositories are not set up on this bot yet.",
}
USAGE_COMMAND = "/claude-usage"
CONFIG_COMMAND = "/claude-config"
ADMINS_ONLY = "Only the bot's admins can see its configuration."
NOT_HERE = (
    "`{repo}` can't be asked about in this conversation (its channel profile). Ask an admin "
    "which repositories this channel may use."
)
USAGE_OFF = "Usage reports are not set up on this bot yet."
USAGE_UNAVAILABLE = "I can't read the usage numbers right now. Try again in a minute."
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


class AnswerStarter(Protocol):
    """Starts answering a question in the background (the event handler does)."""

    def spawn_answer(self, question: Question, tier: str | None = None) -> None:
        """Answer it, with this tier when one is given."""
        ...


@dataclass(frozen=True)
class CommandHandler:
    """Handles the slash commands of the manifest."""

    access: AccessPolicy
    answers: AnswerStarter
    workspaces: SlackWorkspaces
    clock: Clock
    usage: UsageReporter | None = None  # None: /claude-usage says it is not set up
    code: AskCodeService | None = None  # None: /ask-code says it is not set up
    profiles: Profiles = field(default_factory=StaticProfiles)
    admins: frozenset[str] = frozenset()
    base_prompt_chars: int = 0

    async def on_ask(self, ack: Ack, command: dict[str, Any], respond: Ack) -> None:
        """/ask-<tier> <question>: post the question as a thread root, answer in its thread."""
        name = str(command.get("command", ""))
        tier = TIERS_BY_COMMAND[name]
        text = str(command.get("text") or "").strip()
        if not text:
            await ack(response_type="ephemeral", text=usage_hint(name))
            return
        user = str(command["user_id"])
        if not await self._ack_if_allowed(ack, command):
            return
        root = f"<@{user}> asked *{tier.label}*: {escape_mrkdwn(text)}"
        await self._start_thread(command, respond, root, text, tier=tier.name)

    def _refusal(self, command: dict[str, Any]) -> str | None:
        """The allowlists' refusal for this command's user and channel (None: allowed)."""
        channel = str(command["channel_id"])
        return self.access.refusal(
            str(command["user_id"]), channel, is_direct_message=channel.startswith("D")
        )

    async def _ack_if_allowed(self, ack: Ack, command: dict[str, Any]) -> bool:
        """Ack the command; a user or channel outside the allowlists gets the refusal instead."""
        refusal = self._refusal(command)
        if refusal is not None:
            await ack(response_type="ephemeral", text=refusal)
            return False
        await ack()
        return True

    async def _start_thread(
        self,
        command: dict[str, Any],
        respond: Ack,
        root: str,
        text: str,
        *,
        tier: str | None = None,
        code_repo: str | None = None,
    ) -> None:
        """Post the root message, then answer the question in its thread (the command is
        already acked; a post Slack refuses is explained to the user alone)."""
        name = str(command.get("command", ""))
        user, channel = str(command["user_id"]), str(command["channel_id"])
        team = workspace_of(command)
        try:
            workspace = await self.workspaces.get(team)
        except NotInstalled:
            log.warning("command.not_installed", command=name)
            return
        try:
            posted = await call_waiting_out_limits(
                self.clock, workspace.client.chat_postMessage, channel=channel, text=root
            )
        except (SlackApiError, RateLimited) as exc:
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else "ratelimited"
            log.info("command.cannot_post", command=name, error=str(error))
            reason = CANNOT_POST.get(str(error), f"I couldn't post here (Slack said `{error}`).")
            await respond(response_type="ephemeral", text=reason.format(bot=workspace.bot_name))
            return
        ts = str(posted["ts"])
        question = Question(
            key=ThreadKey(team, channel, ts),
            user=user,
            text=text,
            ts=ts,
            is_direct_message=False,
            reply_thread_ts=ts,
            feature=name.lstrip("/"),
            code_repo=code_repo,
        )
        self.answers.spawn_answer(question, tier=tier)

    async def on_ask_code(self, ack: Ack, command: dict[str, Any], respond: Ack) -> None:
        """/ask-code [repo] <question> | list: a new thread answered from the repository. The
        allowlists come first: the usage hint and the list name the repositories (and where
        they are), which only people allowed to ask may see."""
        if self.code is None:
            await self.on_not_yet(ack, command)
            return
        refusal = self._refusal(command)
        if refusal is not None:
            await ack(response_type="ephemeral", text=refusal)
            return
        profile = self._profile(command)
        names = [name for name in self.code.names if profile.allows_repo(name)]
        text = str(command.get("text") or "")
        first = text.strip().partition(" ")[0]
        if not names or (first in self.code.names and first not in names):
            await ack(response_type="ephemeral", text=NOT_HERE.format(repo=first or "any"))
            return
        parsed = parse_ask_code(text, names)
        if isinstance(parsed, str):
            await ack(response_type="ephemeral", text=parsed)
            return
        if isinstance(parsed, Listing):
            await ack()
            statuses = [s for s in await self.code.statuses() if s.name in names]
            await respond(response_type="ephemeral", text=repo_list_text(statuses, parsed.unknown))
            return
        user = str(command["user_id"])
        await ack()
        await self._start_thread(
            command, respond, parsed.root(user), parsed.question, code_repo=parsed.repo
        )

    def _profile(self, command: dict[str, Any]) -> Profile:
        channel = str(command["channel_id"])
        return self.profiles.for_conversation(channel, is_direct_message=channel.startswith("D"))

    async def on_config(self, ack: Ack, command: dict[str, Any]) -> None:
        """/claude-config (admins): the effective profile of this channel, only to them."""
        if str(command["user_id"]) not in self.admins:
            await ack(response_type="ephemeral", text=ADMINS_ONLY)
            return
        text = describe(self._profile(command), self.base_prompt_chars)
        await ack(response_type="ephemeral", text=f"*This conversation's profile*\n{text}")

    async def on_not_yet(self, ack: Ack, command: dict[str, Any]) -> None:
        """Commands declared in the manifest whose feature is not enabled: say so, politely."""
        await ack(response_type="ephemeral", text=NOT_YET[str(command.get("command", ""))])

    async def on_usage(self, ack: Ack, command: dict[str, Any]) -> None:
        """/claude-usage: the caller's spend and budget (admins: the top spenders), ephemeral."""
        if self.usage is None:
            await ack(response_type="ephemeral", text=USAGE_OFF)
            return
        user, channel = str(command["user_id"]), str(command["channel_id"])
        try:
            report = await self.usage.report(workspace_of(command), user, channel)
        except RedisError as exc:
            log.warning("command.usage_unavailable", error=type(exc).__name__)
            await ack(response_type="ephemeral", text=USAGE_UNAVAILABLE)
            return
        await ack(response_type="ephemeral", text=usage_text(report), blocks=usage_blocks(report))


def register_commands(app: AsyncApp, handler: CommandHandler) -> None:
    """Attach the slash command listeners."""
    for name in TIERS_BY_COMMAND:
        app.command(name)(handler.on_ask)
    for name in NOT_YET:
        if name != ASK_CODE:
            app.command(name)(handler.on_not_yet)
    app.command(ASK_CODE)(handler.on_ask_code)
    app.command(USAGE_COMMAND)(handler.on_usage)
    app.command(CONFIG_COMMAND)(handler.on_config)
