"""/claude-memory: what the bot remembers for this channel and for you, each note with a Forget
button (a channel note: its author or an admin may forget it); the click deletes the note and
goes to the audit log."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncApp

from bot.governance.audit import Auditor
from bot.slack.api.workspaces import workspace_of
from bot.slack.blocks.memory import (
    FORGET_ACTION,
    Shelf,
    memory_blocks,
    memory_text,
    parse_button_value,
)
from bot.slack.handlers.access import AccessPolicy
from bot.tools.memory.provider import MemoryProvider, Place
from bot.tools.memory.store import MemoryStore, Scope

log = structlog.get_logger("bot.slack.handlers.memory")

MEMORY_COMMAND = "/claude-memory"
MEMORY_OFF = "Memory is not turned on for this bot (an operator sets `BOT_MEMORY=true`)."
UNKNOWN_PRIVACY = (
    "I can't tell whether this conversation is private, so I keep no memory here. If it is a "
    "private channel, invite me with `/invite @Claude` and try again."
)
UNAVAILABLE = "I can't read my memory right now. Try again in a minute."
Ack = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class MemoryCommands:
    """/claude-memory and its Forget buttons."""

    provider: MemoryProvider | None
    access: AccessPolicy
    audit: Auditor

    async def on_memory(self, ack: Ack, command: dict[str, Any]) -> None:
        """List the notes of this place, ephemeral."""
        user, channel = str(command["user_id"]), str(command["channel_id"])
        team = workspace_of(command)  # as the memory tool's questions carry it
        is_dm = channel.startswith("D")
        refusal = self.access.refusal(user, channel, is_direct_message=is_dm)
        if refusal is not None:
            await ack(response_type="ephemeral", text=refusal)
            return
        if self.provider is None:
            await ack(response_type="ephemeral", text=MEMORY_OFF)
            return
        offered = await self.provider.offered(Place(team, channel, user, is_dm))
        if offered is None:
            await ack(response_type="ephemeral", text=UNKNOWN_PRIVACY)
            return
        try:
            shelves = await _shelves(self.provider.store, team, user, offered.scopes, is_dm)
        except RedisError as exc:
            log.warning("memory.list_unavailable", error=type(exc).__name__)
            await ack(response_type="ephemeral", text=UNAVAILABLE)
            return
        note = "" if is_dm else "Your notes from DMs and private channels show in a DM with me."
        blocks = memory_blocks(shelves, user, offered.admin, note if not is_dm else "")
        await ack(response_type="ephemeral", text=memory_text(shelves), blocks=blocks)

    async def on_forget(self, ack: Ack, body: dict[str, Any], respond: Ack) -> None:
        """A Forget button: delete the note if the clicker may, and say so."""
        await ack()
        if self.provider is None:
            return
        actions: list[dict[str, Any]] = body.get("actions") or []
        action = next((a for a in actions if a.get("action_id") == FORGET_ACTION), {})
        parsed = parse_button_value(str(action.get("value") or ""))
        team = workspace_of(body)
        user = str((body.get("user") or {}).get("id") or "")
        scope = Scope.from_token(team, parsed[0]) if parsed else None
        if parsed is None or scope is None or not user:
            log.debug("memory.forget_ignored")
            return
        text = await self._forget(self.provider, scope, parsed[1], user)
        await respond(response_type="ephemeral", replace_original=False, text=text)

    async def _forget(self, provider: MemoryProvider, scope: Scope, inner: str, user: str) -> str:
        store, admin = provider.store, user in provider.admins
        folder = "channel" if scope.kind == "channel" else "you"
        path = f"/memories/{folder}/{inner}"
        try:
            if scope.kind == "user" and scope.owner != user:
                return "That note is someone else's, so you can't forget it."
            entry = (await store.files(scope)).get(inner)
            if entry is None:
                return f"`{path}` is already forgotten."
            if scope.kind == "channel" and entry.by != user and not admin:
                return f"Only <@{entry.by}>, who wrote `{path}`, or an admin can forget it."
            await store.remove(scope, inner)
        except RedisError as exc:
            log.warning("memory.forget_unavailable", error=type(exc).__name__)
            return UNAVAILABLE
        await self.audit.record(
            scope.team,
            "memory.forget",
            user,
            scope=scope.token,
            path=path,
            via="button",
            admin_action=entry.by != user,
        )
        return f":wastebasket: Forgotten: `{path}`."


async def _shelves(
    store: MemoryStore, team: str, user: str, scopes: Mapping[str, Scope], is_dm: bool
) -> list[Shelf]:
    """This place's scopes as shelves (in a DM, both of the person's own)."""
    shelves = []
    if "channel" in scopes:
        scope = scopes["channel"]
        title = "This private conversation" if scope.private else "This channel"
        shelves.append(Shelf(title, scope, await store.files(scope)))
    you = scopes["you"]
    where = "in DMs and private channels" if you.private else "in public channels"
    shelves.append(Shelf(f"Only for you, {where}", you, await store.files(you)))
    if is_dm:  # both of a person's notes are theirs to see in their DM
        public = Scope(team, "user", user, private=False)
        title = "Only for you, in public channels"
        shelves.append(Shelf(title, public, await store.files(public)))
    return shelves


def register_memory(app: AsyncApp, handler: MemoryCommands) -> None:
    """Attach /claude-memory and its Forget button."""
    app.command(MEMORY_COMMAND)(handler.on_memory)
    app.action(FORGET_ACTION)(handler.on_forget)
