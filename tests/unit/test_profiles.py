"""Channel profiles: the YAML checked whole with one clear line per problem, profiles laid over
the default, reloading that keeps the old profiles on a bad edit."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation.profiles import Profile, ProfileBook, describe
from bot.profiles import Known, ProfileError, ReloadingProfiles, parse_profiles

KNOWN = Known(tiers=("haiku", "sonnet", "opus"), tools=("web_search",),
              mcp_servers=("tickets",), repos=("api", "docs"))  # fmt: skip
GOOD = {
    "default": {"tier": "sonnet", "repos": ["docs"]},
    "dm": {"memory": True},
    "channels": {
        "C0PAY": {"system_prompt": "You support payments.", "tier": "opus",
                  "tools": ["web_search"], "mcp_servers": ["tickets"], "repos": ["api"],
                  "budget_monthly_usd": 50, "memory": True},
    },
}  # fmt: skip


def test_channels_are_laid_over_the_default() -> None:
    """A channel's own keys win; what it leaves out comes from default; DMs use dm over it."""
    book = parse_profiles(GOOD, KNOWN, source="p.yaml")
    pay = book.for_channel("C0PAY", is_direct_message=False)
    assert (pay.tier, pay.repos, pay.budget_monthly_usd) == ("opus", ("api",), 50.0)
    other = book.for_channel("C0OTHER", is_direct_message=False)
    assert (other.tier, other.repos, other.tools) == ("sonnet", ("docs",), None)
    dm = book.for_channel("D0ANA", is_direct_message=True)
    assert (dm.memory, dm.tier, dm.repos) == (True, "sonnet", ("docs",))
    assert pay.system("Base.") == "Base.\n\nYou support payments."
    assert other.system("Base.") == "Base."


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"defaults": {}}, "unknown key 'defaults'"),
        ({"channels": {"general": {}}}, "'general' is not a Slack channel id"),
        (
            {"channels": {"C0X": {"tier": "gigantic"}}},
            "channels.C0X.tier: 'gigantic' is not a tier",
        ),
        ({"default": {"tools": ["browser"]}}, "default.tools: 'browser' is not configured"),
        ({"default": {"repos": "api"}}, "default.repos: must be a list of names"),
        ({"dm": {"budget_monthly_usd": -5}}, "dm.budget_monthly_usd: must be a positive number"),
        ({"dm": {"memory": "yes"}}, "dm.memory: must be true or false"),
        ({"default": {"colour": "red"}}, "default.colour: unknown key"),
        ({"channels": {"C0X": {"mcp_servers": ["crm"]}}}, "'crm' is not configured (tickets)"),
    ],
)
def test_each_problem_is_one_line_naming_the_place(data: object, says: str) -> None:
    """Unknown keys, malformed channel ids, names the bot has not configured: one line."""
    with pytest.raises(ProfileError) as raised:
        parse_profiles(data, KNOWN, source="p.yaml")
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("p.yaml: ")
    assert says in message


def test_a_bad_edit_keeps_the_profiles_in_force(tmp_path: Path) -> None:
    """reload() reads the file again; a broken file is logged and the old profiles stay."""
    path = tmp_path / "profiles.yaml"
    path.write_text("channels: {C0PAY: {tier: opus}}\n")
    profiles = ReloadingProfiles(path, KNOWN)
    assert profiles.for_conversation("C0PAY", is_direct_message=False).tier == "opus"
    path.write_text("channels: {C0PAY: {tier: haiku}}\n")
    assert profiles.reload()
    assert profiles.for_conversation("C0PAY", is_direct_message=False).tier == "haiku"
    path.write_text("channels: {C0PAY: {tier: [\n")
    assert not profiles.reload()
    assert profiles.for_conversation("C0PAY", is_direct_message=False).tier == "haiku"


def test_describe_shows_the_effective_profile() -> None:
    """/claude-config's text names every field and quotes the instructions."""
    pay = ProfileBook.of(Profile(), Profile(), {"C": Profile(system_prompt="Be brief.",
                         repos=("api",))}).channels["C"]  # fmt: skip
    text = describe(pay, 400)
    assert "*Repositories for /ask-code:* `api`" in text
    assert "*Server tools:* all configured" in text
    assert "> Be brief." in text
