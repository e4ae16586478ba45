"""The conversation feature put together: the core's turn with its adapters (Redis store, Claude
model, Slack thread reader, shared files), and the Slack event handler that runs it."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import structlog

from bot.askcode.service import AskCodeService
from bot.claude.catalog import CATALOG, ModelInfo, Tier, lookup
from bot.claude.client import AnthropicChatModel
from bot.claude.files import AnthropicFileStore
from bot.compose.clients import Clients
from bot.compose.tools import loop_limits
from bot.config import Settings
from bot.conversation.agent import Approvals, NoApprovals
from bot.conversation.kit import NoServerTools, ServerTools
from bot.conversation.ports import (
    AttachmentReader,
    ChatModel,
    NoResultFiles,
    Redactor,
    ResultFiles,
    ThreadEraser,
    UsageGuard,
)
from bot.conversation.profiles import Profiles, StaticProfiles
from bot.conversation.throttle import EditPolicy, MonotonicClock
from bot.conversation.tiers import tier
from bot.conversation.tools import ToolProvider
from bot.conversation.turn import TurnDeps, TurnSettings
from bot.slack.api.files import SlackFileSource
from bot.slack.api.people import PeopleDirectory
from bot.slack.api.thread_reader import SlackThreadReader
from bot.slack.handlers.access import AccessPolicy, parse_ids
from bot.slack.handlers.events import EventHandler, TaskTracker
from bot.slack.sinks.choice import AnswerSurfaces
from bot.storage.edit_rate import SharedEditBudget
from bot.storage.inflight import InflightJournal
from bot.storage.locks import ThreadLocks
from bot.storage.redis_store import RedisMarks, RedisThreadStore
from bot.vision.documents import pdf_page_limit
from bot.vision.reader import FileAttachmentReader

log = structlog.get_logger("bot")


@dataclass(frozen=True)
class SlackParts:
    """What the event handler, the commands and the AI surfaces share."""

    clock: MonotonicClock
    marks: RedisMarks
    people: PeopleDirectory
    access: AccessPolicy
    journal: InflightJournal

    @classmethod
    def build(cls, settings: Settings, clients: Clients, journal: InflightJournal) -> SlackParts:
        """On the shared Redis and Slack client, with the allowlists from the settings."""
        marks = RedisMarks(clients.redis)
        access = AccessPolicy(
            users=parse_ids(settings.allowed_users),
            channels=parse_ids(settings.allowed_channels),
            allow_external=settings.allow_external_users,
        )
        people = PeopleDirectory(clients.workspaces, marks)
        return cls(MonotonicClock(), marks, people, access, journal)


def turn_settings(settings: Settings) -> TurnSettings:
    """The core's knobs from the settings."""
    variables = {
        model_id: tier(name).model_variable for name, model_id in settings.tier_models.items()
    }
    return TurnSettings(
        system_prompt=settings.system_prompt,
        max_tokens=settings.max_tokens,
        models_by_tier=settings.models_by_tier,
        model_variables=variables,
        edit_policy=EditPolicy.from_setting(
            settings.edit_policy,
            settings.edit_interval_seconds,
            settings.first_words_interval_seconds,
        ),
        thinking_by_tier=settings.thinking_by_tier,
        display_names={
            name: lookup(model_id, name)[0].display_name
            for name, model_id in settings.models_by_tier.items()
        },
        show_thinking=settings.show_thinking,
        input_budget_by_tier={
            name: input_budget(lookup(model_id, name)[0], settings)
            for name, model_id in settings.models_by_tier.items()
        },
        tool_limits=loop_limits(settings),
    )


def input_budget(model: ModelInfo, settings: Settings) -> int:
    """Tokens a request's input may use: the context window less the answer's room (and a
    margin for the estimate), capped by BOT_MAX_INPUT_TOKENS."""
    room = min(settings.max_tokens, model.max_output)
    fits = int((model.context_window - room) * 0.9)
    return min(fits, settings.max_input_tokens)


