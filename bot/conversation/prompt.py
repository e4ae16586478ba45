"""Turning a question and its thread context into the user turn sent to Claude (pure), and
gathering what goes into it: other people's messages, the shared files."""

from __future__ import annotations

from bot.conversation.attachments import notes_for_model
from bot.conversation.messages import (
    Attachments,
    ChatMessage,
    ContextMessage,
    Question,
    ThreadState,
)
from bot.conversation.ports import AttachmentReader, ThreadReader
from bot.conversation.window import MEDIA_TOKENS

MAX_CONTEXT_MESSAGES = 50
MAX_CONTEXT_CHARS = 20_000
EMPTY_MENTION_PROMPT = (
    "(You were mentioned without a question. Respond helpfully to the thread above: "
    "summarise it or answer what it asks.)"
)
CONTEXT_INTRO = "Messages other people posted in this thread since your last reply:"
FILES_ONLY_PROMPT = (
    "(The files above were shared with you without a question. Say briefly what they are and "
    "offer to help with them.)"
)
NO_ATTACHMENTS = Attachments()


def select_context(messages: list[ContextMessage]) -> tuple[list[ContextMessage], int]:
    """The newest context messages within the count and size caps, and how many were left out."""
    kept: list[ContextMessage] = []
    size = 0
    for message in reversed(messages[-MAX_CONTEXT_MESSAGES:]):
        size += len(message.text)
        if size > MAX_CONTEXT_CHARS and kept:
            break
        kept.append(message)
    kept.reverse()
    return kept, len(messages) - len(kept)


def render_context(messages: list[ContextMessage]) -> str:
    """Other people's thread messages as a block of text, attributed to their authors."""
    kept, left_out = select_context(messages)
    lines = ["<thread_context>", CONTEXT_INTRO]
    if left_out:
        lines.append(f"({left_out} older messages left out)")
    lines.extend(f"[{message.author}]: {message.text}" for message in kept)
    lines.append("</thread_context>")
    return "\n".join(lines)


def build_user_message(
    question: Question,
    author: str,
    context: list[ContextMessage],
    attachments: Attachments = NO_ATTACHMENTS,
) -> ChatMessage:
    """The user turn sent to Claude and stored in the history (byte-stable once stored).
    Attachment blocks come first (Claude reads images and documents best before the text)."""
    empty = FILES_ONLY_PROMPT if attachments.blocks else EMPTY_MENTION_PROMPT
    text = question.text.strip() or empty
    body = text if question.is_direct_message else f"[{author}]: {text}"
    if context:
        body = f"{render_context(context)}\n\n{body}"
    if attachments.notices:
        body = f"{body}\n\n{notes_for_model(attachments.notices)}"
    blocks = [dict(block) for block in attachments.blocks]
    message: ChatMessage = {"role": "user", "content": [*blocks, {"type": "text", "text": body}]}
    if attachments.media_tokens:
        message[MEDIA_TOKENS] = attachments.media_tokens  # for the window; never sent
    return message


async def read_files(
    question: Question, reader: AttachmentReader | None, model_id: str, *, to_container: bool
) -> Attachments:
    """The question's files as content blocks for the model (data files into code execution's
    container when `to_container`), and notices."""
    if not question.files:
        return NO_ATTACHMENTS
    if reader is None:
        return Attachments(notices=("I can't read shared files in this setup.",))
    if to_container:
        return await reader.read(question.files, model_id, to_container=True)
    return await reader.read(question.files, model_id)


async def read_context(
    question: Question, state: ThreadState, reader: ThreadReader
) -> list[ContextMessage]:
    """Other people's messages since the bot's last turn (none in a DM)."""
    if question.is_direct_message:
        return []
    if state.last_seen_ts is None and question.key.thread_ts == question.ts:
        return []  # a new thread rooted at this very message has nothing before it
    return await reader.messages_between(question.key, state.last_seen_ts, question.ts)
