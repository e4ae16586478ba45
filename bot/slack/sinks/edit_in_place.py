"""The ReplySink for Slack: a placeholder message edited in place, continued in new messages.

Interim edits are best effort: they spend the workspace's shared chat.update budget only when a
token is free, and are skipped while Slack rate-limits (HTTP 429) until Retry-After has passed.
The final text always lands: it waits for a token, waits out Retry-After and retries.
Text goes as `markdown_text`, so Slack renders Claude's Markdown itself (never raw `**`), with
its broadcast mentions (`<!channel>`, `@here`…) defused and Slack's name linking off: model
output never notifies a whole channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.errors import ReplyUnavailable
from bot.conversation.mentions import defuse_broadcasts
from bot.conversation.messages import ToolActivity
from bot.conversation.ports import Clock
from bot.conversation.split import balance_fences, split_message
from bot.conversation.throttle import is_young
from bot.slack.api.calls import (
    DEFAULT_RETRY_AFTER,
    FINAL_ATTEMPTS,
    NO_LINKING,
    RateLimited,
    call_slack,
)

log = structlog.get_logger("bot.slack.sinks.edit_in_place")

# The channel is gone or closed to the bot: nothing can be shown there.
UNREACHABLE = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "restricted_action", "access_denied"}
)
# The message can no longer be edited: post the text as a new message instead.
GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


class EditBudget(Protocol):
    """The workspace's shared chat.update budget."""

    async def try_take(self, team: str, *, young: bool = False) -> float:
        """A token for an interim edit if one is free (0), else the seconds until one is due;
        young answers (first words not yet shown) come first."""
        ...

    async def low(self, team: str, *, waiting: int = 0) -> bool:
        """Whether the budget cannot give one more young answer an edit now, after the
        `waiting` young answers already posted (a first message is then worth holding)."""
        ...

    async def take(self, team: str) -> None:
        """A token for a final edit (waits, bounded)."""
        ...

    async def back_off(self, team: str, seconds: float) -> None:
        """Slack said 429: every answer in the workspace waits."""
        ...


class Journal(Protocol):
    """Where an answer in progress is recorded (for recovery after a crash)."""

    async def shown(
        self, answer_id: str, channel: str, message_ts: str, text: str, *, workspace: str = ""
    ) -> None:
        """The answer's last message (in this workspace) now shows this text."""
        ...

    async def closed(self, answer_id: str) -> None:
        """The answer has its final text."""
        ...


class Unlimited:
    """An EditBudget that never limits (tests, baselines)."""

    async def try_take(self, team: str, *, young: bool = False) -> float:
        """Always a token."""
        return 0.0

    async def low(self, team: str, *, waiting: int = 0) -> bool:
        """Never drained."""
        return False

    async def take(self, team: str) -> None:
        """Always a token."""

    async def back_off(self, team: str, seconds: float) -> None:
        """Nothing to share."""


class YoungAnswers:
    """This process's answers edited in place, per workspace, to count those whose first
    message went out before its first words (each waits for an edit from the shared budget)."""

    def __init__(self) -> None:
        self._live: dict[str, set[SlackReplySink]] = {}

    def add(self, team: str, sink: SlackReplySink) -> None:
        """An answer starts."""
        self._live.setdefault(team, set()).add(sink)

    def discard(self, team: str, sink: SlackReplySink) -> None:
        """An answer is over."""
        live = self._live.get(team)
        if live is not None:
            live.discard(sink)
            if not live:
                del self._live[team]

    def waiting(self, team: str) -> int:
        """How many of the workspace's answers wait for an edit to show their first words."""
        return sum(1 for sink in self._live.get(team, ()) if sink.waiting_for_words)


@dataclass(frozen=True)
class Destination:
    """Where an answer goes."""

    team: str
    channel: str
    thread_ts: str | None  # None: top level of a DM
    answer_id: str = ""


