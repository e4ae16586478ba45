"""Repository context, retrieval, code tools and citations for /ask-code (pure)."""

from __future__ import annotations

import pytest

from bot.askcode.citations import find_citations, render
from bot.askcode.context import Budget, Mode, file_block, map_blocks, ordered, whole_blocks
from bot.askcode.outline import definitions, render_map
from bot.askcode.repos import repo_spec
from bot.askcode.retrieve import Index, excerpts, query_terms
from bot.askcode.snapshot import Snapshot, SourceFile
from bot.askcode.tools import ToolInputError, describe, run_tool
from bot.askcode.workspace import RepoWorkspace, plan


def snapshot_of(files: dict[str, str]) -> Snapshot:
    """A snapshot with these files, all tracked, plus a tracked binary that was left out."""
    sources = [SourceFile(path, text) for path, text in files.items()]
    return Snapshot(
        "demo", "a" * 40, sources, {"binary": ["logo.png"]}, frozenset([*files, "logo.png"])
    )


def filler(n: int) -> str:
    """n lines of unremarkable code."""
    return "\n".join(f"value_{i} = {i}" for i in range(n)) + "\n"


DEMO = {
    "src/client.py": (
        "import time\n\n\nclass Client:\n    def send(self, request):\n"
        "        delay = retry_after(request)\n        time.sleep(delay)\n"
    ),
    "src/retry.py": "def retry_after(response):\n    return float(response.headers['x'])\n",
    "README.md": "# Demo\n\nSee docs.\n",
    "tests/test_client.py": "def test_send():\n    assert True\n",
    "pyproject.toml": "[project]\nname = 'demo'\n",
    "src/__main__.py": "print('hi')\n",
}


def test_order_readme_entry_points_manifests_then_code_and_tests() -> None:
    """README first, then entry points and manifests; tests come last."""
    paths = [f.path for f in ordered(snapshot_of(DEMO).files)]
    assert paths == [
        "README.md",
        "src/__main__.py",
        "pyproject.toml",
        "src/client.py",
        "src/retry.py",
        "tests/test_client.py",
    ]


def test_file_blocks_carry_path_and_line_numbers() -> None:
    """Each file is one block with its path, its line range and numbered lines."""
    source = SourceFile("src/retry.py", DEMO["src/retry.py"])
    block = file_block(source)
    assert block.startswith('<file path="src/retry.py" lines="1-2">\n1\tdef retry_after')
    assert file_block(source, 2, 9).splitlines()[1].startswith("2\t    return")


def test_whole_blocks_are_byte_stable() -> None:
    """The same snapshot renders to the same bytes, instructions first."""
    first, second = whole_blocks(snapshot_of(DEMO)), whole_blocks(snapshot_of(DEMO))
    assert first == second
    assert "`path:Lstart-Lend`" in first[0]
    assert len(first) == 1 + len(DEMO)


class FixedCounter:
    """A token counter that answers a fixed number and records its calls."""

    def __init__(self, tokens: int) -> None:
        self.tokens = tokens
        self.calls = 0

    async def count(self, system: list[str]) -> int:
        self.calls += 1
        return self.tokens


async def test_plan_whole_when_it_fits_and_count_is_cached() -> None:
    """The counted size decides; the count is kept on the snapshot for the next question."""
    snapshot = snapshot_of(DEMO)
    counter = FixedCounter(900)
    first = await plan(snapshot, Budget(1000), counter)
    assert (first.mode, first.tokens, first.counted) == (Mode.WHOLE, 900, True)
    again = await plan(snapshot, Budget(1000), counter)
    assert again.tokens == 900
    assert counter.calls == 1
    over = await plan(snapshot_of(DEMO), Budget(500), FixedCounter(900))
    assert over.mode is Mode.TOOLS
    assert "<repository_map" in over.blocks[1]


async def test_plan_without_counter_uses_the_estimate() -> None:
    """No counter: a calibrated character estimate; a failed count (-1) also falls back."""
    snapshot = snapshot_of({"a.py": filler(2000)})
    assert (await plan(snapshot, Budget(100), None)).mode is Mode.TOOLS
    assert (await plan(snapshot, Budget(1_000_000), FixedCounter(-1))).counted is False


def test_definitions_and_map_trimming() -> None:
    """The map lists definitions with lines, and trims them (then files) to its size."""
    source = SourceFile("src/client.py", DEMO["src/client.py"])
    assert definitions(source) == [(4, "Client"), (5, "send")]
    files = [SourceFile(f"pkg/m{i}.py", "def f():\n    pass\n") for i in range(200)]
    text, listed = render_map(files, 2000)
    assert len(text) <= 2000
    assert listed < 200
    assert "more files" in text
    blocks, _ = map_blocks(snapshot_of(DEMO), 10_000)
    assert "src/retry.py (2 lines): retry_after L1" in blocks[1]


