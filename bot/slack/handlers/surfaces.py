"""Slack's AI surfaces: the agent's Messages tab (agent_view: app_home_opened with tab
"messages", app_context_changed, `app_context` on DM messages), the older assistant pane
(assistant_view: assistant_thread_started, assistant_thread_context_changed) and the Home tab.

They get the suggested prompts (at most four) and tell which channel the person is looking at,
which is remembered for the answers (bot/slack/viewing.py). Everything here is best effort: a
failure is logged, never shown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import structlog
from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.slack.api.calls import RateLimited, call_slack
from bot.slack.api.viewing import (
    ViewingStore,
    channel_in_assistant_thread,
    channel_in_entities,
    thread_scope,
    user_scope,
)
from bot.slack.api.workspaces import NotInstalled, SlackWorkspaces, workspace_of
from bot.slack.handlers.feedback import FeedbackHandler, register_feedback
from bot.slack.handlers.home import HomeTab

log = structlog.get_logger("bot.slack.handlers.surfaces")

PROMPTS_TITLE = "Try asking"
Listener = Callable[..., Coroutine[Any, Any, None]]


def _team(body: dict[str, Any]) -> str:
    return workspace_of(body)


@dataclass
class SurfaceEvents:
    """Listeners of the AI surfaces' events."""

    workspaces: SlackWorkspaces
    store: ViewingStore
    prompts: tuple[tuple[str, str], ...]
    home: HomeTab | None = None

    async def on_thread_started(self, body: dict[str, Any]) -> None:
        """assistant_thread_started: the thread's suggested prompts, the channel in view."""
        event = body.get("event") or {}
        thread = event.get("assistant_thread") or {}
        channel, thread_ts = thread.get("channel_id"), thread.get("thread_ts")
        if not (isinstance(channel, str) and isinstance(thread_ts, str)):
            log.debug("surface.ignored", reason="assistant thread without channel or ts")
            return
        await self._remember(_team(body), thread_scope(channel, thread_ts), event)
        await self._suggest(_team(body), channel, thread_ts)

    async def on_thread_context_changed(self, body: dict[str, Any]) -> None:
        """assistant_thread_context_changed: the person moved to another channel."""
        event = body.get("event") or {}
        thread = event.get("assistant_thread") or {}
        channel, thread_ts = thread.get("channel_id"), thread.get("thread_ts")
        if isinstance(channel, str) and isinstance(thread_ts, str):
            await self._remember(_team(body), thread_scope(channel, thread_ts), event)

    async def on_app_context_changed(self, body: dict[str, Any]) -> None:
        """app_context_changed (agent_view): what the person looks at now."""
        event = body.get("event") or {}
        user = event.get("user")
        viewed = channel_in_entities(event.get("context"))
        if isinstance(user, str) and viewed:
            await self._save(_team(body), user_scope(user), viewed)

    async def on_home_opened(self, body: dict[str, Any]) -> None:
        """app_home_opened: the Messages tab gets the prompts, the Home tab is published."""
        event = body.get("event") or {}
        user, channel = event.get("user"), event.get("channel")
        if not isinstance(user, str):
            return
        if event.get("tab") == "home":
            if self.home is not None:
                await self.home.publish(_team(body), user)
            return
        viewed = channel_in_entities(event.get("context"))
        if viewed:
            await self._save(_team(body), user_scope(user), viewed)
        if event.get("tab") == "messages" and isinstance(channel, str):
            await self._suggest(_team(body), channel, None)

    async def remember_message_context(
        self, body: dict[str, Any], next_: Callable[[], Awaitable[None]]
    ) -> None:
        """Middleware: a DM message's `app_context` (agent_view) is saved before it is answered."""
        event = body.get("event") if isinstance(body, dict) else None
        if isinstance(event, dict) and event.get("type") == "message":
            viewed = channel_in_entities(event.get("app_context"))
            user = event.get("user")
            if viewed and isinstance(user, str):
                await self._save(_team(body), user_scope(user), viewed)
        await next_()

    async def _remember(self, team: str, scope: str, event: dict[str, Any]) -> None:
        viewed = channel_in_assistant_thread(event)
        if viewed:
            await self._save(team, scope, viewed)

    async def _save(self, team: str, scope: str, channel: str) -> None:
        try:
            await self.store.save_viewing(team, scope, channel)
        except RedisError as exc:
            log.info("surface.context_not_saved", error=type(exc).__name__)

    async def _suggest(self, team: str, channel: str, thread_ts: str | None) -> None:
        """Set the suggested prompts of a thread, or (no thread) of the agent's Messages tab."""
        if not self.prompts:
            return
        args: dict[str, Any] = {
            "channel_id": channel,
            "title": PROMPTS_TITLE,
            "prompts": [{"title": title, "message": message} for title, message in self.prompts],
        }
        if thread_ts is not None:
            args["thread_ts"] = thread_ts
        try:
            client = (await self.workspaces.get(team)).client
            await call_slack(client.assistant_threads_setSuggestedPrompts, **args)
        except (SlackApiError, RateLimited) as exc:
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else "ratelimited"
            log.info("surface.prompts_not_set", error=error)
        except NotInstalled:
            log.info("surface.prompts_not_set", error="not_installed")


def register_surfaces(app: AsyncApp, events: SurfaceEvents, feedback: FeedbackHandler) -> None:
    """Attach the AI surfaces' listeners, the context middleware and the feedback buttons."""
    app.use(events.remember_message_context)
    listeners: dict[str, Listener] = {
        "assistant_thread_started": events.on_thread_started,
        "assistant_thread_context_changed": events.on_thread_context_changed,
        "app_context_changed": events.on_app_context_changed,
        "app_home_opened": events.on_home_opened,
    }
    for name, listener in listeners.items():
        app.event(name)(listener)
    register_feedback(app, feedback)
