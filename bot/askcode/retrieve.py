"""The files that match a question (pure): BM25 over paths, definitions and contents, raised by
the import graph around the best hits; whole while they fit, else line windows."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from bot.askcode.context import Included, file_block
from bot.askcode.graph import ImportGraph
from bot.askcode.outline import definitions
from bot.askcode.snapshot import Snapshot, SourceFile

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
STOPWORDS = frozenset(
    """a an and are as at be been by can could did do does for from has have how i if in into is
    it its me my of on or our should so that the their them then there these they this those to
    was we what when where which who why will with would you your about after all also any before
    between both each get gets got here just more most much must need not now only other over same
    some such than too under up use used uses using very way what's work works file files code
    repo repository function functions method class line lines explain tell show find happen
    happens see does""".split()  # noqa: SIM905  # a word list reads better as text
)
K1, B = 1.2, 0.75
PATH_WEIGHT = 4
DEFINITION_WEIGHT = 3  # names a file defines (functions, classes, constants) count extra
CONSTANT = re.compile(r"^([A-Z][A-Z0-9_]{2,})\s*[:=]", re.MULTILINE)
WINDOW_BEFORE, WINDOW_AFTER = 12, 28
MAX_WINDOWS = 3
WHOLE_SHARE = 0.5  # one file shown whole takes at most this share of a question's characters
GRAPH_TOP = 3  # the best hits whose imports and importers are raised
GRAPH_WEIGHT = 0.5  # a neighbour gains this share of the hit's score (damped for hubs)
MIN_SCORE_SHARE = 0.02  # files scoring under this share of the best are not shown


SUFFIXES = (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""), ("e", ""))


def stem(term: str) -> str:
    """A light stem, so that "requests" finds "request" and "calculated" "calculate"."""
    if len(term) <= 4 or term.endswith("ss"):
        return term
    for suffix, replacement in SUFFIXES:
        if term.endswith(suffix) and len(term) - len(suffix) >= 4:
            return term[: -len(suffix)] + replacement
    return term


@lru_cache(maxsize=1 << 16)
def word_terms(word: str) -> tuple[str, ...]:
    """One identifier's terms: itself, and its snake_case and camelCase parts (cached: a
    repository repeats its identifiers)."""
    terms = [stem(word.lower())]
    parts = [p.lower() for piece in word.split("_") for p in CAMEL.findall(piece)]
    if len(parts) > 1:
        terms.extend(stem(p) for p in parts if len(p) > 2)
    return tuple(terms)


def split_terms(text: str) -> list[str]:
    """Lower-cased, lightly stemmed terms: each identifier, and its snake_case and camelCase
    parts."""
    return [term for word in WORD.findall(text) for term in word_terms(word)]


def term_counts(text: str) -> Counter[str]:
    """split_terms' counts, each distinct identifier split once."""
    counts = Counter[str]()
    for word, n in Counter(WORD.findall(text)).items():
        for term in word_terms(word):
            counts[term] += n
    return counts


def query_terms(question: str) -> list[str]:
    """The question's distinct search terms, stop words and short words dropped."""
    seen: dict[str, None] = {}
    for term in split_terms(question):
        if len(term) > 2 and term not in STOPWORDS:
            seen.setdefault(term, None)
    return list(seen)


@dataclass
class Index:
    """Term counts per file (paths weighted up), built once per snapshot."""

    files: list[SourceFile]
    counts: list[Counter[str]]
    lengths: list[int]
    df: Counter[str]
    graph: ImportGraph

    @classmethod
    def build(cls, snapshot: Snapshot, graph: ImportGraph | None = None) -> Index:
        """Index every selected file of the snapshot (and its import graph, unless given)."""
        counts, lengths, df = [], [], Counter[str]()
        for source in snapshot.files:
            terms = term_counts(source.text)
            for term in split_terms(source.path.replace("/", " ").replace(".", " ")):
                terms[term] += PATH_WEIGHT
            for term in split_terms(" ".join(defined_names(source))):
                terms[term] += DEFINITION_WEIGHT
            counts.append(terms)
            lengths.append(sum(terms.values()))
            df.update(terms.keys())
        graph = graph if graph is not None else ImportGraph.build(snapshot.files)
        return cls(snapshot.files, counts, lengths, df, graph)

    def idf(self, term: str) -> float:
        """Inverse document frequency (BM25's, never negative)."""
        n, df = len(self.files), self.df.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def rank(self, terms: list[str], question: str) -> list[tuple[float, SourceFile]]:
        """Files by BM25 score for the terms (an identifier quoted verbatim counts double)."""
        if not self.files or not terms:
            return []
        average = sum(self.lengths) / len(self.files) or 1.0
        verbatim = [w for w in WORD.findall(question) if "_" in w or CAMEL.findall(w)[1:]]
        scored = []
        for source, counts, length in zip(self.files, self.counts, self.lengths, strict=True):
            score = 0.0
            for term in terms:
                tf = counts.get(term, 0)
                if tf:
                    norm = K1 * (1 - B + B * length / average)
                    score += self.idf(term) * tf * (K1 + 1) / (tf + norm)
            for word in verbatim:
                if word in source.text:
                    score += 2 * self.idf(word.lower())
            if score > 0:
                scored.append((score, source))
        scored.sort(key=lambda item: (-item[0], item[1].path))
        return scored


