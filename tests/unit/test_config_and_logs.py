"""Settings validation messages and the log scrubber."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from bot.config import Settings, SettingsError, load_settings
from bot.logs import REDACTED, configure_logging, scrub

GOOD = {
    "SLACK_BOT_TOKEN": "xoxb-1-2-abc",
    "SLACK_APP_TOKEN": "xapp-1-A-abc",
    "ANTHROPIC_API_KEY": "sk-ant-test",
}


def test_missing_token_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing SLACK_BOT_TOKEN stops with a line naming it and pointing to the README."""
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value) == "SLACK_BOT_TOKEN is not set (see README.md, section Settings)."


def test_wrong_token_kind_is_explained_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A user token where the bot token belongs is refused, and the value is not printed."""
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-secret-user-token")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert "SLACK_BOT_TOKEN is invalid" in str(raised.value)
    assert "xoxp-secret" not in str(raised.value)


def test_settings_defaults() -> None:
    """Defaults: Sonnet 5.5, 30-day history, 1 s edits, Slack's public API."""
    settings = Settings(**GOOD)  # type: ignore[arg-type]
    assert settings.models_by_tier["sonnet"] == "claude-sonnet-5-5"
    assert settings.history_ttl_seconds == 30 * 86_400
    assert settings.edit_interval_seconds == 1.0
    assert settings.slack_api_url == "https://slack.com/api/"
    assert "xoxb" not in repr(settings)


def test_scrub_removes_token_shapes_and_known_secrets() -> None:
    """Token-shaped strings and configured secrets are replaced, nested values included."""
    line = {"a": "Authorization: Bearer xoxb-123-abc", "b": ["key sk-ant-api03-zzz"], "c": "pw9"}
    cleaned = scrub(line, secrets=["pw9"])
    assert "xoxb" not in json.dumps(cleaned)
    assert "sk-ant" not in json.dumps(cleaned)
    assert cleaned["c"] == REDACTED


def test_library_log_lines_are_scrubbed(capsys: pytest.CaptureFixture[str]) -> None:
    """A third-party logger's message with a token comes out redacted, as JSON."""
    configure_logging("INFO", "json", secrets=["hunter2"])
    logging.getLogger("someone.else").warning("sent xapp-1-A-secret and hunter2")
    structlog.get_logger("bot").info("event", token="xoxb-9-9-secret")
    err = capsys.readouterr().err
    assert "secret" not in err
    assert "hunter2" not in err
    assert all(json.loads(line) for line in err.strip().splitlines())


def test_foreign_slack_api_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A SLACK_API_URL outside Slack stops the bot: the token would leave Slack's hosts."""
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SLACK_API_URL", "https://slack.example.net/api/")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert "SLACK_API_URL is invalid" in str(raised.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SLACK_API_URL", "http://slack.com/api/"),
        ("SLACK_API_URL", "ftp://slack.com/api/"),
        ("ANTHROPIC_BASE_URL", "http://api.anthropic.com"),
        ("ANTHROPIC_BASE_URL", "ftp://api.anthropic.com"),
        ("ANTHROPIC_BASE_URL", "api.anthropic.com"),
        ("SLACK_FILE_HOSTS", "*"),
        ("SLACK_FILE_HOSTS", "files.slack.com,*.example.net"),
        ("SLACK_FILE_HOSTS", "files.example.net"),
        ("SLACK_FILE_HOSTS", "https://files.slack.com"),
        ("SLACK_FILE_HOSTS", "files.slack.com:8443"),
    ],
)
def test_settings_that_receive_tokens_must_be_https_to_known_hosts(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    """Where a token or key is sent: HTTPS only (plain HTTP only to loopback), no wildcard host,
    Slack's own hosts for Slack's token; the line names the variable, never the value."""
    for name, good in GOOD.items():
        monkeypatch.setenv(name, good)
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value).startswith(f"{variable} is invalid: ")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SLACK_API_URL", "https://slack.com/api/"),
        ("SLACK_API_URL", "http://127.0.0.1:8080/api/"),
        ("SLACK_API_URL", "http://localhost:8080/api/"),
        ("ANTHROPIC_BASE_URL", "https://llm-gateway.example.com/anthropic"),
        ("ANTHROPIC_BASE_URL", "http://127.0.0.1:4000"),
        ("ANTHROPIC_BASE_URL", "http://[::1]:4000"),
        ("SLACK_FILE_HOSTS", "files.slack.com, files.slack-gov.com"),
        ("SLACK_FILE_HOSTS", "127.0.0.1"),
    ],
)
def test_https_and_loopback_urls_are_accepted(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    """HTTPS endpoints, and plain HTTP to a loopback address (tests, local gateways), are fine."""
    for name, good in GOOD.items():
        monkeypatch.setenv(name, good)
    monkeypatch.setenv(variable, value)
    load_settings()


def test_an_empty_anthropic_base_url_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """ANTHROPIC_BASE_URL set to nothing is the SDK's default endpoint, not an invalid URL."""
    for name, good in GOOD.items():
        monkeypatch.setenv(name, good)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "")
    assert load_settings().anthropic_base_url is None
