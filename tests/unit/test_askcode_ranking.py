"""/ask-code ranking over budget (pure): the import graph, neighbours of the best hits, the files
pinned whole in the cached prompt, and each question's files whole while they fit."""

from __future__ import annotations

from bot.askcode.context import Budget, pin_order, pinned_files, tools_blocks
from bot.askcode.graph import ImportGraph, Modules, imports
from bot.askcode.retrieve import Index, excerpts, ranked, with_neighbours
from bot.askcode.snapshot import Snapshot, SourceFile

PACKAGE = {
    "pkg/__init__.py": "from .client import Client\n",
    "pkg/client.py": (
        "import os\nimport typing\nfrom pkg import retry\nfrom . import (\n    hooks,  # x\n"
        "    models as m,\n)\nfrom .util.text import wrap\n\nclass Client:\n"
        "    def send(self):\n        return retry.backoff(3)\n"
    ),
    "pkg/retry.py": "from ._types import Delay\n\ndef backoff(n):\n    return Delay(2 ** n)\n",
    "pkg/_types.py": "class Delay(float):\n    pass\n",
    "pkg/hooks.py": "from ._types import Delay\n",
    "pkg/models.py": "from ._types import Delay\n",
    "pkg/util/__init__.py": "",
    "pkg/util/text.py": "from ..retry import backoff\n",
    "typing.py": "# a top-level module named like the standard library's\n",
    "docs/guide.md": "# Guide\n",
    "tests/test_client.py": "from pkg.client import Client\n",
}


def sources(files: dict[str, str]) -> list[SourceFile]:
    """SourceFiles of these texts."""
    return [SourceFile(path, text) for path, text in files.items()]


def test_imports_resolve_absolute_relative_parenthesised_and_submodules() -> None:
    """Absolute, relative (one and two dots), parenthesised and `from . import module` imports
    find the repository's files; the standard library (even a same-named file) does not."""
    modules = Modules.of(PACKAGE)
    client = SourceFile("pkg/client.py", PACKAGE["pkg/client.py"])
    assert imports(client, modules) == {
        "pkg/__init__.py",
        "pkg/retry.py",
        "pkg/hooks.py",
        "pkg/models.py",
        "pkg/util/text.py",
    }
    text = SourceFile("pkg/util/text.py", PACKAGE["pkg/util/text.py"])
    assert imports(text, modules) == {"pkg/retry.py"}
    assert imports(SourceFile("docs/guide.md", "import pkg\n"), modules) == set()


def test_a_repository_that_is_the_package_resolves_its_own_name() -> None:
    """An installed package's folder (no `pkg/` prefix) still resolves `pkg.retry`."""
    modules = Modules.of(["retry.py", "client.py", "lib/retry.py"])
    assert modules.find(("pkg", "retry")) == "retry.py"
    assert modules.find(("pkg", "lib", "retry")) == "lib/retry.py"
    assert modules.find(("os", "path")) is None


def test_graph_counts_importers_both_ways() -> None:
    """Each file's imports and importers; the shared types module has the most importers."""
    graph = ImportGraph.build(sources(PACKAGE))
    assert graph.importers("pkg/_types.py") == 3
    assert "pkg/client.py" in graph.neighbours("pkg/retry.py")
    assert "pkg/_types.py" in graph.neighbours("pkg/retry.py")


def test_neighbours_of_the_best_hits_are_raised_hubs_less() -> None:
    """A file the best hit imports gains part of its score, more than a hub imported by many;
    files beyond the best hits give nothing."""
    graph = ImportGraph(
        imports={"a.py": frozenset({"b.py", "hub.py"}), "z.py": frozenset({"c.py"})},
        imported_by={
            "b.py": frozenset({"a.py"}),
            "hub.py": frozenset({"a.py", "x.py", "y.py", "w.py"}),
            "c.py": frozenset({"z.py"}),
        },
    )
    scored = [(10.0, "a.py"), (1.0, "y.py"), (0.9, "x.py"), (0.5, "z.py")]
    raised = dict((path, score) for score, path in with_neighbours(scored, graph))
    assert raised["b.py"] > raised["hub.py"] > 0
    assert "c.py" not in raised  # z.py is not among the best three
    assert with_neighbours(scored, graph)[0] == (10.0, "a.py")


def test_pin_order_puts_code_first_then_the_most_imported() -> None:
    """Code before docs and tests; among code, the most imported first."""
    files = sources(PACKAGE)
    order = [f.path for f in pin_order(files, ImportGraph.build(files))]
    assert order[0] == "pkg/_types.py"
    assert order.index("pkg/retry.py") < order.index("pkg/hooks.py")
    assert set(order[-2:]) == {"docs/guide.md", "tests/test_client.py"}


def test_pinned_files_fill_their_room_and_skip_what_does_not_fit() -> None:
    """Files are pinned in order while they fit; a file too large is passed over for smaller
    ones after it."""
    files = [
        SourceFile("a.py", "x = 1\n"),
        SourceFile("big.py", "y = 2\n" * 500),
        SourceFile("c.py", "z = 3\n"),
    ]
    graph = ImportGraph({}, {"big.py": frozenset({"a.py"})})
    assert [f.path for f in pinned_files(files, graph, 200)] == ["a.py", "c.py"]


def test_tools_blocks_stay_within_the_budget_less_the_question_share() -> None:
    """The map and the pinned files leave each question its share of the budget."""
    files = {f"pkg/m{i}.py": "def f():\n    return 1\n" * 40 for i in range(40)}
    snapshot = Snapshot("demo", "a" * 40, sources(files), {}, frozenset(files))
    budget = Budget(4_000)
    blocks, listed, pinned = tools_blocks(snapshot, budget, ImportGraph.build(snapshot.files))
    assert listed == 40
    assert 0 < len(pinned) < 40
    assert sum(len(b) + 1 for b in blocks) <= budget.context_chars - budget.question_chars


def test_question_files_come_whole_while_they_fit_and_skip_the_pinned() -> None:
    """The best file comes whole, its import next; a pinned file is not repeated; a file too
    large for the room comes as windows."""
    files = {
        "net/backoff.py": "from net import jitter\n\ndef retry_after(response):\n    return 3\n",
        "net/jitter.py": "def spread(x):\n    return x\n",
        "net/big.py": "".join(f"v{i} = {i}\n" for i in range(3000)) + "retry_after = 1\n",
        "other.py": "def unrelated():\n    pass\n",
    }
    index = Index.build(Snapshot("demo", "a" * 40, sources(files), {}, frozenset(files)))
    question = "How is retry_after computed?"
    assert [f.path for f in ranked(index, question)][:2] == ["net/backoff.py", "net/big.py"]
    assert "net/jitter.py" in [f.path for f in ranked(index, question)]
    _, included = excerpts(index, question, 4_000)
    by_path = {part.path: part for part in included}
    assert (by_path["net/backoff.py"].start, by_path["net/backoff.py"].end) == (1, 4)
    assert by_path["net/big.py"].end - by_path["net/big.py"].start < 100
    assert by_path["net/jitter.py"].start == 1
    _, without = excerpts(index, question, 4_000, frozenset({"net/backoff.py"}))
    assert "net/backoff.py" not in {part.path for part in without}
