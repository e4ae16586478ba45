"""The feedback buttons under a final answer (Slack's context_actions block), pure."""

from __future__ import annotations

from typing import Any

ACTION_ID = "answer_feedback"
BLOCK_PREFIX = "feedback:"
POSITIVE, NEGATIVE = "positive", "negative"
Block = dict[str, Any]


def feedback_block(answer_id: str) -> Block:
    """The feedback buttons under an answer; the block id names the answer."""

    def button(emoji: str, label: str, value: str) -> Block:
        return {
            "text": {"type": "plain_text", "text": emoji, "emoji": True},
            "accessibility_label": label,
            "value": value,
        }

    return {
        "type": "context_actions",
        "block_id": f"{BLOCK_PREFIX}{answer_id}"[:255],
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": ACTION_ID,
                "positive_button": button(":+1:", "Good answer", POSITIVE),
                "negative_button": button(":-1:", "Bad answer", NEGATIVE),
            }
        ],
    }
