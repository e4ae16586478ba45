"""Turning a question and its thread context into a user turn, and an answer into final text."""

from __future__ import annotations

from bot.conversation.messages import ChatMessage, ContextMessage, Question, StopReason

MAX_CONTEXT_MESSAGES = 50
MAX_CONTEXT_CHARS = 20_000
EMPTY_MENTION_PROMPT = (
    "(You were mentioned without a question. Respond helpfully to the thread above: "
    "summarise it or answer what it asks.)"
)
CUT_NOTICE = "_(The answer reached the length limit and was cut here. Ask me to continue.)_"
REFUSAL_NOTICE = "_(Claude declined to answer this.)_"
EMPTY_ANSWER = "_(Claude returned an empty answer. Try rephrasing the question.)_"
HELLO_HINT = (
    "Hi! Ask me anything: mention me with your question, here or in a thread, "
    "and I'll answer in the thread. Follow-up mentions in the same thread continue "
    "the conversation."
)


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
    lines = [
        "<thread_context>",
        "Messages other people posted in this thread since your last reply:",
    ]
    if left_out:
        lines.append(f"({left_out} older messages left out)")
    lines.extend(f"[{message.author}]: {message.text}" for message in kept)
    lines.append("</thread_context>")
    return "\n".join(lines)


def build_user_message(
    question: Question, author: str, context: list[ContextMessage]
) -> ChatMessage:
    """The user turn sent to Claude and stored in the history (byte-stable once stored)."""
    text = question.text.strip() or EMPTY_MENTION_PROMPT
    body = text if question.is_direct_message else f"[{author}]: {text}"
    if context:
        body = f"{render_context(context)}\n\n{body}"
    return {"role": "user", "content": [{"type": "text", "text": body}]}


def final_text(answer: str, stop_reason: StopReason) -> str:
    """What the answer message finally says, with a notice when the model stopped early."""
    if stop_reason is StopReason.REFUSAL:
        return f"{answer}\n\n{REFUSAL_NOTICE}".strip()
    if not answer.strip():
        return EMPTY_ANSWER
    if stop_reason is StopReason.MAX_TOKENS:
        return f"{answer}\n\n{CUT_NOTICE}"
    return answer


def failure_text(partial: str, notice: str) -> str:
    """The final message after a failure: what had streamed, then the notice."""
    warning = f":warning: {notice}"
    return f"{partial}\n\n{warning}" if partial.strip() else warning
