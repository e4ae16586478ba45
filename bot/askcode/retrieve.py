"""Excerpts that match a question (pure): BM25 over paths and contents, then line windows."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from bot.askcode.context import Included, file_block
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
WHOLE_FILE_LINES = 150  # a smaller file that matches goes in whole
WINDOW_BEFORE, WINDOW_AFTER = 12, 28
MAX_FILES = 14
MAX_WINDOWS = 3


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

    @classmethod
    def build(cls, snapshot: Snapshot) -> Index:
        """Index every selected file of the snapshot."""
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
        return cls(snapshot.files, counts, lengths, df)

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
    overlaps merged, in file order."""
    lines = source.lines
    scored: list[tuple[float, int]] = []
    for number, line in enumerate(lines, start=1):
        lower = line.lower()
        score = sum(idf.get(t, 0.0) for t in terms if t in lower)
        if score > 0:
            scored.append((score, number))
    scored.sort(key=lambda item: (-item[0], item[1]))
    chosen: list[Included] = []
    for _, number in scored:
        if any(part.start <= number <= part.end for part in chosen):
            continue
        start, end = max(1, number - WINDOW_BEFORE), min(len(lines), number + WINDOW_AFTER)
        chosen.append(Included(source.path, start, end))
        if len(chosen) == MAX_WINDOWS:
            break
    merged: list[Included] = []
    for part in sorted(chosen, key=lambda p: p.start):
        if merged and part.start <= merged[-1].end + 1:
            merged[-1] = Included(source.path, merged[-1].start, max(part.end, merged[-1].end))
        else:
            merged.append(part)
    return merged


def excerpts(index: Index, question: str, max_chars: int) -> tuple[str, list[Included]]:
    """The excerpts for a question within max_chars, as text, and what they include."""
    terms = query_terms(question)
    ranked = index.rank(terms, question)[:MAX_FILES]
    idf = {t: index.idf(t) for t in terms}
    chosen: list[Included] = []
    blocks: list[str] = []
    size = 0
    for _, source in ranked:
        if source.line_count <= WHOLE_FILE_LINES:
            candidates = [Included(source.path, 1, max(source.line_count, 1))]
        else:
            candidates = windows(source, terms, idf)
        for part in candidates:
            block = file_block(source, part.start, part.end)
            if size + len(block) > max_chars:
                continue
            blocks.append(block)
            chosen.append(part)
            size += len(block) + 1
    if not blocks:
        return "", []
    intro = (
        "<excerpts note='Parts of the repository that matched this question by keyword search; "
        "use the tools for anything else.'>"
    )
    return "\n".join([intro, *blocks, "</excerpts>"]), chosen
