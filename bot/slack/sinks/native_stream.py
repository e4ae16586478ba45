"""The ReplySink for Slack's native streaming: chat.startStream, chat.appendStream, chat.stopStream.

- Statuses ("Thinking…", "Reading 2 images…") go to the thread status (assistant.threads.setStatus),
  never into the stream: only answer text is streamed.
- `show` gets the whole text so far; only the new suffix is appended (the Coalescer already keeps
  this to about one append a second). Interim appends are skipped while Slack rate-limits.
- A message holds at most `message_chars`; the stream is then stopped (an open code fence closed)
  and a new one continues in the same thread (the fence reopened).
- `finish` stops the stream with only what was not yet appended (stop appends, it never
  replaces), and the feedback buttons under the answer.
- Tool calls are tasks of the stream (`task_update` chunks, shown between the text as Slack's
  timeline): in progress when a call starts, complete or error when it ends. Text goes as
  `markdown_text` chunks, as Slack's own SDK streams it, so every call of a stream uses chunks.
- Text is defused of broadcast mentions (bot.conversation.mentions) as a whole before the new
  suffix is taken, so a `<!here>` split across two deltas never reaches Slack whole.
- Edit in place is the fallback: when Slack refuses to start a stream, when one expires
  (message_not_in_streaming_state), or when the text changes in a way that is not an append,
  the messages already written are handed to the edit-in-place sink, which carries on with
  chat.update on the same ts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.conversation.errors import ReplyUnavailable
from bot.conversation.mentions import defuse_broadcasts
from bot.conversation.messages import ToolActivity, ToolState
from bot.conversation.ports import Clock
from bot.conversation.split import FENCE, open_fence
from bot.slack.api.calls import (
    FINAL_ATTEMPTS,
    NO_LINKING,
    RateLimited,
    call_slack,
    call_waiting_out_limits,
)
from bot.slack.sinks.edit_in_place import UNREACHABLE, Journal, SlackReplySink
from bot.slack.sinks.status import ThreadStatus, plain_status, trailing_status
from bot.slack.sinks.stream_parts import (
    Segment,
    StreamBroken,
    StreamTarget,
    cut_point,
)
from bot.slack.sinks.tasks import Chunk, task_chunk, task_title, text_chunks

log = structlog.get_logger("bot.slack.stream")

__all__ = ["NativeStreamSink", "StreamBroken", "StreamTarget", "cut_point", "update_finished"]

FENCE_ROOM = 8  # room kept in a message for the fence that closes it
Block = dict[str, Any]


class NativeStreamSink:
    """Shows one answer by native streaming into a thread; see the module docstring."""

    def __init__(
        self,
        client: AsyncWebClient,
        target: StreamTarget,
        fallback: SlackReplySink,
        *,
        clock: Clock,
        message_chars: int,
        journal: Journal | None = None,
        answer_id: str = "",
        final_blocks: Sequence[Block] = (),
    ) -> None:
        self._client = client
        self._to = target
        self._fallback = fallback
        self._clock = clock
        self._limit = message_chars
        self._journal = journal
        self._answer_id = answer_id
        self._final_blocks = list(final_blocks)
        self._status = ThreadStatus(client, target.channel, target.thread_ts, clock)
        self._segments: list[Segment] = []
        self._source = ""  # the answer text now in the messages
        self._reopen = ""  # the fence to reopen at the start of the next message
        self._blocked_until = 0.0
        self._shown = ""
        self._edit: SlackReplySink | None = None  # set once fallen back to edit in place
        self._edit_start = 0
        self._edit_prefix = ""
        self._kept: list[Segment] = []  # finished messages the edit sink does not hold
        self._titles: dict[str, str] = {}  # each task's title, as it was first shown
        self._lock = asyncio.Lock()  # the coalescer's appends and tool tasks, one at a time

    @property
    def shown(self) -> str:
        """The latest text given to the sink."""
        return self._shown

    @property
    def streamed(self) -> bool:
        """Whether the answer is still shown by native streaming (not fallen back)."""
        return self._edit is None

    async def start(self, status: str) -> None:
        """Show the status under the thread (or, where Slack refuses it, a placeholder)."""
        status = defuse_broadcasts(status)
        self._shown = status
        if self._edit is not None:
            await self._edit.start(status)
            return
        try:
            await self._status.show(plain_status(status))
        except RateLimited:
            return  # a status is cosmetic; the answer shows soon
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            if error in UNREACHABLE:
                raise ReplyUnavailable(error) from None
            self._fall_back(f"status: {error}", replace_all=False)
            await self._fallback.start(status)

    async def show(self, text: str) -> float:
        """Append what is new in the answer; a trailing status line goes to the thread status."""
        async with self._lock:
            return await self._show(text)

    async def _show(self, text: str) -> float:
        text = defuse_broadcasts(text)
        self._shown = text
        if self._edit is None:
            body, status = trailing_status(text)
            if body:
                await self._stream(body, final=False)
            if status and self._edit is None:
                await self._show_status(status)
        if self._edit is not None:
            return await self._edit.show(self._tail(text))
        return 0.0

    async def finish(self, text: str) -> None:
        """Stop the stream with what is left of the final text and the feedback buttons."""
        async with self._lock:
            await self._finish(text)

    async def activity(self, activity: ToolActivity, text: str) -> bool:
        """A tool call as a task of the stream, after the answer so far (appended first); False
        once fallen back to edits, or when Slack could not take it (the core then shows a
        status line)."""
        async with self._lock:
            if self._edit is None:
                body, _ = trailing_status(defuse_broadcasts(text))
                if body:
                    await self._stream(body, final=False)
            if self._edit is not None:
                return False
            title = self._titles.setdefault(activity.tool_id, task_title(activity.text))
            must_land = activity.state is not ToolState.STARTED  # a task never stays spinning
            try:
                return await self._task(task_chunk(activity, title), must_land=must_land)
            except StreamBroken as broken:
                self._fall_back(str(broken), replace_all=False)
                return False

    async def _task(self, chunk: Chunk, *, must_land: bool) -> bool:
        """Add a task update to the open message, or start one with it; False when skipped."""
        segment = self._open_segment()
        if segment is not None:
            appended = await self._call(
                self._client.chat_appendStream,
                must_land=must_land,
                channel=self._to.channel,
                ts=segment.ts,
                chunks=[chunk],
            )
            return appended is not None
        chunks = [*(text_chunks(self._reopen) if self._reopen else []), chunk]
        response = await self._call(
            self._client.chat_startStream,
            must_land=must_land,
            channel=self._to.channel,
            thread_ts=self._to.thread_ts,
            chunks=chunks,
            **self._to.recipients(),
        )
        if response is None:
            return False
        segment = Segment(str(response["ts"]), len(self._source), self._reopen, self._reopen)
        self._segments.append(segment)
        self._reopen = ""
        self._status.posted()
        await self._record(segment)
        return True

    async def _finish(self, text: str) -> None:
        text = defuse_broadcasts(text)
        self._shown = text
        if self._edit is None:
            await self._stream(text, final=True)
        if self._edit is not None:
            await self._edit.finish(self._tail(text))
        elif self._journal is not None:
            await self._journal.closed(self._answer_id)
        await self._status.clear()

    # ---- streaming -----------------------------------------------------------------------
    async def _stream(self, text: str, *, final: bool) -> None:
        """Stream the text's new suffix (falls back on anything but an append)."""
        if not text.startswith(self._source):
            await self._stop_quietly()
            self._fall_back("not an append", replace_all=True)
            return
        try:
            await self._push(text[len(self._source) :], final=final)
        except StreamBroken as broken:
            self._fall_back(str(broken), replace_all=False)

    async def _push(self, suffix: str, *, final: bool) -> None:
        """Put the suffix into the open message, continuing in new ones when it is full; when
        final, every call waits out rate limits and the last message is stopped."""
        while suffix:
            segment = self._open_segment()
            used = len(segment.text) if segment else len(self._reopen)
            window = self._limit - used - FENCE_ROOM
            if len(suffix) <= self._limit - used:
                chunk, suffix = suffix, ""
            else:
                has_content = segment is not None
                cut = cut_point(suffix, window, has_content) if window > 0 else 0
                chunk, suffix = suffix[:cut], suffix[cut:]
            last = final and not suffix
            if chunk and not await self._put(segment, chunk, last=last, must_land=final):
                return  # rate limited: the next show carries this text
            self._source += chunk
            if suffix and (segment := self._open_segment()) is not None:
                await self._roll_over(segment)
        if final:
            await self._close_last()

    async def _put(
        self, segment: Segment | None, chunk: str, *, last: bool, must_land: bool
    ) -> bool:
        """Start a message with the chunk or add it to the open one (the last chunk of the final
        text stops it); False when an interim call was skipped."""
        if segment is None:
            text = self._reopen + chunk
            response = await self._call(
                self._client.chat_startStream,
                must_land=must_land,
                channel=self._to.channel,
                thread_ts=self._to.thread_ts,
                chunks=text_chunks(text),
                **self._to.recipients(),
            )
            if response is None:
                return False
            segment = Segment(str(response["ts"]), len(self._source), self._reopen, text)
            self._segments.append(segment)
            self._reopen = ""
            self._status.posted()
        elif last:
            await self._stop(segment, chunk, self._final_blocks)
            return True
        else:
            response = await self._call(
                self._client.chat_appendStream,
                must_land=must_land,
                channel=self._to.channel,
                ts=segment.ts,
                chunks=text_chunks(chunk),
            )
            if response is None:
                return False
            segment.text += chunk
        await self._record(segment)
        return True

    async def _roll_over(self, segment: Segment) -> None:
        """End a full message (closing an open code fence); the next one reopens it."""
        fence = open_fence(segment.text)
        await self._stop(segment, f"\n{FENCE}" if fence else "", ())
        self._reopen = f"{fence}\n" if fence else ""

    async def _close_last(self) -> None:
        """Stop the open message, if any, with the feedback buttons."""
        segment = self._open_segment()
        if segment is not None:
            await self._stop(segment, "", self._final_blocks)

    async def _stop(self, segment: Segment, text: str, blocks: Sequence[Block]) -> None:
        args: dict[str, Any] = {"channel": self._to.channel, "ts": segment.ts}
        if text:
            args["chunks"] = text_chunks(text)
        if blocks:
            args["blocks"] = list(blocks)
        await self._call(self._client.chat_stopStream, must_land=True, **args)
        segment.text += text
        segment.streaming = False
        await self._record(segment)

    async def _call(
        self,
        method: Callable[..., Awaitable[AsyncSlackResponse]],
        *,
        must_land: bool,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        """Call a streaming method; None when an interim call was skipped for a rate limit.
        Raises StreamBroken for any error Slack gives."""
        for _ in range(FINAL_ATTEMPTS):
            wait = self._blocked_until - self._clock.now()
            if wait > 0:
                if not must_land:
                    return None
                await self._clock.sleep(wait)
            try:
                return await call_slack(method, **kwargs)
            except RateLimited as limited:
                self._blocked_until = self._clock.now() + limited.retry_after
                if not must_land:
                    return None
            except SlackApiError as exc:
                raise StreamBroken(str(exc.response.get("error"))) from None
        raise StreamBroken("gave_up")

    async def _show_status(self, status: str) -> None:
        try:
            await self._status.show(status)
        except (SlackApiError, RateLimited) as exc:
            log.info("slack.status_failed", error=type(exc).__name__)

    def _open_segment(self) -> Segment | None:
        last = self._segments[-1] if self._segments else None
        return last if last is not None and last.streaming else None

    async def _record(self, segment: Segment) -> None:
        if self._journal is not None:
            await self._journal.shown(
                self._answer_id,
                self._to.channel,
                segment.ts,
                segment.text,
                workspace=self._fallback.workspace,
            )

    # ---- falling back to edit in place ---------------------------------------------------
    async def _stop_quietly(self) -> None:
        """Stop the open stream before its message is edited (chat.update refuses a stream)."""
        segment = self._open_segment()
        if segment is None:
            return
        segment.streaming = False
        try:
            await self._call(
                self._client.chat_stopStream,
                must_land=True,
                channel=self._to.channel,
                ts=segment.ts,
            )
        except StreamBroken as broken:
            log.info("slack.stream_stop_failed", error=str(broken))

    def _fall_back(self, reason: str, *, replace_all: bool) -> None:
        """Hand the answer to the edit-in-place sink: every message (replace_all), else the one
        still streaming (expired or refused), whose text it continues on the same ts."""
        log.warning("slack.stream_fell_back", reason=reason, messages=len(self._segments))
        current = self._open_segment()
        if replace_all:
            taken, self._kept = self._segments, []
            self._edit_start, self._edit_prefix = 0, ""
        elif current is not None:
            taken, self._kept = [current], self._segments[:-1]
            self._edit_start, self._edit_prefix = current.start, current.prefix
        else:
            taken, self._kept = [], list(self._segments)
            self._edit_start, self._edit_prefix = len(self._source), self._reopen
        for segment in taken:
            segment.streaming = False
        self._fallback.adopt([(segment.ts, segment.text) for segment in taken])
        self._edit = self._fallback

    def _tail(self, text: str) -> str:
        """The part of the text the edit sink shows (all of it once earlier messages changed)."""
        if self._edit_start and not text.startswith(self._source[: self._edit_start]):
            self._fallback.adopt([(segment.ts, segment.text) for segment in self._kept])
            self._kept = []
            self._edit_start, self._edit_prefix = 0, ""
        return self._edit_prefix + text[self._edit_start :]


async def update_finished(
    clock: Clock, client: AsyncWebClient, channel: str, ts: str, text: str
) -> None:
    """chat.update a message the bot wrote; a stream left open (a crashed replica's) is stopped
    first, since Slack refuses to edit a message that is still streaming."""
    text = defuse_broadcasts(text)
    try:
        await call_waiting_out_limits(
            clock, client.chat_update, channel=channel, ts=ts, markdown_text=text, **NO_LINKING
        )
    except SlackApiError as exc:
        if exc.response.get("error") != "streaming_state_conflict":
            raise
        await call_waiting_out_limits(clock, client.chat_stopStream, channel=channel, ts=ts)
        await call_waiting_out_limits(
            clock, client.chat_update, channel=channel, ts=ts, markdown_text=text, **NO_LINKING
        )
