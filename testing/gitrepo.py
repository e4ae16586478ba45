"""Makes small git repositories for tests (the real git, one commit per call)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(repo: Path, *args: str) -> str:
    """Run git in the repository; its stdout."""
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(  # noqa: S603  # a fixed git command line in tests
        ["git", "-C", str(repo), *args],  # noqa: S607
        check=True,
        capture_output=True,
        env=env,
    )
    return done.stdout.decode().strip()


def commit_files(repo: Path, files: dict[str, str | bytes], message: str = "files") -> str:
    """Write the files (creating the repository on first use), commit them; the commit id."""
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        git(repo, "init", "--quiet", "--initial-branch=main")
    for path, content in files.items():
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")