def defined_names(source: SourceFile) -> list[str]:
    """The names the file defines: its outline's definitions and module-level constants."""
    names = [name for _, name in definitions(source, limit=200)]
    return names + CONSTANT.findall(source.text)


def windows(source: SourceFile, terms: list[str], idf: dict[str, float]) -> list[Included]:
    """Line ranges around the (up to MAX_WINDOWS) lines that mention the most telling terms,
    overlaps merged, best first (so that the best is kept when not all fit)."""
    lines = source.lines
    scored: list[tuple[float, int]] = []
    for number, line in enumerate(lines, start=1):
        lower = line.lower()
        score = sum(idf.get(t, 0.0) for t in terms if t in lower)
        if score > 0:
            scored.append((score, number))
    scored.sort(key=lambda item: (-item[0], item[1]))
    chosen: list[tuple[int, Included]] = []  # (rank, range)
    for _, number in scored:
        if any(part.start <= number <= part.end for _, part in chosen):
            continue
        start, end = max(1, number - WINDOW_BEFORE), min(len(lines), number + WINDOW_AFTER)
        chosen.append((len(chosen), Included(source.path, start, end)))
        if len(chosen) == MAX_WINDOWS:
            break
    merged: list[tuple[int, Included]] = []
    for rank, part in sorted(chosen, key=lambda item: item[1].start):
        if merged and part.start <= merged[-1][1].end + 1:
            best, last = merged[-1]
            merged[-1] = (
                min(best, rank),
                Included(source.path, last.start, max(part.end, last.end)),
            )
        else:
            merged.append((rank, part))
    return [part for _, part in sorted(merged, key=lambda item: item[0])]


def with_neighbours(scored: list[tuple[float, str]], graph: ImportGraph) -> list[tuple[float, str]]:
    """Scores raised by the import graph: each of the GRAPH_TOP best files passes GRAPH_WEIGHT of
    its score to the files it imports and those importing it, less for a file many import (a
    hub like a types module is next to everything). Best first, ties by path."""
    scores = dict((path, score) for score, path in scored)
    for score, path in scored[:GRAPH_TOP]:
        for neighbour in graph.neighbours(path):
            damping = 1 + math.log1p(graph.importers(neighbour))
            scores[neighbour] = scores.get(neighbour, 0.0) + GRAPH_WEIGHT * score / damping
    return sorted(((s, p) for p, s in scores.items()), key=lambda item: (-item[0], item[1]))


def ranked(index: Index, question: str, exclude: frozenset[str] = frozenset()) -> list[SourceFile]:
    """The files for a question, best first: BM25, raised by the import graph, without the
    excluded ones (already shown) and those far below the best."""
    terms = query_terms(question)
    scored = [(score, source.path) for score, source in index.rank(terms, question)]
    raised = [(s, p) for s, p in with_neighbours(scored, index.graph) if p not in exclude]
    if not raised:
        return []
    floor = raised[0][0] * MIN_SCORE_SHARE
    by_path = {source.path: source for source in index.files}
    return [by_path[path] for score, path in raised if score >= floor and path in by_path]


def excerpts(
    index: Index, question: str, max_chars: int, exclude: frozenset[str] = frozenset()
) -> tuple[str, list[Included]]:
    """The files for a question within max_chars, as text, and what they include: in rank
    order, each whole while it fits (and takes at most WHOLE_SHARE), else its best windows."""
    terms = query_terms(question)
    idf = {t: index.idf(t) for t in terms}
    chosen: list[Included] = []
    blocks: list[str] = []
    size = 0
    for source in ranked(index, question, exclude):
        room = max_chars - size
        if room < 200:
            break
        whole = file_block(source)
        if len(whole) < min(room, max_chars * WHOLE_SHARE):
            parts, texts = [Included(source.path, 1, max(source.line_count, 1))], [whole]
        else:
            parts = windows(source, terms, idf)
            texts = [file_block(source, part.start, part.end) for part in parts]
        for part, text in zip(parts, texts, strict=True):
            if size + len(text) + 1 > max_chars:
                continue
            blocks.append(text)
            chosen.append(part)
            size += len(text) + 1
    if not blocks:
        return "", []
    intro = (
        "<excerpts note='Files and parts of files that matched this question by keyword search "
        "(and the files they import or are imported by); use the tools for anything else.'>"
    )
    return "\n".join([intro, *blocks, "</excerpts>"]), chosen
