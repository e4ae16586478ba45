"""The rules the settings are checked by (pure): suggested prompts, Slack's and loopback hosts,
https-only URLs that carry credentials, the per-tier variables of the tier table, and which
environment variable a validation error is about."""

from __future__ import annotations

import ipaddress
import os
import re
from typing import Any
from urllib.parse import urlsplit

from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource

from bot.conversation.tiers import TIER_TABLE, TIERS

MAX_PROMPTS = 4  # Slack shows at most four suggested prompts


def parse_prompts(value: str) -> tuple[tuple[str, str], ...]:
    """`Title: message | …` into (title, message) pairs (an entry without a title is its own
    title); raises ValueError past MAX_PROMPTS."""
    prompts = []
    for entry in value.split("|"):
        title, sep, message = (part.strip() for part in entry.partition(":"))
        if not sep or message.startswith("//"):  # no title (a URL's colon is not one)
            title, message = entry.strip(), entry.strip()
        if message:
            prompts.append((title or message, message))
    if len(prompts) > MAX_PROMPTS:
        raise ValueError(f"at most {MAX_PROMPTS} prompts (Slack shows no more)")
    return tuple(prompts)


SLACK_DOMAINS = ("slack.com", "slack-gov.com")
HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[?[0-9A-Fa-f:]+\]?")


def is_slack_host(host: str) -> bool:
    """Slack's own hosts, or loopback (where tests run a fake Slack)."""
    host = host.lower().rstrip(".")
    return is_loopback(host) or any(host == d or host.endswith("." + d) for d in SLACK_DOMAINS)


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1."""
    host = host.lower().strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_https(url: str) -> str:
    """The URL, if it is https:// (or http:// to a loopback host); else ValueError."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host or not (parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host))):
        raise ValueError(
            "must be an https:// URL (http:// only to a loopback address): "
            "credentials are sent there"
        )
    return url


class TierSource(PydanticBaseSettingsSource):
    """CLAUDE_MODEL_<TIER> and BOT_THINKING_<TIER> for each tier of the table, over its defaults."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: __call__ builds both fields at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        """tier_models and tier_thinking, each a full map from tier name to value."""
        return {
            "tier_models": {
                spec.name: os.environ.get(spec.model_variable) or spec.default_model
                for spec in TIER_TABLE
            },
            "tier_thinking": {
                spec.name: os.environ.get(spec.thinking_variable) or spec.thinking
                for spec in TIER_TABLE
            },
        }


TIER_FIELDS = {"tier_models": "model_variable", "tier_thinking": "thinking_variable"}


def variable_of(loc: tuple[int | str, ...]) -> str:
    """The environment variable a validation error's location stands for."""
    if len(loc) >= 2 and loc[0] in TIER_FIELDS and str(loc[1]) in TIERS:
        return str(getattr(TIERS[str(loc[1])], TIER_FIELDS[str(loc[0])]))
    return ".".join(str(part) for part in loc) or "settings"
