"""/ask-code's text parsing and listing, and `python -m bot ask-code-context`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.askcode.repos import RepoConfigError, parse_repos, with_links
from bot.askcode.service import RepoStatus
from bot.slack.handlers.ask_code import AskCode, Listing, parse_ask_code, repo_list_text
from testing.gitrepo import commit_files


def test_parse_with_several_repositories() -> None:
    """A known name takes the rest as the question; `list` lists; an unknown name lists."""
    names = ["api", "web"]
    assert parse_ask_code("api where is auth?", names) == AskCode("api", "where is auth?")
    assert parse_ask_code("list", names) == Listing()
    assert parse_ask_code("billing why?", names) == Listing(unknown="billing")
    assert "after the repository name" in str(parse_ask_code("web", names))
    assert "`/ask-code list`" in str(parse_ask_code("  ", names))


def test_parse_with_one_repository_may_omit_the_name() -> None:
    """With one repository configured, the whole text is the question."""
    assert parse_ask_code("how is auth done?", ["api"]) == AskCode("api", "how is auth done?")
    assert parse_ask_code("api how?", ["api"]) == AskCode("api", "how?")


def test_root_message_escapes_control_characters() -> None:
    """The thread root shows the question as typed, Slack's control characters escaped."""
    assert AskCode("api", "a <b> & c").root("U1") == "<@U1> asked about *api*: a &lt;b&gt; &amp; c"


def test_listing_shows_commits_and_problems() -> None:
    """Each repository with its commit, or why it can't be read."""
    text = repo_list_text(
        [RepoStatus("api", "/srv/api", "0123456789abcdef"), RepoStatus("x", "/x", None, "gone")],
        unknown="nope",
    )
    assert "`nope`" in text
    assert "• `api` — /srv/api at `0123456789`" in text
    assert "• `x` — /x not fetched yet :warning: gone" in text


def test_links_for_local_mirrors() -> None:
    """ASK_CODE_LINKS gives a local mirror its web page; unknown names and hosts are refused."""
    repos = with_links(parse_repos("api=/srv/api"), "api=https://github.com/acme/api")
    assert repos["api"].link_base == "https://github.com/acme/api"
    with pytest.raises(RepoConfigError):
        with_links(repos, "web=https://github.com/acme/web")
    with pytest.raises(RepoConfigError):
        with_links(repos, "api=https://example.com/acme/api")


def test_inspection_command_prints_the_context(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ask-code-context --json: the mode, the files with line ranges and the token count."""
    repo = tmp_path / "demo"
    commit = commit_files(repo, {"README.md": "# Demo\n", "app.py": "x = 1\ny = 2\n"})
    with pytest.raises(SystemExit) as done:
        main(["ask-code-context", str(repo), "what is x?", "--budget", "5000", "--json"])
    assert done.value.code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["commit"] == commit
    assert report["mode"] == "whole"
    assert report["files"] == [
        {"path": "README.md", "start_line": 1, "end_line": 1},
        {"path": "app.py", "start_line": 1, "end_line": 2},
    ]
    assert 0 < report["tokens"]["total"] <= 5000


def test_inspection_command_on_a_missing_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A path that is no repository: exit 1 with one line."""
    with pytest.raises(SystemExit) as done:
        main(["ask-code-context", str(tmp_path / "nope"), "q"])
    assert done.value.code == 1
    assert "couldn't fetch" in capsys.readouterr().err
