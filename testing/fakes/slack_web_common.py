"""Shared pieces of the Web API handlers: the call record, argument readers, content checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .slack_chunks import check_chunks
from .slack_events import message_object
from .slack_models import Channel, JsonDict, SlackError, StoredMessage
from .slack_specs import MethodSpec
from .slack_state import Workspace

MAX_TEXT = 40_000
MAX_MARKDOWN = 12_000
MAX_BLOCKS = 50
KNOWN_BLOCKS = frozenset(
    {
        "actions",
        "context",
        "context_actions",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
        "plan",
        "task_card",
    }
)
CUSTOMIZE_ARGS = ("username", "icon_emoji", "icon_url")
MAX_ACTION_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_ACTION_ID = 255
MAX_BUTTON_VALUE = 2000
BUTTON_STYLES = frozenset({"primary", "danger"})


@dataclass(frozen=True, slots=True)
class Call:
    """One validated Web API call handed to a handler."""

    method: str
    args: JsonDict
    spec: MethodSpec
    now: float


Handler = Callable[[Workspace, Call], JsonDict]


@dataclass(frozen=True, slots=True)
class Content:
    text: str
    markdown_text: str | None
    blocks: list[JsonDict] | None
    attachments: list[JsonDict] | None

    @property
    def has_any(self) -> bool:
        return bool(self.text or self.markdown_text or self.blocks or self.attachments)


def opt_str(call: Call, key: str) -> str | None:
    value = call.args.get(key)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def flag(call: Call, key: str) -> bool:
    value = call.args.get(key)
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def blocks_error(code: str, message: str) -> SlackError:
    return SlackError(
        code, errors=[message], response_metadata={"messages": [f"[ERROR] {message}"]}
    )


def get_channel(
    ws: Workspace,
    call: Call,
    key: str = "channel",
    *,
    member: bool = True,
    writable: bool = False,
    by_name: bool = False,
) -> Channel:
    """Look the conversation up like Slack: channel_not_found, is_archived, not_in_channel."""
    ref = opt_str(call, key) or ""
    channel = (ws.resolve_channel(ref) if by_name else ws.channels.get(ref)) if ref else None
    if channel is None:
        raise SlackError("channel_not_found")
    if writable and channel.is_archived:
        raise SlackError("is_archived")
    if member and ws.ids.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")
    return channel


def own_message(ws: Workspace, call: Call, channel: Channel, not_owner: str) -> StoredMessage:
    msg = channel.by_ts.get(opt_str(call, "ts") or "")
    if msg is None or msg.deleted:
        raise SlackError("message_not_found")
    if msg.bot_id != ws.ids.bot_id:
        raise SlackError(not_owner)
    return msg


def resolve_thread(ws: Workspace, call: Call, channel: Channel) -> str | None:
    """The root ts a reply goes under; thread_not_found when there is no such message."""
    ts = opt_str(call, "thread_ts")
    if not ts:
        return None
    target = channel.by_ts.get(ts)
    if target is None or (target.deleted and not channel.replies.get(ts)):
        raise SlackError("thread_not_found")
    if target.thread_ts is not None and target.thread_ts != ts:
        ws.violation(f"{call.method}: thread_ts {ts} is a reply; use its parent {target.thread_ts}")
        return target.thread_ts
    return ts


def _json_arg(call: Call, key: str, code: str) -> Any:
    raw = call.args.get(key)
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        raise blocks_error(code, f"{key} is not valid JSON") from None


def parse_blocks(ws: Workspace, call: Call) -> list[JsonDict] | None:
    spec = call.spec
    fmt_code = spec.error("invalid_blocks_format", "invalid_blocks")
    blocks = _json_arg(call, "blocks", fmt_code)
    if blocks is None:
        return None
    if not isinstance(blocks, list):
        raise blocks_error(fmt_code, "blocks must be an array")
    if len(blocks) > MAX_BLOCKS:
        code = spec.error("msg_blocks_too_many", "invalid_blocks")
        raise blocks_error(code, f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    for index, block in enumerate(blocks):
        _check_block(ws, call, index, block)
    _check_unique_action_ids(call, blocks)
    return blocks


def _check_unique_action_ids(call: Call, blocks: list[Any]) -> None:
    """Slack refuses a message where two interactive elements share an action_id."""
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        elements = (block.get("elements") or []) if block.get("type") == "actions" else []
        for element in elements:
            action_id = element.get("action_id") if isinstance(element, dict) else None
            if isinstance(action_id, str) and action_id in seen:
                raise blocks_error(
                    call.spec.error("invalid_blocks"),
                    f"action_id {action_id!r} is already used [json-pointer:/blocks/{index}]",
                )
            if isinstance(action_id, str):
                seen.add(action_id)


def _check_actions(code: str, where: str, block: JsonDict) -> None:
    """An actions block: at most 25 elements; its buttons as Slack checks them."""
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        raise blocks_error(code, f"missing required field: elements {where}/elements]")
    if len(elements) > MAX_ACTION_ELEMENTS:
        raise blocks_error(code, f"must be at most 25 items {where}/elements]")
    for n, element in enumerate(elements):
        if isinstance(element, dict) and element.get("type") == "button":
            _check_button(code, f"{where}/elements/{n}", element)


def _check_button(code: str, where: str, button: JsonDict) -> None:
    """A button: plain_text text up to 75 characters, action_id up to 255, value up to 2000,
    style primary or danger."""
    text = button.get("text")
    if not isinstance(text, dict) or text.get("type") != "plain_text":
        raise blocks_error(code, f"must provide a plain_text object {where}/text]")
    if not isinstance(text.get("text"), str) or not 0 < len(text["text"]) <= MAX_BUTTON_TEXT:
        raise blocks_error(code, f"must be 1 to {MAX_BUTTON_TEXT} characters {where}/text/text]")
    action_id = button.get("action_id")
    if action_id is not None and (not isinstance(action_id, str) or len(action_id) > MAX_ACTION_ID):
        raise blocks_error(code, f"must be at most {MAX_ACTION_ID} characters {where}/action_id]")
    value = button.get("value")
    if value is not None and (not isinstance(value, str) or len(value) > MAX_BUTTON_VALUE):
        raise blocks_error(code, f"must be at most {MAX_BUTTON_VALUE} characters {where}/value]")
    if button.get("style") is not None and button.get("style") not in BUTTON_STYLES:
        raise blocks_error(code, f"must be one of primary, danger {where}/style]")


def _check_block(ws: Workspace, call: Call, index: int, block: Any) -> None:
    code = call.spec.error("invalid_blocks")
    where = f"[json-pointer:/blocks/{index}"
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise blocks_error(code, f"missing required field: type {where}/type]")
    kind = block["type"]
    if kind not in KNOWN_BLOCKS:
        ws.violation(f"{call.method}: unknown block type {kind!r} at blocks[{index}]")
    limit = {"section": 3000, "header": 150, "markdown": MAX_MARKDOWN}.get(kind)
    text = block.get("text")
    text = text.get("text") if isinstance(text, dict) else text
    if limit is not None and isinstance(text, str) and len(text) > limit:
        path = "text" if kind == "markdown" else "text/text"
        raise blocks_error(code, f"must be less than {limit + 1} characters {where}/{path}]")
    if kind == "actions":
        _check_actions(code, where, block)
    for key in ("fields", "elements"):
        items = block.get(key)
        if kind in ("section", "context") and isinstance(items, list) and len(items) > 10:
            raise blocks_error(code, f"must be at most 10 items {where}/{key}]")


def parse_content(ws: Workspace, call: Call) -> Content:
    """text / markdown_text / blocks / attachments, with Slack's conflicts and limits."""
    text = opt_str(call, "text") or ""
    markdown = opt_str(call, "markdown_text")
    blocks = parse_blocks(ws, call)
    attachments = _json_arg(call, "attachments", call.spec.error("invalid_attachments"))
    if not isinstance(attachments, list):
        attachments = None
    if markdown is not None and (text or blocks):
        raise SlackError(call.spec.error("markdown_text_conflict"))
    if len(text) > MAX_TEXT or (markdown is not None and len(markdown) > MAX_MARKDOWN):
        raise SlackError("msg_too_long")
    if blocks and not text and markdown is None:
        ws.violation(f"{call.method}: blocks without a top-level `text` fallback")
    return Content(text, markdown, blocks, attachments)


