"""The tier table: routing, settings and commands are derived from its rows."""

from __future__ import annotations

import pytest

from bot.claude.catalog import CATALOG, DEFAULT_MODELS
from bot.config import Settings, SettingsError, load_settings
from bot.conversation.routing import parse_switch
from bot.conversation.tiers import DEFAULT_TIER, TIER_TABLE, TIERS, TierSpec, fallback_chain

GOOD = {
    "SLACK_BOT_TOKEN": "xoxb-1-2-abc",
    "SLACK_APP_TOKEN": "xapp-1-A-abc",
    "ANTHROPIC_API_KEY": "sk-ant-test",
}


def test_every_row_is_consistent() -> None:
    """Each row's default model is in the catalog under its tier, its fallback is a row, and the
    default tier is a row."""
    assert DEFAULT_TIER in TIERS
    for spec in TIER_TABLE:
        assert CATALOG[spec.default_model].tier == spec.name
        assert spec.fallback is None or spec.fallback in TIERS
        assert DEFAULT_MODELS[spec.name] == spec.default_model


def test_fallbacks_follow_the_rows_and_never_loop() -> None:
    """The chain follows each row's fallback to the end, each tier once."""
    for spec in TIER_TABLE:
        chain = fallback_chain(spec.name)
        assert chain[0] == spec.name
        assert len(chain) == len(set(chain))
    assert fallback_chain("no-such-tier") == ["no-such-tier"]


@pytest.mark.parametrize("spec", TIER_TABLE, ids=lambda s: s.name)
def test_switch_parser_knows_every_row(spec: TierSpec) -> None:
    """A "switch to <tier>" message is understood for every row of the table."""
    name = spec.name
    assert parse_switch(f"switch to {name}") == name
    assert parse_switch(f"use claude {name.upper()} please") == name


def test_each_tier_reads_its_own_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLAUDE_MODEL_<TIER> and BOT_THINKING_<TIER> override that row's defaults only."""
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    first, *rest = TIER_TABLE
    monkeypatch.setenv(first.model_variable, "claude-custom-1")
    monkeypatch.setenv(first.thinking_variable, "medium")
    settings = load_settings()
    assert settings.models_by_tier[first.name] == "claude-custom-1"
    assert settings.thinking_by_tier[first.name] == "medium"
    for spec in rest:
        assert settings.models_by_tier[spec.name] == spec.default_model
        expected = None if spec.thinking == "off" else spec.thinking
        assert settings.thinking_by_tier[spec.name] == expected


def test_a_bad_thinking_value_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A BOT_THINKING_<TIER> outside the efforts stops the bot with a line naming the variable."""
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    spec = TIER_TABLE[-1]
    monkeypatch.setenv(spec.thinking_variable, "enormous")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value).startswith(f"{spec.thinking_variable} is invalid")


def test_batch_tier_must_be_a_row() -> None:
    """BOT_BATCH_TIER accepts the table's names and refuses anything else."""
    assert Settings(**GOOD, BOT_BATCH_TIER=TIER_TABLE[0].name).batch_tier == TIER_TABLE[0].name  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="BOT_BATCH_TIER"):
        Settings(**GOOD, BOT_BATCH_TIER="gigantic")  # type: ignore[arg-type]
