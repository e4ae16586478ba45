"""git as a hardened subprocess: bare shallow fetches, reading trees and blobs, nothing else.

Every call runs with no terminal prompts, no system or global config, no hooks, no fsmonitor, no
submodules, no LFS smudge, a protocol allowlist, a timeout and an output cap. URLs always follow
`--`. The checkout is a bare repository: no working tree is ever written.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.askcode.repos import RepoSpec, strip_credentials

HARDENING = (
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.fsmonitor=false",
    "-c", "core.askPass=",
    "-c", "credential.helper=",
    "-c", "submodule.recurse=false",
    "-c", "fetch.recurseSubmodules=false",
    "-c", "gc.auto=0",
    "-c", "maintenance.auto=false",
    "-c", "filter.lfs.smudge=",
    "-c", "filter.lfs.process=",
    "-c", "filter.lfs.required=false",
    "-c", "http.followRedirects=initial",
    "-c", "safe.directory=*",
)  # fmt: skip
HEAD_REF = "refs/askcode/head"
KEPT_COMMITS = 8  # older fetched commits stay readable (pinned by refs) for threads that use them
SHA = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")


class GitError(Exception):
    """A git call failed; the message is safe to show (no credentials)."""


class RepoTooLarge(GitError):
    """The repository is over the hard size cap."""


@dataclass(frozen=True)
class TreeEntry:
    """One tracked path at a commit (`git ls-tree -r -l`)."""

    path: str
    mode: str
    kind: str  # blob | commit (a submodule)
    oid: str
    size: int  # -1 for a submodule


def git_env(protocols: str) -> dict[str, str]:
    """The environment of every git call: nothing interactive, nothing from the user's config."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/nonexistent"),
        "LANG": "C",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "true",
        "SSH_ASKPASS": "true",
        "GIT_SSH_COMMAND": "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_LFS_SKIP_SMUDGE": "1",
        "GIT_ALLOW_PROTOCOL": protocols,
        "GIT_NO_REPLACE_OBJECTS": "1",
    }


class Git:
    """Runs git against one bare repository directory."""

    def __init__(self, git_dir: Path, protocols: str, timeout: float) -> None:
        self.git_dir = git_dir
        self._env = git_env(protocols)
        self._timeout = timeout

    async def run(
        self,
        *args: str,
        stdin: bytes | None = None,
        max_bytes: int = 64 * 1024 * 1024,
        watch_bytes: int | None = None,
    ) -> bytes:
        """git <args> in the bare repository; its stdout. Raises GitError (timeout, exit code,
        output over max_bytes) and RepoTooLarge (objects on disk over watch_bytes)."""
        process = await asyncio.create_subprocess_exec(
            "git",
            *HARDENING,
            f"--git-dir={self.git_dir}",
            *args,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._env,
            start_new_session=True,  # the whole group is killed on timeout (ssh, helpers)
        )
        watcher = None
        if watch_bytes is not None:
            watcher = asyncio.create_task(self._watch_size(process, watch_bytes))
        try:
            out, err = await asyncio.wait_for(
                _communicate(process, stdin, max_bytes), self._timeout
            )
        except TimeoutError:
            _kill(process)
            await process.wait()
            raise GitError(f"git {args[0]} took longer than {self._timeout:.0f} s") from None
        finally:
            if watcher is not None:
                watcher.cancel()
        if watcher is not None and watcher.done() and not watcher.cancelled():
            raise RepoTooLarge("the repository is larger than the size cap")
        if process.returncode != 0:
            raise GitError(_first_error(err, args[0]))
        return out

    async def _watch_size(self, process: asyncio.subprocess.Process, cap: int) -> None:
        """Kill the process when the objects it writes pass the cap (returns only then)."""
        while process.returncode is None:
            if directory_bytes(self.git_dir / "objects") > cap:
                _kill(process)
                return
            await asyncio.sleep(0.25)
        await asyncio.Event().wait()  # finished under the cap: wait to be cancelled


async def _communicate(
    process: asyncio.subprocess.Process, stdin: bytes | None, max_bytes: int
) -> tuple[bytes, bytes]:
    """stdout (capped) and stderr of a process, feeding stdin concurrently."""
    assert process.stdout is not None  # noqa: S101  # both are PIPEs (see run)
    assert process.stderr is not None  # noqa: S101

    async def feed() -> None:
        if stdin is not None and process.stdin is not None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                process.stdin.write(stdin)
                await process.stdin.drain()
                process.stdin.close()

    async def read_out() -> bytes:
        chunks: list[bytes] = []
        size = 0
        while chunk := await process.stdout.read(1 << 16):  # type: ignore[union-attr]
            size += len(chunk)
            if size > max_bytes:
                _kill(process)
                raise GitError("git printed more than the output cap")
            chunks.append(chunk)
        return b"".join(chunks)

    _, out, err = await asyncio.gather(feed(), read_out(), process.stderr.read())
    await process.wait()
    return out, err


def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _first_error(stderr: bytes, command: str) -> str:
    """git's own error line (fatal:/error:), credentials stripped, or a generic line."""
    for line in stderr.decode(errors="replace").splitlines():
        line = line.strip()
        if line.startswith(("fatal:", "error:")):
            words = [strip_credentials(word) for word in line.split()]
            return " ".join(words)[:300]
    return f"git {command} failed"


