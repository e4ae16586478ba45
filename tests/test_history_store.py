"""A conversation's stored history against a real Redis (embedded Valkey): the turn use case
with the Redis store appends only the new messages and trims what no window can send, so a
long-lived thread (a DM's top level) stays bounded however many turns it has."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator

import pytest

from bot.conversation.messages import Container, Question, ThreadKey
from bot.conversation.turn import TurnSettings, answer_question
from bot.conversation.window import message_tokens, starts_a_turn
from bot.slack.handlers.inbound import DM_TOP_LEVEL
from bot.storage.connect import RedisClient, close_redis, connect_url
from bot.storage.key_layout import thread_key
from bot.storage.redis_store import RedisThreadStore
from tests.unit.test_turn import MemoryStore, RecordingSink, ScriptedModel, _deps

DM = ThreadKey("T1", "D1", DM_TOP_LEVEL)
BUDGET = 4000  # tokens any window of this bot may send
TURNS = 200


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[RedisClient]:
    connection = connect_url(redis_url)
    await connection.flushall()
    yield connection
    await close_redis(connection)


def _question(n: int) -> Question:
    text = f"question {n}: " + "tell me more about the deploy plan " * 5
    return Question(DM, "U1", text, f"{1000 + n}.0", True, None, feature="dm")


async def test_a_dm_top_level_stays_bounded_over_many_turns(client: RedisClient) -> None:
    """200 DM turns: the stored list never holds more than a window can send (whole
    exchanges, starting with a user turn), the newest turns are all there, and the meta counts
    what was let go."""
    store = RedisThreadStore(client, ttl_seconds=3600)
    base = _deps(ScriptedModel(["x"]), MemoryStore())
    settings = dataclasses.replace(base.settings, input_budget_by_tier={"sonnet": BUDGET})
    deps = dataclasses.replace(base, store=store, settings=settings)
    history_key = thread_key(DM, "history")
    lengths = []
    for n in range(TURNS):
        model = ScriptedModel([f"answer {n}: " + "the plan has three steps. " * 12])
        turn = dataclasses.replace(deps, model=model)
        outcome = await answer_question(_question(n), "Ana", RecordingSink(), turn)
        assert outcome.answered
        lengths.append(await client.llen(history_key))
    stored = [json.loads(item) for item in await client.lrange(history_key, 0, -1)]
    assert sum(message_tokens(m) for m in stored) <= BUDGET
    assert starts_a_turn(stored[0])
    assert stored[-2]["content"][-1]["text"].startswith(f"question {TURNS - 1}:")
    assert max(lengths) == max(lengths[-50:]), "the length stopped growing"
    assert max(lengths) < 50, "about 21 exchanges of ~190 tokens fit 4,000 tokens"
    trimmed = int(await client.hget(thread_key(DM, "meta"), "trimmed") or 0)
    assert trimmed + len(stored) == 2 * TURNS


def test_turn_settings_keep_what_the_largest_window_sends() -> None:
    """The stored history's token limit is the largest tier's input budget."""
    settings = TurnSettings(
        system_prompt="s",
        max_tokens=1,
        models_by_tier={},
        model_variables={},
        edit_policy=_deps(ScriptedModel([]), MemoryStore()).settings.edit_policy,
        thinking_by_tier={},
        display_names={},
        input_budget_by_tier={"haiku": 150, "sonnet": 900, "opus": 400},
    )
    assert settings.history_tokens == 900
    assert dataclasses.replace(settings, input_budget_by_tier={}).history_tokens is None


async def test_a_threads_code_execution_container_is_kept_with_its_turn(
    client: RedisClient,
) -> None:
    """The container an answer used is stored with its turn and loaded back (id and expiry);
    a later turn without one keeps it; a newer one replaces it."""
    store = RedisThreadStore(client, ttl_seconds=3600)
    key = ThreadKey("T1", "C1", "5.0")
    user, answer = {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}
    first = Container("container_a", 1_900_000_000.5)
    await store.append_turn(key, user, answer, last_seen_ts="5.0", container=first)
    assert (await store.load(key)).container == first
    await store.append_turn(key, user, answer, last_seen_ts="6.0")
    assert (await store.load(key)).container == first
    second = Container("container_b", 1_900_000_100.0)
    await store.append_turn(key, user, answer, last_seen_ts="7.0", container=second)
    assert (await store.load(key)).container == second
    assert (await store.load(ThreadKey("T1", "C1", "9.0"))).container is None
