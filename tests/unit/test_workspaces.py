"""Which workspace a payload is for (team and Enterprise Grid organisation), the settings the
transports and OAuth need, and which keys name a workspace (pure)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.config import SettingsError, load_settings
from bot.slack.api.workspaces import split_workspace, team_of, workspace_id, workspace_of
from bot.storage.purge import names_workspace

BASE = {"ANTHROPIC_API_KEY": "sk-ant-test"}
SOCKET = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_APP_TOKEN": "xapp-1-A-abc"}
KEY = Fernet.generate_key().decode()
OAUTH = {
    "BOT_MODE": "http",
    "SLACK_SIGNING_SECRET": "signing",
    "SLACK_CLIENT_ID": "1.2",
    "SLACK_CLIENT_SECRET": "client-secret",
    "SLACK_STATE_SECRET": "state-secret",
    "BOT_TOKEN_ENCRYPTION_KEY": KEY,
}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"team_id": "T1", "authorizations": [{"team_id": "T1", "enterprise_id": None}]}, "T1"),
        (
            {"team_id": "T1", "enterprise_id": "E1", "authorizations": [{"team_id": "T1"}]},
            "E1:T1",
        ),
        (  # an org-wide install authorizes the organisation: the event's team is the workspace
            {
                "team_id": "T2",
                "authorizations": [{"team_id": None, "enterprise_id": "E1"}],
            },
            "E1:T2",
        ),
        ({"team_id": "T3", "enterprise_id": "E1", "command": "/ask-haiku"}, "E1:T3"),
        ({"team": {"id": "T4", "domain": "x"}, "enterprise": {"id": "E2"}}, "E2:T4"),
        ({"team": {"id": "T5", "enterprise_id": "E3"}, "enterprise": None}, "E3:T5"),
        (
            {"team": None, "user": {"id": "U1", "team_id": "T6"}, "enterprise": {"id": "E4"}},
            "E4:T6",
        ),
        ({"team_id": "T7", "enterprise_id": None}, "T7"),
    ],
)
def test_the_workspace_of_events_commands_and_interactions(
    payload: dict[str, Any], expected: str
) -> None:
    """Team and organisation are read from events (authorizations first, as Bolt does),
    commands and interactions; the organisation prefixes the team when Slack names one."""
    assert workspace_of(payload) == expected


def test_a_workspace_id_splits_back_into_organisation_and_team() -> None:
    """E:T splits into (E, T); a bare team has no organisation; team_of gives Slack's team id."""
    assert split_workspace(workspace_id("T1", "E1")) == ("E1", "T1")
    assert split_workspace(workspace_id("T1", None)) == (None, "T1")
    assert team_of("E1:T1") == "T1"


def test_keys_naming_a_workspace_are_found_by_segment() -> None:
    """A key names the workspace when a segment (between `:`, `{`, `}`) is its id; a team id that
    only starts another id does not match."""
    assert names_workspace("csb:v1:{E1:T1:C1:1.0}:history", "T1")
    assert names_workspace("csb:v1:usage:{T1}:day:2026-01-01:user:U1", "T1")
    assert names_workspace("csb:v1:user:T1:U1", "T1")
    assert names_workspace("csb:v1:install:E1:T1", "T1")
    assert not names_workspace("csb:v1:{T12:C1:1.0}:history", "T1")
    assert not names_workspace("csb:v1:user:T2:U1", "T1")


def _settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> str:
    for name in (*SOCKET, *OAUTH):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**BASE, **env}.items():
        monkeypatch.setenv(name, value)
    try:
        load_settings()
    except SettingsError as exc:
        return str(exc)
    return ""


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "BOT_MODE": "http"}, "SLACK_SIGNING_SECRET is not set"),
        ({**OAUTH, "BOT_TOKEN_ENCRYPTION_KEY": ""}, "BOT_TOKEN_ENCRYPTION_KEY is not set"),
        ({**OAUTH, "SLACK_STATE_SECRET": ""}, "SLACK_STATE_SECRET is not set"),
        ({**OAUTH, "BOT_MODE": "socket", **SOCKET, "SLACK_BOT_TOKEN": ""}, "needs BOT_MODE=http"),
        ({**OAUTH, "SLACK_BOT_TOKEN": "xoxb-1"}, "both set"),
        ({**OAUTH, "BOT_TOKEN_ENCRYPTION_KEY": "not-a-key"}, "must be Fernet keys"),
    ],
)
def test_each_transport_and_oauth_says_what_it_lacks(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    """A transport or OAuth set up without what it needs stops the bot with one line naming the
    variable (never echoing a value)."""
    said = _settings(monkeypatch, env)
    assert message in said
    assert "not-a-key" not in said


def test_complete_setups_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Socket Mode with both tokens, HTTP with a bot token and signing secret, and OAuth over
    HTTP (no bot token: installs bring them; two keys: the first encrypts) all load."""
    assert _settings(monkeypatch, SOCKET) == ""
    http = {"SLACK_BOT_TOKEN": "xoxb-1", "BOT_MODE": "http", "SLACK_SIGNING_SECRET": "s"}
    assert _settings(monkeypatch, http) == ""
    two_keys = {**OAUTH, "BOT_TOKEN_ENCRYPTION_KEY": f"{KEY},{Fernet.generate_key().decode()}"}
    assert _settings(monkeypatch, two_keys) == ""
