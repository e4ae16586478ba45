"""Slack's AI surfaces, put together for the composition root: the sink chosen per surface
(native streaming or edit in place), thread titles and the viewed channel's context, the
suggested prompts, the Home tab and the feedback buttons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp

from bot.claude.catalog import lookup
from bot.compose.accounting import Accounting
from bot.compose.clients import Clients
from bot.compose.conversation import SlackParts
from bot.config import Settings
from bot.conversation.profiles import Profiles
from bot.slack.api.viewing import ViewingContext
from bot.slack.blocks.home import HomeFacts
from bot.slack.handlers.feedback import FeedbackHandler
from bot.slack.handlers.home import HomeTab
from bot.slack.handlers.surfaces import SurfaceEvents, register_surfaces
from bot.slack.sinks.choice import AnswerSurfaces
from bot.storage.surface_state import RedisSurfaceState


def repo_names(settings: Settings) -> tuple[str, ...]:
    """The names of the /ask-code repositories (ASK_CODE_REPOS: `name=location,...`)."""
    names = (entry.partition("=")[0].strip() for entry in settings.ask_code_repos.split(","))
    return tuple(name for name in names if name)


def home_facts(settings: Settings, profiles: Profiles) -> Callable[[], HomeFacts]:
    """What the Home tab says about this bot's models and repositories: only what anyone may
    use in a DM with the bot (its profile), nothing a channel's profile keeps to itself."""
    models = {
        tier: (lookup(model_id, tier)[0].display_name, model_id)
        for tier, model_id in settings.models_by_tier.items()
    }

    def facts() -> HomeFacts:
        dm = profiles.for_conversation("", is_direct_message=True)
        repos = tuple(name for name in repo_names(settings) if dm.allows_repo(name))
        return HomeFacts(models=models, repos=repos)

    return facts


@dataclass(frozen=True)
class AiSurfaces:
    """The answers' surfaces (for the event handler), and the surfaces' own listeners."""

    answers: AnswerSurfaces
    events: SurfaceEvents
    feedback: FeedbackHandler

    @classmethod
    def build(
        cls,
        settings: Settings,
        clients: Clients,
        shared: SlackParts,
        accounting: Accounting,
        profiles: Profiles,
    ) -> AiSurfaces:
        """Everything on the shared Redis and Slack client."""
        state = RedisSurfaceState(clients.redis, settings.history_ttl_seconds)
        slack = clients.workspaces
        answers = AnswerSurfaces(
            shared.clock,
            state,
            mode=settings.native_streaming,
            message_chars=settings.message_chars,
            journal=shared.journal,
            viewing=ViewingContext(slack, shared.people, state, shared.access),
        )
        home = HomeTab(slack, home_facts(settings, profiles), accounting.reporter)
        events = SurfaceEvents(slack, state, settings.prompts, home)
        feedback = FeedbackHandler(slack, state, accounting.metrics.observe_feedback)
        return cls(answers, events, feedback)

    def register(self, app: AsyncApp) -> None:
        """The surfaces' listeners (prompts, titles, Home tab, feedback) join the app."""
        register_surfaces(app, self.events, self.feedback)