class SlackReplySink:
    """Shows one answer in a thread (or a DM's top level)."""

    def __init__(
        self,
        client: AsyncWebClient,
        destination: Destination,
        *,
        message_chars: int,
        clock: Clock,
        budget: EditBudget | None = None,
        journal: Journal | None = None,
    ) -> None:
        self._client = client
        self._to = destination
        self._limit = message_chars
        self._clock = clock
        self._budget = budget or Unlimited()
        self._journal = journal
        self._messages: list[tuple[str, str]] = []  # (ts, text shown)
        self._blocked_until = 0.0
        self._shown = ""
        self._journaled: tuple[str, str] | None = None  # (ts, text) last written to the journal

    @property
    def shown(self) -> str:
        """The latest text given to the sink (shown, or waiting for budget to be shown)."""
        return self._shown

    @property
    def workspace(self) -> str:
        """The workspace the answer is shown in."""
        return self._to.team

    @property
    def message_ts(self) -> list[str]:
        """The ts of every message this answer uses, in order."""
        return [ts for ts, _ in self._messages]

    def adopt(self, messages: Sequence[tuple[str, str]]) -> None:
        """Take over messages written before this sink's own (a native stream's, as (ts, text)),
        in order: later edits continue them with chat.update on the same ts."""
        self._messages[:0] = list(messages)

    async def start(self, status: str) -> None:
        """Post (or re-show) the placeholder, waiting out rate limits; ReplyUnavailable when
        the channel is closed to the bot."""
        status = defuse_broadcasts(status)
        self._shown = status
        error = await self._until_landed(status)
        if error is not None:
            raise ReplyUnavailable(error)
        await self._record()

    async def show(self, text: str) -> float:
        """Best-effort interim edit, skipped while rate-limited or out of budget: then the
        seconds until one could go out."""
        text = defuse_broadcasts(text)
        self._shown = text
        blocked = self._blocked_until - self._clock.now()
        if blocked > 0:
            return blocked
        await self._record_intent(text)
        try:
            retry_in = await self._render(text, final=False)
        except RateLimited as limited:
            await self._rate_limited(limited)
            return limited.retry_after
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            log.warning("slack.interim_edit_failed", error=error)
            if not self._messages and error in UNREACHABLE:
                raise ReplyUnavailable(error) from None  # nothing shown, nothing ever will be
            return 0.0
        if not retry_in:
            await self._record()
        return retry_in

    async def finish(self, text: str) -> None:
        """The final text, waiting out rate limits; never leaves a stale placeholder."""
        text = defuse_broadcasts(text)
        self._shown = text
        await self._until_landed(text)
        if self._journal is not None:
            await self._journal.closed(self._to.answer_id)

    async def activity(self, activity: ToolActivity, text: str) -> bool:
        """An edited message has no display of its own for tools: the core shows the call as
        a status line of the text (one interim edit like any other)."""
        return False

    async def _until_landed(self, text: str) -> str | None:
        """Show text as final, waiting out rate limits; the Slack error when it can't land."""
        for _ in range(FINAL_ATTEMPTS):
            wait = self._blocked_until - self._clock.now()
            if wait > 0:
                await self._clock.sleep(wait)
            try:
                await self._render(text, final=True)
                return None
            except RateLimited as limited:
                await self._rate_limited(limited)
            except SlackApiError as exc:
                error = str(exc.response.get("error"))
                log.warning("slack.final_edit_failed", error=error)
                if error in UNREACHABLE:
                    return error
                self._blocked_until = self._clock.now() + DEFAULT_RETRY_AFTER
        log.error("slack.final_edit_gave_up", attempts=FINAL_ATTEMPTS)
        return "gave_up"

    async def _rate_limited(self, limited: RateLimited) -> None:
        self._blocked_until = self._clock.now() + limited.retry_after
        await self._budget.back_off(self._to.team, limited.retry_after)

    async def _render(self, text: str, *, final: bool) -> float:
        """Edit and post what changed; for an interim edit out of budget, nothing but the
        seconds until a token is due (the retry, or the final edit, carries this text)."""
        parts = split_message(text, self._limit)
        if not final:
            parts[-1] = balance_fences(parts[-1])
        shown = self._messages
        edits = [i for i, part in enumerate(parts[: len(shown)]) if shown[i][1] != part]
        if edits and not final:
            wait = await self._budget.try_take(self._to.team, young=self._young())
            if wait > 0:
                return wait
        for index, part in enumerate(parts):
            if index in edits:
                if final:
                    await self._budget.take(self._to.team)
                ts = self._messages[index][0]
                self._messages[index] = (await self._replace(ts, part), part)
            elif index >= len(self._messages):
                self._messages.append((await self._post(part), part))
        return 0.0

    def _young(self) -> bool:
        """The answer's first words are not shown yet (its edits come first)."""
        return is_young(self._messages[0][1] if self._messages else "")

    @property
    def waiting_for_words(self) -> bool:
        """The first message is posted but shows fewer than its first words: the answer waits
        for an edit from the shared budget."""
        return bool(self._messages) and is_young(self._messages[0][1])

    async def _record_intent(self, text: str) -> None:
        """Journal the text before the edit that shows it, so a crash right after the edit
        never leaves a record older than what users saw."""
        if self._journal is None or not self._messages:
            return
        parts = split_message(text, self._limit)
        if len(parts) == len(self._messages):
            await self._journal_last(self._messages[-1][0], balance_fences(parts[-1]))

    async def _record(self) -> None:
        if self._journal is not None and self._messages:
            await self._journal_last(*self._messages[-1])

    async def _journal_last(self, ts: str, text: str) -> None:
        """Journal what the last message shows, unless that is what was journaled last."""
        if self._journal is None or self._journaled == (ts, text):
            return
        self._journaled = (ts, text)
        await self._journal.shown(
            self._to.answer_id, self._to.channel, ts, text, workspace=self._to.team
        )

    async def _post(self, text: str) -> str:
        response = await call_slack(
            self._client.chat_postMessage,
            channel=self._to.channel,
            thread_ts=self._to.thread_ts,
            markdown_text=text,
            **NO_LINKING,
        )
        return str(response["ts"])

    async def _replace(self, ts: str, text: str) -> str:
        """Edit the message; if it was deleted meanwhile, post the text anew. Returns its ts."""
        try:
            await call_slack(
                self._client.chat_update,
                channel=self._to.channel,
                ts=ts,
                markdown_text=text,
                **NO_LINKING,
            )
        except SlackApiError as exc:
            if exc.response.get("error") not in GONE:
                raise
            return await self._post(text)
        return ts
