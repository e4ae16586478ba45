"""/ask-code's text: which repository, which question, and the repository list (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.askcode.service import RepoStatus


@dataclass(frozen=True)
class AskCode:
    """A question about one repository."""

    repo: str
    question: str

    def root(self, user: str) -> str:
        """The thread's root message."""
        text = self.question.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return f"<@{user}> asked about *{self.repo}*: {text}"


@dataclass(frozen=True)
class Listing:
    """`/ask-code list`, or a repository name the bot does not know."""

    unknown: str | None = None


def usage(names: list[str]) -> str:
    """What an empty /ask-code gets back."""
    example = names[0] if names else "api"
    repos = ", ".join(f"`{n}`" for n in names)
    hint = f"`/ask-code {example} where are requests retried?`"
    if len(names) == 1:
        hint = "`/ask-code where are requests retried?`"
    return f"Ask about a repository ({repos}), e.g. {hint}. `/ask-code list` shows them."


def parse_ask_code(text: str, names: list[str]) -> AskCode | Listing | str:
    """The command's meaning; a string is an ephemeral reply (usage or an empty question). With
    one repository configured the name may be left out."""
    text = text.strip()
    if not text:
        return usage(names)
    first, _, rest = text.partition(" ")
    if first.lower() == "list" and not rest.strip():
        return Listing()
    if first in names:
        if not rest.strip():
            example = f"`/ask-code {first} how is auth done?`"
            return f"Ask a question after the repository name, e.g. {example}"
        return AskCode(first, rest.strip())
    if len(names) == 1:
        return AskCode(names[0], text)
    return Listing(unknown=first)


def repo_list_text(statuses: list[RepoStatus], unknown: str | None = None) -> str:
    """The repositories with the commit each is at, and why one can't be read."""
    lines = []
    if unknown is not None:
        lines.append(f"I don't know a repository named `{unknown[:60]}`. These are configured:")
    else:
        lines.append("Repositories I can answer about:")
    for status in statuses:
        at = f"at `{status.commit[:10]}`" if status.commit else "not fetched yet"
        line = f"• `{status.name}` — {status.location} {at}"
        if status.problem:
            line += f" :warning: {status.problem}"
        lines.append(line)
    lines.append("Ask with `/ask-code <repository> <question>`.")
    return "\n".join(lines)
