"""The real bot process on Redis as production runs it: a 3-primary Redis Cluster, a Sentinel
group that fails over, TLS with a certificate check, and a server that could evict keys. The
whole conversation set also runs on a cluster with CSB_TEST_REDIS=cluster (see .ci/run)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.storage.embedded import PasswordedServer
from testing.fakes.claude_server import FakeClaude, TextReply
from testing.fakes.slack_server import FakeSlack
from testing.harness import mention, recent_ledger_records, run_to_exit, wait_for_final
from testing.redis_servers import free_port, redis_cluster, sentinel_group
from testing.tls_proxy import make_certificates, tls_proxy
from tests.wire.conftest import CHANNEL, USER, BotFactory


async def _two_turns(slack: FakeSlack, claude: FakeClaude, first: str, second: str) -> None:
    """A mention and a follow-up in its thread; the follow-up's request carries the first turn."""
    claude.enqueue(TextReply(first), TextReply(second))
    root = await mention(slack, CHANNEL, USER, "remember the word heliotrope")
    await wait_for_final(slack, CHANNEL, root.ts, first, timeout=30)
    await mention(slack, CHANNEL, USER, "which word?", thread_ts=root.ts)
    await wait_for_final(slack, CHANNEL, root.ts, second, timeout=30)
    messages = claude.message_requests()[-1].body["messages"]
    assert "heliotrope" in repr(messages[0])
    assert first in repr(messages[1])


async def test_a_conversation_on_a_redis_cluster(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """With REDIS_URL=redis+cluster://… (three primaries) a mention and its follow-up are
    answered with the thread's history, and both calls land in the usage ledger."""
    with redis_cluster(tmp_path / "cluster") as cluster:
        bot = bot_factory(REDIS_URL=cluster.url)
        await bot.start()
        await _two_turns(slack, claude, "Noted on the cluster.", "It was heliotrope.")
        records = await recent_ledger_records(cluster.url, slack.ids.team_id)
        await bot.stop()
    assert len(records) == 2
    assert not [e for e in bot.log_events() if e.get("level") == "error"]


async def test_a_sentinel_failover_is_survived_without_a_restart(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """With REDIS_URL=redis+sentinel://… the bot uses the primary the Sentinel names; after the
    Sentinel promotes the replica, a follow-up in the same thread is answered with its history,
    by the same process."""
    with sentinel_group(tmp_path / "sentinel") as group:
        bot = bot_factory(REDIS_URL=group.url)
        await bot.start()
        claude.enqueue(TextReply("Noted before the failover."), TextReply("It was heliotrope."))
        root = await mention(slack, CHANNEL, USER, "remember the word heliotrope")
        await wait_for_final(slack, CHANNEL, root.ts, "Noted before the failover.")
        old_primary = group.primary_port()
        new_primary = await asyncio.to_thread(group.failover)
        assert new_primary != old_primary
        await mention(slack, CHANNEL, USER, "which word?", thread_ts=root.ts)
        await wait_for_final(slack, CHANNEL, root.ts, "It was heliotrope.", timeout=40)
        messages = claude.message_requests()[-1].body["messages"]
        assert "heliotrope" in repr(messages[0])
        assert bot.process is not None
        assert bot.process.returncode is None
        await bot.stop()


async def test_rediss_talks_tls_and_checks_the_certificate(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """REDIS_URL=rediss://…?ssl_ca_certs=<CA> reaches Redis over TLS (the endpoint saw the
    handshakes) and the bot answers; a server certificate the bot cannot verify (no CA given)
    stops it at start with one line naming REDIS_URL, the password never shown."""
    certificates = make_certificates(tmp_path / "tls")
    server = PasswordedServer("tls-only-pass", port=free_port(), data_dir=tmp_path / "redis")
    server.start()
    try:
        with tls_proxy(server.port, certificates) as proxy:
            base = f"rediss://:tls-only-pass@localhost:{proxy.port}/0"
            untrusted = bot_factory(REDIS_URL=base).environment()
            code, output = await run_to_exit(untrusted)
            assert code != 0
            assert output.strip().splitlines()[-1] == (
                "claude-slack-bot: Redis is not reachable (ConnectionError); check REDIS_URL."
            )
            assert "tls-only-pass" not in output
            bot = bot_factory(REDIS_URL=f"{base}?ssl_ca_certs={certificates.ca}")
            await bot.start()
            await _two_turns(slack, claude, "Noted over TLS.", "It was heliotrope.")
            assert proxy.handshakes >= 1
            await bot.stop()
    finally:
        server.stop()


async def test_a_cluster_node_that_may_evict_keys_is_refused(
    bot_factory: BotFactory, tmp_path: Path
) -> None:
    """A cluster whose primaries would evict keys under memory pressure stops the bot at start,
    naming each node's policy and the setting that allows it anyway."""
    with redis_cluster(tmp_path / "lru", **{"maxmemory-policy": "allkeys-lru"}) as cluster:
        code, output = await run_to_exit(bot_factory(REDIS_URL=cluster.url).environment())
    last = output.strip().splitlines()[-1]
    assert code != 0
    assert last.startswith("claude-slack-bot: Redis may evict the bot's keys (maxmemory-policy ")
    for port in cluster.ports:
        assert f"allkeys-lru on 127.0.0.1:{port}" in last
    assert last.endswith("or BOT_REDIS_ALLOW_EVICTION=true to start anyway.")