def parse_chunks(call: Call) -> list[JsonDict] | None:
    """The call's `chunks`, checked strictly (slack_chunks); None when it has none."""
    code = call.spec.error("invalid_chunks")
    chunks = _json_arg(call, "chunks", code)
    return None if chunks is None else check_chunks(chunks, code)


def check_customize(ws: Workspace, call: Call) -> None:
    used = [key for key in CUSTOMIZE_ARGS if call.args.get(key)]
    if used and "chat:write.customize" not in ws.granted:
        ws.violation(f"{call.method}: {used} need chat:write.customize; Slack ignores them")


def echo_event_name(channel: Channel) -> str:
    return {"im": "message.im", "group": "message.groups", "channel": "message.channels"}[
        channel.channel_type
    ]


def should_echo(ws: Workspace, channel: Channel) -> bool:
    return ws.echo_bot_messages and ws.subscribed(echo_event_name(channel))


def message_json(ws: Workspace, msg: StoredMessage, channel: Channel) -> JsonDict:
    return message_object(msg, ws.ids, channel)


def permalink(ws: Workspace, channel: Channel, msg: StoredMessage) -> str:
    """A message's permalink, in Slack's form (a reply's names its thread)."""
    link = f"{ws.ids.workspace_url}archives/{channel.id}/p{msg.ts.replace('.', '')}"
    if msg.thread_ts is not None:
        link += f"?thread_ts={msg.thread_ts}&cid={channel.id}"
    return link
