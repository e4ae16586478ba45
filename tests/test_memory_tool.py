"""The memory tool's commands against a real Redis (embedded Valkey): paths checked, scopes kept
apart, the caps held, channel notes owned by their authors, deletions audited."""

from __future__ import annotations

from typing import Any

import pytest

from bot.governance.audit import AuditLog
from bot.storage.connect import RedisClient
from bot.tools.memory.files import Limits
from bot.tools.memory.provider import Place, offered
from bot.tools.memory.store import MemoryStore, Scope
from bot.tools.memory.tool import MemoryTool, Offered

TEAM = "T1"


class Privacy:
    """C1 public, C2 private, C9 unknown."""

    async def is_private(self, team: str, channel: str) -> bool | None:
        return {"C1": False, "C2": True}.get(channel)


async def _tool(
    redis_client: RedisClient,
    channel: str = "C1",
    user: str = "U1",
    *,
    admin: bool = False,
    **limits: int,
) -> MemoryTool:
    admins = frozenset({user}) if admin else frozenset()
    scopes = await offered(Place(TEAM, channel, user), Privacy(), admins)
    assert scopes is not None
    audit = AuditLog(redis_client, retention_seconds=3600)
    return MemoryTool(MemoryStore(redis_client, 3600), scopes, Limits(**limits), audit)


async def _run(tool: MemoryTool, **command: Any) -> tuple[str, bool]:
    output = await tool.run(command)
    return output.content[0]["text"], output.is_error


async def test_create_view_edit_and_delete_a_channel_note(redis_client: RedisClient) -> None:
    """A note is created, listed, read with line numbers, edited, inserted into and deleted;
    the results read like the SDK's reference implementation."""
    tool = await _tool(redis_client)
    path = "/memories/channel/deploys.md"
    text, error = await _run(tool, command="create", path=path, file_text="Deploys on Fridays.")
    assert (text, error) == (f"File created successfully at: {path}", False)
    listing, _ = await _run(tool, command="view", path="/memories")
    assert f"\t{path}" in listing
    assert "/memories/you/ is only for <@U1>" in listing
    edited, error = await _run(
        tool, command="str_replace", path=path, old_str="Fridays", new_str="Thursdays"
    )
    assert not error
    assert "Deploys on Thursdays." in edited
    _, error = await _run(tool, command="insert", path=path, insert_line=0, insert_text="# Ops")
    assert not error
    content, _ = await _run(tool, command="view", path=path)
    assert content.endswith("     1\t# Ops\n     2\tDeploys on Thursdays.\n     3\t")
    deleted, error = await _run(tool, command="delete", path=path)
    assert (deleted, error) == (f"Successfully deleted {path}", False)
    events = await AuditLog(redis_client, 3600).read(60)
    assert [(e.action, e.actor, e.fields["path"]) for e in events] == [
        ("memory.forget", "U1", path)
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/memories/../etc/passwd",
        "/memories/channel/../you/x",
        "/memories/channel/./x",
        "/memories/channel//x",
        "/memories/channel/.hidden",
        "/memories/channel/%2e%2e/x",
        "/memories/channel/a\\b",
        "/etc/passwd",
        "/memoriesX/channel/x",
        "/memories/other/x",
        "/memories/channel/a\x00b",
    ],
)
async def test_paths_that_escape_or_are_odd_are_refused(
    redis_client: RedisClient, path: str
) -> None:
    """Traversal, hidden, empty or odd segments and unknown folders are error results."""
    tool = await _tool(redis_client)
    _, error = await _run(tool, command="create", path=path, file_text="x")
    assert error
    assert await redis_client.keys("*memory*") == []


async def test_caps_per_file_and_per_scope(redis_client: RedisClient) -> None:
    """A file over the per-file cap and a scope over its cap are refused with what to do."""
    tool = await _tool(redis_client, file_chars=100, scope_chars=250)
    text, error = await _run(tool, command="create", path="/memories/you/a", file_text="x" * 101)
    assert error
    assert "at most 100" in text
    for name in ("a", "b"):
        path = f"/memories/you/{name}"
        _, error = await _run(tool, command="create", path=path, file_text="x" * 100)
        assert not error
    text, error = await _run(tool, command="create", path="/memories/you/c", file_text="x" * 60)
    assert error
    assert "at most 250" in text


async def test_channels_and_privacy_keep_memory_apart(redis_client: RedisClient) -> None:
    """A channel's notes are not seen in another channel; what a person noted in a private
    channel is not seen in a public one; an unknown channel gets no memory."""
    private = await _tool(redis_client, channel="C2")
    await _run(private, command="create", path="/memories/you/secret.md", file_text="private")
    await _run(private, command="create", path="/memories/channel/c2.md", file_text="c2 only")
    public = await _tool(redis_client, channel="C1")
    listing, _ = await _run(public, command="view", path="/memories")
    assert "secret.md" not in listing
    assert "c2.md" not in listing
    _, error = await _run(public, command="view", path="/memories/you/secret.md")
    assert error
    dm = await offered(Place(TEAM, "D1", "U1", is_direct_message=True), Privacy(), frozenset())
    assert dm is not None
    assert set(dm.scopes) == {"you"}
    assert dm.scopes["you"].private
    assert await offered(Place(TEAM, "C9", "U1"), Privacy(), frozenset()) is None


async def test_only_the_author_or_an_admin_changes_a_channel_note(
    redis_client: RedisClient,
) -> None:
    """Another person's channel note can't be edited or deleted (an admin's can); their own
    notes and new ones are fine."""
    ana = await _tool(redis_client, user="U1")
    await _run(ana, command="create", path="/memories/channel/a.md", file_text="by ana")
    bob = await _tool(redis_client, user="U2")
    text, error = await _run(bob, command="delete", path="/memories/channel/a.md")
    assert error
    assert "<@U1>" in text
    _, error = await _run(bob, command="create", path="/memories/channel/b.md", file_text="bob")
    assert not error
    admin = await _tool(redis_client, user="U3", admin=True)
    _, error = await _run(admin, command="delete", path="/memories/channel/a.md")
    assert not error


async def test_rename_stays_in_its_scope(redis_client: RedisClient) -> None:
    """A note moves within its folder; moving between channel and you is refused."""
    tool = await _tool(redis_client)
    await _run(tool, command="create", path="/memories/you/a.md", file_text="x")
    _, error = await _run(
        tool, command="rename", old_path="/memories/you/a.md", new_path="/memories/channel/a.md"
    )
    assert error
    _, error = await _run(
        tool, command="rename", old_path="/memories/you/a.md", new_path="/memories/you/n/b.md"
    )
    assert not error
    scope = Scope(TEAM, "user", "U1", private=False)
    assert set(await MemoryStore(redis_client, 3600).files(scope)) == {"n/b.md"}


async def test_bad_input_is_an_error_result(redis_client: RedisClient) -> None:
    """An unknown command or missing fields never raise: Claude reads what was wrong."""
    tool = await _tool(redis_client)
    for command in ({"command": "chmod"}, {"command": "create", "path": "/memories/you/x"}, {}):
        _, error = await _run(tool, **command)
        assert error


def test_offered_type() -> None:
    """Offered carries its scopes by folder name."""
    scope = Scope(TEAM, "user", "U1", private=True)
    assert Offered({"you": scope}, "here", "U1").scopes["you"].key == (
        "csb:v1:memory:{T1}:user:U1:private"
    )
    assert Scope.from_token(TEAM, scope.token) == scope