def directory_bytes(path: Path) -> int:
    """Bytes of the files under a directory (0 when it does not exist)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def location_key(spec: RepoSpec) -> str:
    """A directory name for the repository's location: a checkout belongs to a name AND the URL
    it was fetched from, so pointing a name elsewhere starts from an empty checkout."""
    return hashlib.sha256(spec.url.encode()).hexdigest()[:16]


class Checkout:
    """A bare, shallow copy of one repository under the data directory, at
    `<root>/<name>/<location key>/`."""

    def __init__(self, spec: RepoSpec, root: Path, timeout: float, max_bytes: int) -> None:
        self.spec = spec
        self.directory = root / spec.name / location_key(spec)
        self.git = Git(self.directory / "repo.git", spec.protocol, timeout)
        self._stamp = self.directory / "fetched"
        self._max_bytes = max_bytes

    def age_seconds(self) -> float | None:
        """Seconds since the last successful fetch (None: never fetched)."""
        try:
            return time.time() - self._stamp.stat().st_mtime
        except OSError:
            return None

    async def head(self) -> str | None:
        """The commit of the last fetch, or None."""
        if not (self.git.git_dir / "HEAD").exists():
            return None
        try:
            out = await self.git.run("rev-parse", "--verify", "--quiet", HEAD_REF)
        except GitError:
            return None
        return out.decode().strip() or None

    async def fetch(self) -> str:
        """Fetch the remote's HEAD (depth 1, no tags) and pin it; the commit fetched."""
        git_dir = self.git.git_dir
        if not (git_dir / "HEAD").exists():
            git_dir.mkdir(parents=True, exist_ok=True)
            await self.git.run("init", "--bare", "--quiet", str(git_dir))
        await self.git.run(
            "fetch",
            "--depth=1",
            "--no-tags",
            "--no-recurse-submodules",
            "--no-write-fetch-head",
            "--quiet",
            "--",
            self.spec.url,
            f"+HEAD:{HEAD_REF}",
            watch_bytes=self._max_bytes,
        )
        commit = (await self.git.run("rev-parse", "--verify", HEAD_REF)).decode().strip()
        await self.git.run("update-ref", f"refs/askcode/commits/{commit}", commit)
        await self._prune_pins(commit)
        await self._check_size()
        self._stamp.touch()
        return commit

    async def _check_size(self) -> None:
        """RepoTooLarge when the objects on disk pass the cap, even after dropping what no
        pinned commit needs any more."""
        objects = self.git.git_dir / "objects"
        if directory_bytes(objects) <= self._max_bytes:
            return
        await self.git.run("gc", "--prune=now", "--quiet")
        if directory_bytes(objects) > self._max_bytes:
            raise RepoTooLarge("the repository is larger than the size cap")

    async def _prune_pins(self, newest: str) -> None:
        out = await self.git.run(
            "for-each-ref", "--sort=-creatordate", "--format=%(refname)", "refs/askcode/commits/"
        )
        refs = [r for r in out.decode().split() if not r.endswith(newest)]
        for ref in refs[KEPT_COMMITS - 1 :]:
            await self.git.run("update-ref", "-d", ref)

    async def has_commit(self, commit: str) -> bool:
        """True when this commit's tree can still be read."""
        if not SHA.match(commit):
            return False
        try:
            await self.git.run("cat-file", "-e", f"{commit}^{{tree}}")
        except GitError:
            return False
        return True

    async def tree(self, commit: str) -> list[TreeEntry]:
        """Every tracked path of the commit, with sizes."""
        out = await self.git.run("ls-tree", "-r", "-l", "-z", "--full-tree", commit)
        return await asyncio.to_thread(parse_ls_tree, out)

    async def blobs(self, oids: Sequence[str], max_bytes: int) -> dict[str, bytes]:
        """The contents of these blobs (one `git cat-file --batch` call)."""
        if not oids:
            return {}
        stdin = "".join(f"{oid}\n" for oid in oids).encode()
        out = await self.git.run("cat-file", "--batch", stdin=stdin, max_bytes=max_bytes)
        return await asyncio.to_thread(parse_batch, out)


def parse_ls_tree(out: bytes) -> list[TreeEntry]:
    """`ls-tree -r -l -z` output into entries."""
    entries = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, kind, oid, size = meta.decode().split()
        entries.append(
            TreeEntry(
                path=raw_path.decode(errors="replace"),
                mode=mode,
                kind=kind,
                oid=oid,
                size=int(size) if size.isdigit() else -1,
            )
        )
    return entries


def parse_batch(out: bytes) -> dict[str, bytes]:
    """`cat-file --batch` output (`<oid> <type> <size>\\n<content>\\n` ...) by oid."""
    blobs: dict[str, bytes] = {}
    at = 0
    while at < len(out):
        end = out.index(b"\n", at)
        header = out[at:end].decode().split()
        at = end + 1
        if len(header) != 3:  # "<oid> missing"
            continue
        size = int(header[2])
        blobs[header[0]] = out[at : at + size]
        at += size + 1
    return blobs