def test_retrieval_finds_the_file_with_the_identifier() -> None:
    """A question naming an identifier gets the files that define and use it."""
    files = {f"pkg/mod{i}.py": filler(300) for i in range(30)}
    files["pkg/net/backoff.py"] = filler(200) + "def retry_after(response):\n    return 3\n"
    snapshot = snapshot_of(files)
    assert query_terms("How is retry_after computed?") == ["retry_after", "retry", "comput"]
    text, included = excerpts(Index.build(snapshot), "How is retry_after computed?", 20_000)
    assert included[0].path == "pkg/net/backoff.py"
    assert included[0].start <= 201 <= included[0].end
    assert "201\tdef retry_after" in text


def test_tools_search_list_read() -> None:
    """search_code, list_files and read_file answer over the snapshot, numbered."""
    snapshot = snapshot_of(DEMO)
    assert "src/retry.py:1: def retry_after(response):" in run_tool(
        snapshot, "search_code", {"pattern": r"def retry_\w+"}
    )
    assert run_tool(snapshot, "search_code", {"pattern": "sleep", "path_glob": "tests/*"}) == (
        "No matches."
    )
    assert run_tool(snapshot, "list_files", {"glob": "*.py"}).count(".py") == 4
    read = run_tool(
        snapshot, "read_file", {"path": "src/client.py", "start_line": 4, "end_line": 5}
    )
    assert read == "src/client.py lines 4-5 of 7\n4\tclass Client:\n5\t    def send(self, request):"
    assert describe("read_file", {"path": "a.py", "start_line": 4, "end_line": 9}) == (
        "Reading a.py:4-9…"
    )
    assert describe("search_code", {"pattern": "retry_after"}) == "Searching for `retry_after`…"


@pytest.mark.parametrize(
    ("name", "tool_input", "message"),
    [
        ("read_file", {"path": "nope.py"}, "no file"),
        ("read_file", {"path": "logo.png"}, "left out"),
        ("read_file", {"path": "src/retry.py", "start_line": 50}, "has 2 lines"),
        ("search_code", {"pattern": "("}, "invalid regular expression"),
        ("drop_tables", {}, "no tool"),
    ],
)
def test_tool_errors_go_back_to_the_model(
    name: str, tool_input: dict[str, object], message: str
) -> None:
    """Bad tool input raises ToolInputError with a message the model can act on."""
    with pytest.raises(ToolInputError, match=message):
        run_tool(snapshot_of(DEMO), name, tool_input)


def test_citations_checked_linked_and_flagged() -> None:
    """Valid citations link to the exact commit; a missing file or a range past the end is
    flagged; an existing link is left alone."""
    snapshot = snapshot_of(DEMO)
    text = (
        "See `src/retry.py:L1-L2` and src/client.py:L4. Not src/ghost.py:L1-L3, "
        "nor src/retry.py:L1-L90. [x](https://e.com/src/retry.py:L1)"
    )
    links = {"n": 0}

    def link(path: str, start: int, end: int) -> str:
        links["n"] += 1
        return f"https://github.com/acme/demo/blob/{'a' * 40}/{path}#L{start}-L{end}"

    rendered, citations = render(snapshot, text, link)
    assert "[src/retry.py:L1-L2](https://github.com/acme/demo/blob/" in rendered
    assert "[src/client.py:L4](" in rendered
    assert "`src/ghost.py:L1-L3` _(⚠" in rendered
    assert "no such file" in rendered
    assert "past the end: the file has 2 lines" in rendered
    assert rendered.endswith("[x](https://e.com/src/retry.py:L1)")
    assert [c.problem is None for c in citations] == [True, True, False, False]
    assert links["n"] == 2
    assert len(find_citations(snapshot, text)) == 5


def test_workspace_citations_without_a_known_host_stay_code() -> None:
    """A local repository has no web page: valid citations stay as code, still checked."""
    snapshot = snapshot_of(DEMO)
    workspace = RepoWorkspace(
        repo_spec("demo", "/srv/git/demo"),
        snapshot,
        plan=_whole(snapshot),
        budget=Budget(1000),
    )
    assert workspace.cite("see src/retry.py:L1") == "see `src/retry.py:L1`"
    assert workspace.label == "`demo` at `aaaaaaaaaa`"


def _whole(snapshot: Snapshot) -> object:
    import asyncio

    return asyncio.run(plan(snapshot, Budget(10**6), None))
