"""Paragraphs and sentences of an article, as exact offsets into its stored text.

The splitter is written for Vietnamese news prose: a full stop only ends a sentence when
whitespace and a capital letter, digit, quote or bracket follow, and never after a known
abbreviation ("TP.", "TS.", "Th.S.") or a single initial ("Nguyễn V. Anh"). So "Chiều 5.10",
"2020-2025", "Côn Sơn-Kiếp Bạc", "(KTXH)" and "TP.HCM" stay inside their sentence; "..."
ends one only before a capital. A line break always ends a sentence.

Page furniture (retrieval/articles/furniture.py: a bracketed related-article title, a photo credit, a
byline, a source line) is cut off at its edges and left out: it stays in the stored text,
so every offset is unchanged, but it is never a sentence, so it is never indexed or quoted.
A sentence that holds a furniture span loses only that span ("Vụ tai nạn khiến 2 người tử
vong (Ảnh: Hội xe tải Tây Bắc)" gives "Vụ tai nạn khiến 2 người tử vong").

    >>> [s.text for s in split_sentences(article)]
"""

from __future__ import annotations

import re

from retrieval.articles.corpus import paragraphs
from retrieval.articles.furniture import Furniture, find_furniture
from retrieval.models import Article, Sentence

__all__ = ["paragraphs", "split_sentences"]
#: Sentences longer than this are cut at a clause boundary so one quote stays readable.
MAX_SENTENCE_CHARS = 700

# Lower-cased abbreviations that take a dot and are followed by a capitalised name.
_ABBREVIATIONS = frozenset(
    """tp tx tt q p h ths th.s ts pgs gs bs ks cn ts.bs pgs.ts gs.ts ths.bs bs.ck
    st mr mrs ms dr prof vs co ltd inc corp jr sr sđt đt tel fax
    tr ng kh hđnd ubnd ttg nxb""".split()
)
_CLOSERS = "\"'”’»)]}"
_OPENERS = "\"'“‘«([{"
# A candidate end: terminal punctuation, optional closing quotes/brackets, then whitespace.
_END = re.compile(r"([.!?…]+)([" + re.escape(_CLOSERS) + r"]*)(\s+)")
_CLAUSE = re.compile(r"[;,:]\s")


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the '.' at ``dot`` closes an abbreviation or an initial rather than a sentence."""
    start = dot
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    word = text[start:dot]
    if not word:
        return False
    if len(word) == 1 and word.isupper():
        return True  # an initial: "Nguyễn V. Anh"
    return word.lower() in _ABBREVIATIONS


def _sentence_ends(text: str, start: int, end: int) -> list[int]:
    """Offsets (exclusive) where sentences end inside ``text[start:end]``."""
    ends: list[int] = []
    for match in _END.finditer(text, start, end):
        punct_end = match.end(2)
        nxt = match.end(3)
        if "\n" in match.group(3):
            ends.append(punct_end)
            continue
        if nxt >= end:
            continue
        following = text[nxt]
        if not (following.isupper() or following.isdigit() or following in _OPENERS or following in "-–•"):
            continue
        punct = match.group(1)
        if punct == "." and not match.group(2) and _is_abbreviation(text, match.start(1)):
            continue
        ends.append(punct_end)
    # Line breaks inside a paragraph end a sentence too (lists, verse, headings).
    for match in re.finditer(r"\n", text[start:end]):
        cut = start + match.start()
        while cut > start and text[cut - 1].isspace():
            cut -= 1
        ends.append(cut)
    return sorted(set(ends))


def _cut_long(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split an over-long span at clause boundaries (``; , :``) into readable pieces."""
    pieces: list[tuple[int, int]] = []
    while end - start > MAX_SENTENCE_CHARS:
        window_end = start + MAX_SENTENCE_CHARS
        cuts = [m.start() + 1 for m in _CLAUSE.finditer(text, start + MAX_SENTENCE_CHARS // 3, window_end)]
        cut = cuts[-1] if cuts else text.rfind(" ", start, window_end)
        if cut <= start:
            cut = window_end
        pieces.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        pieces.append((start, end))
    return pieces


def _overlaps(start: int, end: int, furniture: list[Furniture]) -> bool:
    return any(f.start < end and start < f.end for f in furniture)


def split_sentences(article: Article) -> list[Sentence]:
    """Every sentence of ``article`` in order, page furniture left out;
    ``article.text[s.start:s.end] == s.text``."""
    text = article.text
    furniture = find_furniture(text)
    sentences: list[Sentence] = []
    for number, para in enumerate(paragraphs(text)):
        inside = [f for f in furniture if para.start <= f.start < para.end]
        edges = [offset for f in inside for offset in (f.start, f.end)]
        bounds = sorted({*_sentence_ends(text, para.start, para.end), *edges, para.end})
        begin = para.start
        for stop in bounds:
            if stop <= begin:
                continue
            s, e = begin, stop
            while s < e and text[s].isspace():
                s += 1
            while e > s and text[e - 1].isspace():
                e -= 1
            begin = stop
            if not any(ch.isalnum() for ch in text[s:e]) or _overlaps(s, e, inside):
                continue
            for piece_start, piece_end in _cut_long(text, s, e):
                sentences.append(
                    Sentence(
                        article_id=article.id,
                        position=len(sentences),
                        start=piece_start,
                        end=piece_end,
                        text=text[piece_start:piece_end],
                        paragraph=number,
                        is_caption=para.is_caption,
                    )
                )
    return sentences
