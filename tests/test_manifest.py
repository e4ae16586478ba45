"""manifest.yml is a valid Slack app manifest that declares what the bot uses."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml

from bot.conversation.tiers import TIER_TABLE
from testing.paths import ROOT
from testing.paths import SHARED as SHARED_ROOT

SHARED = SHARED_ROOT / "slack"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text())
    return data


def test_manifest_matches_slacks_schema(manifest: dict[str, Any]) -> None:
    """The manifest validates against Slack's manifest JSON Schema v1."""
    schema = json.loads((SHARED / "manifest.schema.1.0.0.json").read_text())
    jsonschema.validate(manifest, schema)


def test_socket_mode_events_and_commands(manifest: dict[str, Any]) -> None:
    """Socket Mode on; mentions and DMs subscribed; every slash command of the contract declared."""
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert set(settings["event_subscriptions"]["bot_events"]) >= {"app_mention", "message.im"}
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert commands >= {"/ask-haiku", "/ask-sonnet", "/ask-opus", "/ask-code", "/claude-usage"}


def test_scopes_cover_the_methods_and_events_used(manifest: dict[str, Any]) -> None:
    """Each Web API method the bot calls and each event it receives is allowed by a bot scope."""
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    methods = ["chat.postMessage", "chat.update", "conversations.replies", "users.info"]
    methods += ["chat.startStream", "chat.appendStream", "chat.stopStream", "chat.postEphemeral"]
    methods += ["assistant.threads.setStatus", "assistant.threads.setTitle"]
    methods += ["assistant.threads.setSuggestedPrompts", "conversations.history"]
    for method in methods:
        spec = json.loads((SHARED / "methods" / f"{method}.json").read_text())
        needed = set(spec["scope"]["bot"])
        assert needed & scopes, f"{method} needs one of {needed}"
    events = {e["name"]: e for e in json.loads((SHARED / "events" / "events.json").read_text())}
    for name in manifest["settings"]["event_subscriptions"]["bot_events"]:
        # events.json spells one scope with a dot (app_mentions.read); scopes use a colon
        needed = {scope.replace(".", ":") for scope in events[name]["scopes"]}
        assert not needed or needed & scopes, f"event {name} needs one of {needed}"


def test_ai_surfaces_are_declared(manifest: dict[str, Any]) -> None:
    """The agent experience is on with at most four prompts, the Home tab and interactivity are
    enabled, and the AI surfaces' events are subscribed."""
    features = manifest["features"]
    agent = features["agent_view"]
    assert agent["agent_description"]
    assert 1 <= len(agent["suggested_prompts"]) <= 4
    assert features["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert events >= {"app_home_opened", "assistant_thread_started", "app_context_changed"}


def test_manifest_declares_exactly_the_tier_tables_commands(manifest: dict[str, Any]) -> None:
    """Each row of the tier table has its /ask-<tier> command in the manifest, described with its
    label, and the manifest has no /ask-<name> command the table (or /ask-code) lacks."""
    declared = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    for spec in TIER_TABLE:
        assert spec.command in declared, f"manifest.yml lacks {spec.command}"
        assert spec.label in declared[spec.command]["description"]
    asks = {name for name in declared if name.startswith("/ask-")}
    assert asks == {spec.command for spec in TIER_TABLE} | {"/ask-code"}


def test_readme_lists_each_tiers_settings_and_command() -> None:
    """The README's settings and commands tables name every tier's variables and command."""
    readme = (ROOT / "README.md").read_text()
    for spec in TIER_TABLE:
        for name in (spec.model_variable, spec.thinking_variable, spec.command):
            assert f"`{name}" in readme, f"README.md does not mention {name}"


def test_slack_knowledge_scopes_shortcut_and_routine_command(manifest: dict[str, Any]) -> None:
    """search_slack, read_channel, the Summarise thread shortcut and /claude-routine are
    declared: each method they call is allowed by a bot scope, the shortcut is a message
    shortcut, and /claude-routine escapes #channels (so a routine names its channel by id)."""
    from testing.fakes.slack_specs import EXTRA_SPECS

    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    for method in ("assistant.search.context", "conversations.info", "conversations.history"):
        spec = json.loads((SHARED / "methods" / f"{method}.json").read_text())
        assert set(spec["scope"]["bot"]) & scopes, f"{method} needs one of {spec['scope']['bot']}"
    members = json.loads((EXTRA_SPECS / "methods" / "conversations.members.json").read_text())
    assert set(members["scope"]["bot"]) & scopes
    assert "search:read.public" in scopes
    shortcuts = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}
    assert shortcuts["summarise_thread"]["type"] == "message"
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert commands["/claude-routine"]["should_escape"] is True


TRANSPORT_EVENTS = {"app_uninstalled", "tokens_revoked"}


@pytest.fixture(scope="module")
def http_manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "manifest.http.yml").read_text())
    return data


def test_http_manifest_matches_slacks_schema(http_manifest: dict[str, Any]) -> None:
    """manifest.http.yml (HTTP mode, OAuth) validates against Slack's manifest JSON Schema v1."""
    schema = json.loads((SHARED / "manifest.schema.1.0.0.json").read_text())
    jsonschema.validate(http_manifest, schema)


def test_http_manifest_sends_everything_to_the_bots_events_url(
    http_manifest: dict[str, Any],
) -> None:
    """Socket Mode off; events, interactivity and every slash command go to /slack/events of one
    host; installs return to /slack/oauth_redirect there; uninstalls and revocations are
    subscribed, so the bot can forget a workspace."""
    settings = http_manifest["settings"]
    assert settings["socket_mode_enabled"] is False
    urls = {
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    }
    urls |= {c["url"] for c in http_manifest["features"]["slash_commands"]}
    assert len(urls) == 1
    assert next(iter(urls)).endswith("/slack/events")
    (redirect,) = http_manifest["oauth_config"]["redirect_urls"]
    assert redirect == next(iter(urls)).replace("/slack/events", "/slack/oauth_redirect")
    assert set(settings["event_subscriptions"]["bot_events"]) >= TRANSPORT_EVENTS


def test_both_manifests_describe_the_same_app(
    manifest: dict[str, Any], http_manifest: dict[str, Any]
) -> None:
    """Apart from the transport (URLs, Socket Mode, org-wide deploy, the uninstall events) the
    two manifests are equal: same scopes, commands, events, surfaces."""
    http = json.loads(json.dumps(http_manifest))
    for command in http["features"]["slash_commands"]:
        del command["url"]
    del http["oauth_config"]["redirect_urls"]
    del http["settings"]["event_subscriptions"]["request_url"]
    del http["settings"]["interactivity"]["request_url"]
    events = http["settings"]["event_subscriptions"]["bot_events"]
    http["settings"]["event_subscriptions"]["bot_events"] = [
        e for e in events if e not in TRANSPORT_EVENTS
    ]
    for key in ("socket_mode_enabled", "org_deploy_enabled"):
        del http["settings"][key]
    socket = json.loads(json.dumps(manifest))
    for key in ("socket_mode_enabled", "org_deploy_enabled"):
        del socket["settings"][key]
    assert http == socket


def test_an_oauth_install_asks_for_the_manifests_scopes(manifest: dict[str, Any]) -> None:
    """The install flow's scopes (bot/compose/slack_app.py) are exactly the manifest's."""
    from bot.compose.slack_app import BOT_SCOPES

    assert sorted(BOT_SCOPES) == sorted(manifest["oauth_config"]["scopes"]["bot"])
