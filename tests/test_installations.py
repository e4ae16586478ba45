"""Installations and OAuth states against a real Redis (embedded Valkey): tokens encrypted at
rest, an organisation's org-wide install found for its workspaces, a key rotation kept readable,
an install link's state good once."""

from __future__ import annotations

from cryptography.fernet import Fernet, MultiFernet
from slack_sdk.oauth.installation_store import Installation
from structlog.testing import capture_logs

from bot.slack.oauth.installations import RedisInstallationStore, installation_key
from bot.slack.oauth.state import SignedOnceStateStore
from bot.storage.connect import RedisClient

TOKEN = "xoxb-secret-bot-token"


def _installation(team: str | None, enterprise: str | None = None) -> Installation:
    return Installation(
        app_id="A1",
        enterprise_id=enterprise,
        team_id=team,
        bot_token=TOKEN,
        bot_id="B1",
        bot_user_id="U0BOT",
        bot_scopes="chat:write,commands",
        user_id="U1",
        is_enterprise_install=team is None,
    )


async def test_a_token_is_stored_encrypted_and_read_back(redis_client: RedisClient) -> None:
    """The record in Redis does not contain the token; the store reads it back whole."""
    store = RedisInstallationStore(redis_client, MultiFernet([Fernet(Fernet.generate_key())]))
    await store.async_save(_installation("T1", "E1"))
    raw = await redis_client.get(installation_key("E1", "T1"))
    assert raw is not None
    assert TOKEN.encode() not in raw
    assert b'"T1"' not in raw  # the record is sealed, names too (a Fernet token has no quote)
    found = await store.async_find_installation(enterprise_id="E1", team_id="T1")
    assert found is not None
    assert (found.bot_token, found.bot_user_id, found.bot_scopes) == (
        TOKEN,
        "U0BOT",
        ["chat:write", "commands"],
    )


async def test_an_org_wide_install_serves_each_workspace_of_the_org(
    redis_client: RedisClient,
) -> None:
    """An organisation's org-wide install is found for any of its workspaces, not for others."""
    store = RedisInstallationStore(redis_client, MultiFernet([Fernet(Fernet.generate_key())]))
    await store.async_save(_installation(None, "E1"))
    assert await store.async_find_bot(enterprise_id="E1", team_id="T9") is not None
    assert await store.async_find_bot(enterprise_id="E2", team_id="T9") is None
    assert await store.async_find_bot(enterprise_id=None, team_id="T9") is None


async def test_a_rotated_key_still_reads_old_records_and_a_lost_one_reads_none(
    redis_client: RedisClient,
) -> None:
    """BOT_TOKEN_ENCRYPTION_KEY=new,old reads what `old` wrote; a store without the key that
    wrote a record treats it as not installed and logs it (never the token)."""
    old, new = Fernet.generate_key(), Fernet.generate_key()
    await RedisInstallationStore(redis_client, MultiFernet([Fernet(old)])).async_save(
        _installation("T1")
    )
    rotated = RedisInstallationStore(redis_client, MultiFernet([Fernet(new), Fernet(old)]))
    assert await rotated.async_find_installation(enterprise_id=None, team_id="T1") is not None
    lost = RedisInstallationStore(redis_client, MultiFernet([Fernet(new)]))
    with capture_logs() as logs:
        assert await lost.async_find_installation(enterprise_id=None, team_id="T1") is None
    assert [entry["event"] for entry in logs] == ["oauth.installation_unreadable"]
    assert TOKEN not in repr(logs)


async def test_deleting_the_bot_forgets_the_install(redis_client: RedisClient) -> None:
    """tokens_revoked / app_uninstalled delete the record; a user token revocation does not."""
    store = RedisInstallationStore(redis_client, MultiFernet([Fernet(Fernet.generate_key())]))
    await store.async_save(_installation("T1"))
    await store.async_delete_installation(enterprise_id=None, team_id="T1", user_id="U1")
    assert await store.async_find_bot(enterprise_id=None, team_id="T1") is not None
    await store.async_delete_all(enterprise_id=None, team_id="T1")
    assert await store.async_find_bot(enterprise_id=None, team_id="T1") is None


async def test_an_install_state_is_signed_and_good_once(redis_client: RedisClient) -> None:
    """A state this app issued is accepted once; a second use, another app's state or an
    altered one are refused."""
    states = SignedOnceStateStore(redis_client, "secret")
    state = await states.async_issue()
    assert await states.async_consume(state)
    assert not await states.async_consume(state)
    other = await SignedOnceStateStore(redis_client, "another secret").async_issue()
    assert not await states.async_consume(other)
    fresh = await states.async_issue()
    nonce, expiry, signature = fresh.split(".")
    assert not await states.async_consume(f"{nonce}.{int(expiry) + 3600}.{signature}")
    assert await states.async_consume(fresh)
