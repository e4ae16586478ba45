"""/ask-code over a repository full of secrets: none reaches Claude, Slack or the logs.

The real bot, a git repository made here, the fake Slack and Claude. Fake secrets are built at
run time (tests.unit.test_askcode_secrets).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.fakes.claude_server import FakeClaude, TextReply, ToolUseReply
from testing.fakes.slack_server import FakeSlack
from testing.gitrepo import commit_files
from testing.harness import BotProcess, wait_for_final
from tests.unit.test_askcode_secrets import TOKENS, pem, pieces, rand
from tests.wire.conftest import CHANNEL, BotFactory
from tests.wire.test_ask_code import ask_code, everything_sent, start_bot

PEM_KEY = pem("RSA PRIVATE KEY")
GCP_KEY = pem("PRIVATE KEY", 12) + "\n"  # a short key: its JSON line is not "minified"
DENIED = {  # each denied-by-name file holds its own secret
    "kubeconfig": "token: kube-" + rand(40),
    "certs/AuthKey_ABC123.p8": pem("PRIVATE KEY", 4),
    "infra/prod.tfvars.json": '{"db_password": "tfvar-' + rand(32) + '"}',
    "k8s/secret.yaml": "kind: Secret\ndata:\n  password: " + rand(40) + "\n",
    ".docker/config.json": '{"auths": {"ghcr.io": {"auth": "' + rand(44) + '"}}}',
}
SECRETS = [PEM_KEY, GCP_KEY, *TOKENS.values(), *DENIED.values()]
FILES: dict[str, str | bytes] = {
    "README.md": "# Deploy\n\nScripts that deploy the service. See docs/tokens.md.\n",
    "notes/server-key.txt": "The old server key, kept for reference:\n" + PEM_KEY + "\n",
    "deploy/gcp.json": json.dumps(
        {
            "type": "service_account",
            "project_id": "demo-project",
            "private_key": GCP_KEY,
            "client_email": "builder@demo-project.iam.gserviceaccount.com",
        },
        indent=2,
    ),
    "docs/tokens.md": "".join(f"- {kind}: {token}\n" for kind, token in TOKENS.items()),
    **DENIED,
}


@pytest.fixture
def leaky(tmp_path: Path) -> Path:
    """A repository that holds every kind of secret /ask-code must not pass on."""
    repo = tmp_path / "payments"
    commit_files(repo, FILES)
    return repo


def leaked(text: str) -> list[str]:
    """The 20-character pieces of any of the secrets found in the text."""
    return [piece for secret in SECRETS for piece in pieces(secret) if piece in text]


def slack_text(slack: FakeSlack) -> str:
    """Everything the channel ever showed, every edit included."""
    return "\n".join(
        f"{m.text}\n{json.dumps(m.blocks)}\n" + "\n".join(text for _, text in m.edits)
        for m in slack.messages(CHANNEL)
    )


def assert_nothing_leaked(claude: FakeClaude, slack: FakeSlack, bot: BotProcess) -> None:
    """No piece of a secret in what Claude received, what Slack showed, or the bot's logs."""
    assert not leaked(everything_sent(claude)), "a secret reached Claude"
    assert not leaked(slack_text(slack)), "a secret reached Slack"
    assert not leaked(bot.log_text()), "a secret reached the logs"


async def test_whole_repository_carries_no_secret(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, leaky: Path
) -> None:
    """The whole repository goes to Claude with each token, the PEM key and the GCP key
    redacted in place and the denied files left out; nothing leaks to Slack or the logs."""
    bot = await start_bot(bot_factory, leaky)
    claude.enqueue(TextReply("The tokens are listed in docs/tokens.md:L1-L6."))
    root_ts = await ask_code(slack, "payments which tokens does the deploy use?")
    await wait_for_final(slack, CHANNEL, root_ts, "Read from")
    system = claude.message_requests()[0].body["system"]
    repo_text = "\n".join(block["text"] for block in system[1:])
    assert "1\t- github classic: [REDACTED]\n" in repo_text
    assert '<file path="deploy/gcp.json"' in repo_text
    assert '"private_key": "[REDACTED]\\n"' in repo_text
    assert "2\t[REDACTED]\n3\t[REDACTED]" in repo_text  # the key's lines, numbered as in git
    for path in DENIED:
        assert f'<file path="{path}"' not in repo_text
    assert_nothing_leaked(claude, slack, bot)


async def test_tools_return_no_secret(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, leaky: Path
) -> None:
    """In the tools mode, the map, the excerpts, search_code and read_file results carry no
    secret, and a denied file can't be read."""
    filler = "".join(f"def helper_{i}(x):\n    return x + {i}\n\n" for i in range(400))
    commit_files(leaky, {"src/helpers.py": filler}, "helpers")
    bot = await start_bot(bot_factory, leaky, ASK_CODE_CONTEXT_TOKENS="2000")
    claude.enqueue(
        ToolUseReply("search_code", {"pattern": "BEGIN|sk-|_pat_|glpat|npm_|ghp_"}),
        ToolUseReply("search_code", {"pattern": "classic|private_key"}),
        ToolUseReply("read_file", {"path": "docs/tokens.md"}),
        ToolUseReply("read_file", {"path": "deploy/gcp.json"}),
        ToolUseReply("read_file", {"path": "notes/server-key.txt"}),
        ToolUseReply("read_file", {"path": ".docker/config.json"}),
        TextReply("Done looking."),
    )
    root_ts = await ask_code(slack, "payments where are the private key and the tokens?")
    await wait_for_final(slack, CHANNEL, root_ts, "Done looking.")
    requests = claude.message_requests()
    assert "tools" in requests[0].body
    results = [r.body["messages"][-1]["content"][0]["content"] for r in requests[1:]]
    assert results[0] == "No matches."  # the secrets are not there to be found
    assert "docs/tokens.md:1: - github classic: [REDACTED]" in results[1]
    assert 'deploy/gcp.json:4: "private_key": "[REDACTED]\\n",' in results[1]
    assert results[2].startswith("docs/tokens.md lines 1-6 of 6\n1\t- github classic: [REDACTED]")
    assert '"private_key": "[REDACTED]\\n"' in results[3]
    assert "2\t[REDACTED]\n" in results[4]
    assert "it was left out" in results[5]
    assert_nothing_leaked(claude, slack, bot)
