"""Bare shallow checkouts with the real git, snapshots, and the service around them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.askcode.context import Mode
from bot.askcode.git import Checkout, GitError, RepoTooLarge, git_env
from bot.askcode.repos import repo_spec
from bot.askcode.service import AskCodeOptions, AskCodeService
from bot.askcode.snapshot import Limits, build_snapshot
from bot.conversation.errors import CodeUnavailable
from testing.gitrepo import commit_files, git

FILES: dict[str, str | bytes] = {
    "README.md": "# Demo\n\nA demo service.\n",
    "src/app.py": "def handler(event):\n    return 'zebra-quokka-42'\n",
    ".env": "DATABASE_PASSWORD=correct-horse-battery-staple-9\n",
    "logo.png": b"\x89PNG\r\n\x1a\n\0\0\0IHDR",
    "package-lock.json": "{}\n",
    "config.py": 'TOKEN = "ghp_4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e"\n',
}


@pytest.fixture
def source(tmp_path: Path) -> tuple[Path, str]:
    """A small repository with a secret file, a binary and a lockfile."""
    repo = tmp_path / "source"
    return repo, commit_files(repo, FILES)


async def test_fetch_is_bare_shallow_and_pinned(tmp_path: Path, source: tuple[Path, str]) -> None:
    """The checkout has no working tree, depth 1, and the fetched commit is the source's HEAD."""
    repo, head = source
    commit_files(repo, {"src/more.py": "x = 1\n"}, "second")
    head = git(repo, "rev-parse", "HEAD")
    checkout = Checkout(repo_spec("demo", str(repo)), tmp_path / "data", 30, 50 * 1024 * 1024)
    assert checkout.age_seconds() is None
    assert await checkout.fetch() == head
    git_dir = checkout.directory / "repo.git"
    assert checkout.directory.parent == tmp_path / "data" / "demo"
    assert (git_dir / "shallow").read_text().strip() == head
    assert not (checkout.directory / "src").exists()
    assert await checkout.head() == head
    assert await checkout.has_commit(head)
    assert not await checkout.has_commit("0" * 40)
    assert (checkout.age_seconds() or 0) < 60


async def test_snapshot_selects_and_redacts(tmp_path: Path, source: tuple[Path, str]) -> None:
    """Text files are read; .env, the binary and the lockfile are left out; secrets redacted."""
    repo, head = source
    checkout = Checkout(repo_spec("demo", str(repo)), tmp_path / "data", 30, 50 * 1024 * 1024)
    await checkout.fetch()
    snapshot = await build_snapshot(checkout, head, Limits())
    assert sorted(snapshot.by_path) == ["README.md", "config.py", "src/app.py"]
    assert snapshot.skipped == {
        "secret": [".env"],
        "binary": ["logo.png"],
        "lockfile": ["package-lock.json"],
    }
    assert "zebra-quokka-42" in snapshot.by_path["src/app.py"].text
    assert "ghp_4f9a" not in snapshot.by_path["config.py"].text
    assert snapshot.redactions == 1
    assert ".env" in snapshot.tracked


async def test_size_cap_refuses_a_large_repository(
    tmp_path: Path, source: tuple[Path, str]
) -> None:
    """Tracked blobs over the hard cap: RepoTooLarge, before anything is read."""
    repo, head = source
    checkout = Checkout(repo_spec("demo", str(repo)), tmp_path / "data", 30, 50 * 1024 * 1024)
    await checkout.fetch()
    with pytest.raises(RepoTooLarge):
        await build_snapshot(checkout, head, Limits(max_repo_bytes=50))


async def test_fetch_over_the_size_cap_is_refused(tmp_path: Path, source: tuple[Path, str]) -> None:
    """A fetch whose objects pass the cap raises RepoTooLarge."""
    repo, _ = source
    checkout = Checkout(repo_spec("demo", str(repo)), tmp_path / "data", 30, 100)
    with pytest.raises(RepoTooLarge):
        await checkout.fetch()
    assert checkout.age_seconds() is None


async def test_fetch_failure_and_protocol_allowlist(
    tmp_path: Path, source: tuple[Path, str]
) -> None:
    """A missing repository fails with git's message; a protocol outside the spec's is refused."""
    missing = Checkout(repo_spec("gone", str(tmp_path / "nope")), tmp_path / "data", 30, 1 << 30)
    with pytest.raises(GitError, match="fatal"):
        await missing.fetch()
    repo, _ = source
    spec = repo_spec("demo", str(repo))
    sneaky = Checkout(
        type(spec)(spec.name, spec.location, spec.url, "https"), tmp_path / "d2", 30, 1 << 30
    )
    with pytest.raises(GitError, match="transport 'file' not allowed"):
        await sneaky.fetch()


def test_git_environment_is_hardened() -> None:
    """No prompts, no user or system config, no LFS smudge, only the allowed protocols."""
    env = git_env("https")
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert env["GIT_LFS_SKIP_SMUDGE"] == "1"
    assert env["GIT_ALLOW_PROTOCOL"] == "https"


async def test_service_opens_whole_and_caches(tmp_path: Path, source: tuple[Path, str]) -> None:
    """A small repository is planned whole; the snapshot is cached on disk per commit."""
    repo, head = source
    service = AskCodeService(
        {"demo": repo_spec("demo", str(repo))}, AskCodeOptions(data_dir=tmp_path / "data")
    )
    seen: list[str] = []

    async def progress(text: str) -> None:
        seen.append(text)

    workspace = await service.open("demo", None, progress)
    assert workspace.commit == head
    assert workspace.plan.mode is Mode.WHOLE
    assert workspace.tools == ()
    assert seen[0] == "Fetching `demo`…"
    assert (tmp_path / "data" / "askcode" / "demo" / f"snapshot-{head}.json").exists()
    joined = "\n".join(workspace.system_blocks)
    assert "zebra-quokka-42" in joined
    assert "correct-horse" not in joined
    again = await service.open("demo", head, progress)
    assert again.system_blocks == workspace.system_blocks
    assert len(seen) == 2  # the second open fetched and read nothing


async def test_service_messages(tmp_path: Path) -> None:
    """Unknown names and unfetchable repositories raise CodeUnavailable with a clear message."""
    service = AskCodeService(
        {"gone": repo_spec("gone", str(tmp_path / "nope"))},
        AskCodeOptions(data_dir=tmp_path / "data"),
    )

    async def progress(text: str) -> None:
        return None

    with pytest.raises(CodeUnavailable, match="don't know a repository named `x`"):
        await service.open("x", None, progress)
    with pytest.raises(CodeUnavailable, match="couldn't fetch `gone`"):
        await service.open("gone", None, progress)
    statuses = await service.statuses()
    assert statuses[0].commit is None
    assert "the last fetch failed" in (statuses[0].problem or "")
