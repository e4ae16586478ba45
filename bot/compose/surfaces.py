"""Slack's AI surfaces, put together for the composition root: the sink chosen per surface
(native streaming or edit in place), thread titles and the viewed channel's context, the
suggested prompts, the Home tab and the feedback buttons."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as redis
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.claude.catalog import lookup
from bot.config import Settings
from bot.metrics.registry import BotMetrics
from bot.slack.api.viewing import ViewingContext
from bot.slack.blocks.home import HomeFacts
from bot.slack.handlers.events import EventHandler
from bot.slack.handlers.feedback import FeedbackHandler
from bot.slack.handlers.home import HomeTab
from bot.slack.handlers.surfaces import SurfaceEvents, register_surfaces
from bot.slack.sinks.choice import AnswerSurfaces
from bot.storage.surface_state import RedisSurfaceState
from bot.usage.report import UsageReporter


def repo_names(settings: Settings) -> tuple[str, ...]:
    """The names of the /ask-code repositories (ASK_CODE_REPOS: `name=location,...`)."""
    names = (entry.partition("=")[0].strip() for entry in settings.ask_code_repos.split(","))
    return tuple(name for name in names if name)


def home_facts(settings: Settings) -> HomeFacts:
    """What the Home tab says about this bot's models and repositories."""
    models = {
        tier: (lookup(model_id, tier)[0].display_name, model_id)
        for tier, model_id in settings.models_by_tier.items()
    }
    return HomeFacts(models=models, repos=repo_names(settings))


@dataclass(frozen=True)
class AiSurfaces:
    """What the wiring attaches: the answers' surfaces, the events' listeners, feedback."""

    answers: AnswerSurfaces
    events: SurfaceEvents
    feedback: FeedbackHandler

    @classmethod
    def build(
        cls,
        settings: Settings,
        client: redis.Redis,
        slack: AsyncWebClient,
        handler: EventHandler,
        metrics: BotMetrics,
        usage: UsageReporter | None = None,
    ) -> AiSurfaces:
        """Everything on this Redis and Slack client, with the event handler's collaborators."""
        state = RedisSurfaceState(client, settings.history_ttl_seconds)
        answers = AnswerSurfaces(
            slack,
            handler.clock,
            state,
            mode=settings.native_streaming,
            message_chars=settings.message_chars,
            journal=handler.journal,
            viewing=ViewingContext(slack, handler.people, state, handler.access),
        )
        home = HomeTab(slack, home_facts(settings), usage)
        events = SurfaceEvents(slack, state, settings.prompts, home)
        return cls(answers, events, FeedbackHandler(slack, state, metrics.observe_feedback))

    def attach(self, app: AsyncApp, handler: EventHandler) -> None:
        """Answers go through the surfaces; the surfaces' listeners join the app."""
        handler.surfaces = self.answers
        register_surfaces(app, self.events, self.feedback)
