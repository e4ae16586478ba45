"""The configured repositories, fetched when stale and planned per commit (the CodeRepos port)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import structlog

from bot.askcode.context import Budget, Mode
from bot.askcode.git import Checkout, GitError, RepoTooLarge
from bot.askcode.repos import RepoSpec
from bot.askcode.retrieve import Index
from bot.askcode.snapshot import Limits, Snapshot, build_snapshot, load_cached, save_cached
from bot.askcode.workspace import Plan, RepoWorkspace, TokenCounter, counts_whole, plan
from bot.conversation.errors import CodeUnavailable
from bot.conversation.ports import Progress

log = structlog.get_logger("bot.askcode")

KEPT_REPOSITORIES = 8  # prepared (repository, commit) pairs kept in memory, at most


@dataclass(frozen=True)
class AskCodeOptions:
    """The knobs of /ask-code, from the settings."""

    data_dir: Path
    budget_tokens: int = 100_000
    refresh_seconds: float = 600.0
    max_repo_bytes: int = 200 * 1024 * 1024
    max_file_bytes: int = 256 * 1024
    git_timeout_seconds: float = 120.0
    max_tool_rounds: int = 8
    cache_bytes: int = 64 * 1024 * 1024  # text of the repositories kept prepared in memory


@dataclass(frozen=True)
class RepoStatus:
    """One line of `/ask-code list`."""

    name: str
    location: str
    commit: str | None  # of the last fetch (None: not fetched yet)
    problem: str | None = None


async def _silent(_: str) -> None:
    return None


@dataclass(frozen=True)
class Prepared:
    """A repository at one commit, ready for turns: its snapshot, its plan, and (in the tools
    mode) its search index; built once, off the event loop, and shared by every turn."""

    snapshot: Snapshot
    plan: Plan
    index: Index | None
    recount: bool  # the token count failed: plan again on the next turn
    size: int  # what the cache bound counts: the characters of the snapshot's files


class AskCodeService:
    """Fetches, selects, redacts and plans the configured repositories."""

    def __init__(
        self,
        repos: dict[str, RepoSpec],
        options: AskCodeOptions,
        counter: TokenCounter | None = None,
    ) -> None:
        self.repos = repos
        self.options = options
        self._counter = counter
        root = options.data_dir / "askcode"
        self._checkouts = {
            name: Checkout(spec, root, options.git_timeout_seconds, options.max_repo_bytes)
            for name, spec in repos.items()
        }
        self._locks = {name: asyncio.Lock() for name in repos}
        self._preparing = {name: asyncio.Lock() for name in repos}
        self._problems: dict[str, str] = {}  # why the last fetch failed, by repository
        self._prepared: OrderedDict[tuple[str, str], Prepared] = OrderedDict()
        self._cache_dir = root

    @property
    def names(self) -> list[str]:
        """The configured repository names, in configuration order."""
        return list(self.repos)

    async def latest(self, name: str, progress: Progress = _silent) -> str:
        """The repository's current commit, fetched when older than the refresh age."""
        checkout = self._checkouts[name]
        async with self._locks[name]:
            age = checkout.age_seconds()
            head = await checkout.head()
            if head is not None and age is not None and age < self.options.refresh_seconds:
                return head
            await progress(f"Fetching `{name}`…")
            try:
                commit = await checkout.fetch()
            except RepoTooLarge:
                self._problems[name] = self._too_large(name)
                raise CodeUnavailable(self._too_large(name)) from None
            except GitError as exc:
                self._problems[name] = f"the last fetch failed ({exc})"
                if head is None:
                    log.warning("askcode.fetch_failed", repo=name, error=str(exc))
                    raise CodeUnavailable(
                        f"I couldn't fetch `{name}` ({exc}). Ask the bot's operator to check "
                        "ASK_CODE_REPOS and the bot's access to it."
                    ) from None
                log.warning("askcode.refresh_failed", repo=name, error=str(exc), using=head)
                return head
            self._problems.pop(name, None)
            return commit

    def _too_large(self, name: str) -> str:
        mb = self.options.max_repo_bytes // (1024 * 1024)
        return f"`{name}` is larger than the size cap ({mb} MB), so I can't read it."

    async def snapshot(self, name: str, commit: str, progress: Progress = _silent) -> Snapshot:
        """The selected, redacted files of the commit (cached on disk)."""
        cache = self._cache_dir / name / f"snapshot-{commit}.json"
        snapshot = await asyncio.to_thread(load_cached, cache, commit)
        if snapshot is None:
            await progress(f"Reading `{name}` at `{commit[:10]}`…")
            limits = Limits(self.options.max_file_bytes, self.options.max_repo_bytes)
            try:
                snapshot = await build_snapshot(self._checkouts[name], commit, limits)
            except RepoTooLarge:
                raise CodeUnavailable(self._too_large(name)) from None
            except GitError as exc:
                raise CodeUnavailable(f"I couldn't read `{name}` ({exc}).") from None
            await asyncio.to_thread(save_cached, cache, snapshot)
        return snapshot

    async def prepared(self, name: str, commit: str, progress: Progress = _silent) -> Prepared:
        """The commit's snapshot, plan and index: from memory, else built (once, whatever the
        turns asking at the same time) and kept within the cache bound."""
        key = (name, commit)
        async with self._preparing[name]:
            cached = self._prepared.get(key)
            if cached is not None and not cached.recount:
                self._prepared.move_to_end(key)
                return cached
            snapshot = cached.snapshot if cached else await self.snapshot(name, commit, progress)
            prepared = await self._prepare(snapshot, progress)
            self._prepared[key] = prepared
            self._prepared.move_to_end(key)
            self._evict()
            return prepared

    async def _prepare(self, snapshot: Snapshot, progress: Progress) -> Prepared:
        budget = Budget(self.options.budget_tokens)
        counted = snapshot.tokens.copy()
        if self._counter is not None and not counted:
            await progress("Counting tokens…")
        chosen = await plan(snapshot, budget, self._safe_counter())
        if snapshot.tokens != counted:
            cache = self._cache_dir / snapshot.repo / f"snapshot-{snapshot.commit}.json"
            await asyncio.to_thread(save_cached, cache, snapshot)
        index = None
        if chosen.mode is Mode.TOOLS:
            index = await asyncio.to_thread(Index.build, snapshot, chosen.graph)
        recount = self._counter is not None and counts_whole(snapshot, budget, chosen.whole_tokens)
        size = sum(len(f.text) for f in snapshot.files)
        return Prepared(snapshot, chosen, index, recount, size)

    def _evict(self) -> None:
        """Drop the least recently used entries past the bound (the newest always stays)."""
        while len(self._prepared) > 1 and (
            len(self._prepared) > KEPT_REPOSITORIES
            or sum(p.size for p in self._prepared.values()) > self.options.cache_bytes
        ):
            self._prepared.popitem(last=False)

    async def open(self, repo: str, commit: str | None, progress: Progress) -> RepoWorkspace:
        """The repository at `commit` (None, or a commit no longer readable: the latest)."""
        if repo not in self.repos:
            known = ", ".join(f"`{n}`" for n in self.names) or "none"
            raise CodeUnavailable(
                f"I don't know a repository named `{repo}` (configured: {known})."
            )
        if commit is None or not await self._checkouts[repo].has_commit(commit):
            commit = await self.latest(repo, progress)
        prepared = await self.prepared(repo, commit, progress)
        snapshot, chosen = prepared.snapshot, prepared.plan
        log.info(
            "askcode.open",
            repo=repo,
            commit=commit,
            mode=chosen.mode.value,
            tokens=chosen.tokens,
            whole_tokens=chosen.whole_tokens,
            counted=chosen.counted,
            files=len(snapshot.files),
            redactions=snapshot.redactions,
        )
        budget = Budget(self.options.budget_tokens)
        return RepoWorkspace(
            self.repos[repo], snapshot, chosen, budget, self.options.max_tool_rounds, prepared.index
        )

    def _safe_counter(self) -> TokenCounter | None:
        return None if self._counter is None else _FailSoftCounter(self._counter)

    async def statuses(self) -> list[RepoStatus]:
        """Every repository with the commit of its last fetch, for `/ask-code list` (fetches
        nothing: a list anyone allowed can ask for must not start git on every repository)."""

        async def one(name: str) -> RepoStatus:
            head = await self._checkouts[name].head()
            problem = self._problems.get(name)
            return RepoStatus(name, self.repos[name].display_location, head, problem)

        return list(await asyncio.gather(*(one(name) for name in self.names)))


@dataclass
class _FailSoftCounter:
    """A counter that never fails a turn: on any error the estimate is used (returns -1)."""

    inner: TokenCounter

    async def count(self, system: list[str]) -> int:
        try:
            return await self.inner.count(system)
        except Exception as exc:  # the counting endpoint is an optimisation, never a blocker
            log.warning("askcode.count_failed", error=type(exc).__name__)
            return -1