def warn_unknown_models(settings: Settings) -> dict[str, Tier]:
    """Log a warning for each configured model id the catalog does not know."""
    tiers: dict[str, Tier] = {}
    for name, model_id in settings.models_by_tier.items():
        tiers[model_id] = name
        if model_id not in CATALOG:
            log.warning("model.unknown", model=model_id, tier=name, cost_estimate=False)
    return tiers


def chat_model(settings: Settings, clients: Clients) -> AnthropicChatModel:
    """The Claude adapter over the shared SDK client (its own retries off: ours apply)."""
    return AnthropicChatModel(
        clients.claude,
        warn_unknown_models(settings),
        settings.claude_max_retries,
        stall_seconds=settings.claude_stall_seconds,
    )


def file_source(settings: Settings, clients: Clients, stack: AsyncExitStack) -> SlackFileSource:
    """Downloads of shared files: the workspace's bot token only to Slack's file hosts, size
    capped."""
    source = SlackFileSource(
        clients.workspaces,
        allowed_hosts=settings.file_hosts,
        max_bytes=settings.file_max_bytes,
    )
    stack.push_async_callback(source.close)
    return source


def attachments(settings: Settings, clients: Clients, files: SlackFileSource) -> AttachmentReader:
    """Shared files: downloaded, converted, kept by the Files API (the SDK's own retries)."""
    models = [lookup(model_id, "sonnet")[0] for model_id in settings.models_by_tier.values()]
    return FileAttachmentReader(
        files,
        AnthropicFileStore(clients.claude.with_options(max_retries=2)),
        max_image_edge=lambda model_id: lookup(model_id, "sonnet")[0].max_image_edge,
        pdf_max_pages=pdf_page_limit(models),
    )


@dataclass(frozen=True)
class TurnParts:
    """The turn's collaborators that other features build (metering, files, /ask-code)."""

    model: ChatModel
    usage: UsageGuard
    attachments: AttachmentReader | None = None
    code: AskCodeService | None = None
    tools: tuple[ToolProvider, ...] = ()
    server_tools: ServerTools = field(default_factory=NoServerTools)
    approvals: Approvals = field(default_factory=NoApprovals)
    profiles: Profiles = field(default_factory=StaticProfiles)
    result_files: ResultFiles = field(default_factory=NoResultFiles)
    eraser: ThreadEraser | None = None  # "forget this thread" (bot/compose/governance.py)
    redactor: Redactor | None = None  # BOT_PII_REDACTION


def event_handler(
    settings: Settings,
    clients: Clients,
    shared: SlackParts,
    turn: TurnParts,
    surfaces: AnswerSurfaces | None,
) -> EventHandler:
    """The Slack event handler with everything a turn needs."""
    deps = TurnDeps(
        store=RedisThreadStore(clients.redis, settings.history_ttl_seconds),
        model=turn.model,
        reader=SlackThreadReader(clients.workspaces, shared.people),
        clock=shared.clock,
        settings=turn_settings(settings),
        attachments=turn.attachments,
        usage=turn.usage,
        code=turn.code,
        tools=turn.tools,
        server_tools=turn.server_tools,
        approvals=turn.approvals,
        profiles=turn.profiles,
        result_files=turn.result_files,
        eraser=turn.eraser,
        redactor=turn.redactor,
    )
    return EventHandler(
        turn=deps,
        marks=shared.marks,
        people=shared.people,
        workspaces=clients.workspaces,
        clock=shared.clock,
        message_chars=settings.message_chars,
        tasks=TaskTracker(),
        gate=ThreadLocks(clients.redis, ttl_seconds=settings.lock_ttl_seconds),
        budget=SharedEditBudget(
            clients.redis,
            per_minute=settings.slack_updates_per_minute,
            burst=settings.slack_update_burst,
        ),
        journal=shared.journal,
        turn_deadline_seconds=settings.turn_deadline_seconds,
        placeholder_delay=settings.placeholder_delay_seconds,
        access=shared.access,
        surfaces=surfaces,
    )
