"""The /ask-code service with the real git: work done once per (repository, commit) and off the
event loop, a bounded cache, checkouts keyed by location, and a list that fetches nothing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.askcode import service as service_module
from bot.askcode.context import Mode
from bot.askcode.graph import ImportGraph
from bot.askcode.repos import repo_spec
from bot.askcode.retrieve import Index
from bot.askcode.service import AskCodeOptions, AskCodeService
from bot.askcode.snapshot import Snapshot
from testing.gitrepo import commit_files


async def silent(_: str) -> None:
    """Progress nobody reads."""


def big_files(n: int, lines: int = 60) -> dict[str, str | bytes]:
    """n Python files of `lines` small functions each: over a 1,000-token budget."""
    return {
        f"pkg/mod_{i}.py": "".join(f"def f{i}_{j}(x):\n    return x + {j}\n" for j in range(lines))
        for i in range(n)
    }


def service_for(tmp_path: Path, repos: dict[str, Path], **options: int) -> AskCodeService:
    """A service over local repositories, in the tools mode (a 1,000-token budget)."""
    specs = {name: repo_spec(name, str(path)) for name, path in repos.items()}
    return AskCodeService(
        specs, AskCodeOptions(data_dir=tmp_path / "data", budget_tokens=1_000, **options)
    )


@pytest.fixture
def counted_builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The repositories whose search index was built, in order."""
    built: list[str] = []
    original = Index.build.__func__  # type: ignore[attr-defined]

    def build(cls: type[Index], snapshot: Snapshot, graph: ImportGraph | None = None) -> Index:
        built.append(snapshot.repo)
        result: Index = original(cls, snapshot, graph)
        return result

    monkeypatch.setattr(Index, "build", classmethod(build))
    return built


async def test_index_and_map_are_built_once_per_commit(
    tmp_path: Path, counted_builds: list[str]
) -> None:
    """Turns on the same commit, at once or later, share one snapshot, plan and index; the
    excerpts come from it."""
    repo = tmp_path / "big"
    commit_files(repo, big_files(20, lines=20))
    service = service_for(tmp_path, {"big": repo})
    first, second = await asyncio.gather(
        service.open("big", None, silent), service.open("big", None, silent)
    )
    third = await service.open("big", first.commit, silent)
    assert first.plan.mode is Mode.TOOLS
    assert counted_builds == ["big"]
    assert first.snapshot is second.snapshot is third.snapshot
    assert first.system_blocks == third.system_blocks
    assert "def f3_7" in await third.excerpts("what does f3_7 return?")
    assert counted_builds == ["big"]


async def test_the_cache_is_bounded(tmp_path: Path, counted_builds: list[str]) -> None:
    """Past the memory bound the least recently used repository is dropped (and built again
    when asked for); the newest one always stays."""
    repos = {name: tmp_path / name for name in ("one", "two")}
    for path in repos.values():
        commit_files(path, big_files(10))
    size = sum(len(text) for text in big_files(10).values())
    service = service_for(tmp_path, repos, cache_bytes=size + 1)
    await service.open("one", None, silent)
    await service.open("two", None, silent)
    await service.open("two", None, silent)
    assert counted_builds == ["one", "two"]
    await service.open("one", None, silent)
    assert counted_builds == ["one", "two", "one"]


async def test_preparing_a_large_repository_leaves_the_loop_free(tmp_path: Path) -> None:
    """Selecting, planning and indexing about 5 MB of code happens in worker threads: a 10 ms
    ticker beside it is never held up for a second (it was for seconds)."""
    repo = tmp_path / "large"
    commit_files(repo, big_files(250, lines=600))
    service = service_for(tmp_path, {"large": repo})
    lag = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal lag
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            lag = max(lag, time.perf_counter() - start - 0.01)

    task = asyncio.create_task(ticker())
    workspace = await service.open("large", None, silent)
    excerpts = await workspace.excerpts("what does f7_300 return?")
    done.set()
    await task
    assert "def f7_300" in excerpts
    assert lag < 1.0  # generous: tens of milliseconds


async def test_a_changed_location_is_fetched_at_once(tmp_path: Path) -> None:
    """After the name is pointed at another repository (a restart with new settings, same data
    directory), the next question reads the new one, refresh interval or not."""
    old, new = tmp_path / "old", tmp_path / "new"
    old_commit = commit_files(old, {"a.py": "OLD = 1\n"})
    new_commit = commit_files(new, {"a.py": "NEW = 2\n"})
    before = service_for(tmp_path, {"widgets": old}, refresh_seconds=3600)
    assert (await before.open("widgets", None, silent)).commit == old_commit
    after = service_for(tmp_path, {"widgets": new}, refresh_seconds=3600)
    workspace = await after.open("widgets", None, silent)
    assert workspace.commit == new_commit
    assert "NEW = 2" in "\n".join(workspace.system_blocks)
    pinned = await after.open("widgets", old_commit, silent)  # a thread of the old repository
    assert pinned.commit == new_commit


async def test_the_list_fetches_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`/ask-code list` reports each repository's last fetch without running a fetch."""
    repo = tmp_path / "demo"
    commit = commit_files(repo, {"a.py": "x = 1\n"})
    service = service_for(tmp_path, {"demo": repo, "other": repo}, refresh_seconds=0)
    await service.open("demo", None, silent)

    async def no_fetch(self: object) -> str:
        raise AssertionError("the list fetched")

    monkeypatch.setattr(service_module.Checkout, "fetch", no_fetch)
    statuses = await service.statuses()
    assert [(s.name, s.commit) for s in statuses] == [("demo", commit), ("other", None)]
