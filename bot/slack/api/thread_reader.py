"""Reads other people's messages in a thread (conversations.replies) for a turn's context."""

from __future__ import annotations

from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.messages import ContextMessage, ThreadKey
from bot.slack.api.people import PeopleDirectory
from bot.slack.api.workspaces import NotInstalled, SlackWorkspaces
from bot.slack.handlers.inbound import ANSWERABLE_SUBTYPES

log = structlog.get_logger("bot.slack.thread")

PAGE_SIZE = 200
MAX_PAGES = 3


class SlackThreadReader:
    """ThreadReader over conversations.replies, with the thread's workspace's client; best
    effort (no context on failure)."""

    def __init__(self, workspaces: SlackWorkspaces, people: PeopleDirectory) -> None:
        self._workspaces = workspaces
        self._people = people

    async def messages_between(
        self, key: ThreadKey, after_ts: str | None, before_ts: str
    ) -> list[ContextMessage]:
        """Human messages after after_ts (None: from the root) and before before_ts."""
        try:
            workspace = await self._workspaces.get(key.team)
            raw = await self._fetch(workspace.client, key, after_ts, before_ts)
        except SlackApiError as exc:
            log.warning("slack.thread_read_failed", error=exc.response.get("error"))
            return []
        except NotInstalled:
            return []
        context = []
        for message in raw:
            if is_human_message(message, after_ts, before_ts, workspace.bot_user_id):
                author = await self._people.author(key.team, message["user"])
                context.append(ContextMessage(message["ts"], author, message["text"]))
        return context

    @staticmethod
    async def _fetch(
        client: AsyncWebClient, key: ThreadKey, after_ts: str | None, before_ts: str
    ) -> list[dict[str, Any]]:
        args: dict[str, Any] = {"channel": key.channel, "ts": key.thread_ts, "limit": PAGE_SIZE}
        args["latest"] = before_ts
        if after_ts is not None:
            args["oldest"] = after_ts
        messages: list[dict[str, Any]] = []
        cursor = None
        for _ in range(MAX_PAGES):
            response = await client.conversations_replies(**args, cursor=cursor)
            messages.extend(response.get("messages") or [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return messages


def is_human_message(
    message: dict[str, Any], after_ts: str | None, before_ts: str, bot_user_id: str
) -> bool:
    """A person's message strictly between the two timestamps (pure)."""
    ts = message.get("ts")
    if not isinstance(ts, str) or ts in (before_ts, after_ts):
        return False
    if float(ts) >= float(before_ts) or (after_ts is not None and float(ts) <= float(after_ts)):
        return False
    return (
        not message.get("bot_id")
        and message.get("user") not in (None, bot_user_id)
        and message.get("subtype") in ANSWERABLE_SUBTYPES
        and bool(message.get("text"))
    )
