"""Lexical retrieval: BM25 over Vietnamese tokens with and without diacritics.

Every document word is indexed twice: as written ("cầu") and folded into a separate
namespace ("~cau"). A query word typed with diacritics matches only the exact form; a word
typed without them matches through the folded namespace. So "cau Dong Viet" finds
"cầu Đồng Việt", while the English "the" never matches the folded "thế" of "thế giới"
in a properly accented query, and English function words are dropped from unaccented ones.

    analyzer = Analyzer()
    index = LexicalIndex.build([analyzer.document_tokens(t) for t in texts])
    scores = index.scores(analyzer.query_tokens("cau Dong Viet o dau"))

BM25 is computed here (bm25s's "lucene" formula, k1=1.5, b=0.75) over :class:`Postings`,
which an incremental ingest can add to without rebuilding: :class:`LexicalIndex` scores the
base's and the deltas' documents as one collection, with the statistics of the live ones.
"""

from __future__ import annotations

import array
import enum
import itertools
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.text import fold, has_diacritics, nfc, normalise_word

FOLDED = "~"
PAIR = "_"
_WORD = re.compile(r"[^\W_]+", re.UNICODE)  # no "_": it joins pair tokens


# Abbreviations officials type, and what they stand for (both directions are expanded).
ABBREVIATIONS = {
    "ktxh": "kinh tế xã hội",
    "kt-xh": "kinh tế xã hội",
    "hđnd": "hội đồng nhân dân",
    "ubnd": "ủy ban nhân dân",
    "tp": "thành phố",
    "tphcm": "thành phố hồ chí minh",
    "mttq": "mặt trận tổ quốc",
    "đbqh": "đại biểu quốc hội",
    "qh": "quốc hội",
    "bch": "ban chấp hành",
    "btv": "ban thường vụ",
    "gd-đt": "giáo dục đào tạo",
    "nn-ptnt": "nông nghiệp phát triển nông thôn",
    "ptnt": "phát triển nông thôn",
    "gtvt": "giao thông vận tải",
    "vh-tt-dl": "văn hóa thể thao du lịch",
    "khcn": "khoa học công nghệ",
    "fdi": "đầu tư trực tiếp nước ngoài",
}

# Question and function words: they say what is asked, not what about, so they do not
# count when measuring how much of a question a sentence covers.
FUNCTION_WORDS = frozenset(
    """ai gì nào đâu sao bao nhiêu mấy khi thế như là có không được những các của và với ở tại
    trong cho đã sẽ đang này đó thì mà vì bị để từ về theo hay hoặc vậy chưa rồi nhé ạ nữa
    một hai""".split()
)

# Only dropped from queries typed without any diacritics, where they are almost surely English.
_ENGLISH_STOPWORDS = frozenset(
    """the a an of and or to in on at for with by from is are was were be been will would
    which what who whom whose when where why how does do did this that these those it its
    into about as can could should has have had their there they them than then""".split()
)


def _words(text: str) -> list[str]:
    return [normalise_word(w) for w in _WORD.findall(nfc(text))]


#: A question's place names that have related names: (its words, the related names' words), folded.
RelatedPlaces = list[tuple[frozenset[str], tuple[frozenset[str], ...]]]


class QueryForm(enum.StrEnum):
    ACCENTED = "accented"  # Vietnamese typed with diacritics
    UNACCENTED = "unaccented"  # Vietnamese typed without them
    ENGLISH = "english"


class Analyzer:
    """Turns documents and queries into BM25 tokens (see module docstring)."""

    def __init__(self, abbreviations: dict[str, str] | None = None, place_names: bool = True) -> None:
        """``place_names``: a question naming a province also matches its pre-2025 predecessors
        or its 2025 successor (retrieval/admin_units.py), as alternatives and weaker tokens."""
        self.place_names = place_names
        table = ABBREVIATIONS if abbreviations is None else abbreviations
        self._expansions: dict[str, list[str]] = {}
        self._contractions: list[tuple[list[str], str]] = []
        for short, long in table.items():
            short_words = _words(short)
            long_words = _words(long)
            key = "".join(short_words)
            self._expansions[key] = long_words
            self._expansions.setdefault(fold(key), long_words)
            self._contractions.append((long_words, key))

    def word_tokens(self, text: str) -> list[str]:
        """Each word as written and folded, interleaved: ``[w1, ~f1, w2, ~f2, ...]``."""
        tokens: list[str] = []
        for word in _words(text):
            tokens.append(word)
            tokens.append(FOLDED + fold(word))
        return tokens

    def document_tokens(self, text: str) -> list[str]:
        """What BM25 indexes: :meth:`word_tokens` plus adjacent-word pairs, as written and
        folded. Vietnamese words are mostly two syllables, so pairs tell "cầu Đồng Việt"
        from "câu ... đồng ... việt" scattered over a text, above all in folded queries."""
        words = _words(text)
        folded = [fold(w) for w in words]
        pairs = [f"{a}{PAIR}{b}" for a, b in itertools.pairwise(words)]
        folded_pairs = [f"{FOLDED}{a}{PAIR}{b}" for a, b in itertools.pairwise(folded)]
        return self.word_tokens(text) + pairs + folded_pairs

    def _expansion_of(self, word: str) -> list[str] | None:
        return self._expansions.get(word) or self._expansions.get(fold(word))

    def expansions(self, words: Sequence[str]) -> list[str]:
        """Words added for abbreviations in ``words`` and abbreviations of phrases in them."""
        joined = [*words]
        for i in range(len(words) - 1):
            joined.append(words[i] + words[i + 1])  # "kt xh" typed with a space or hyphen
        extra: list[str] = []
        for word in dict.fromkeys(joined):
            extra.extend(self._expansion_of(word) or ())
        folded_words = [fold(w) for w in words]
        for long_words, short in self._contractions:
            if _contains(folded_words, [fold(w) for w in long_words]):
                extra.append(short)
        return list(dict.fromkeys(extra))

    def query_form(self, text: str) -> QueryForm:
        words = _words(text)
        if words and sum(has_diacritics(w) for w in words) / len(words) >= 0.3:
            return QueryForm.ACCENTED
        if words and sum(w in _ENGLISH_STOPWORDS for w in words) / len(words) >= 0.2:
            return QueryForm.ENGLISH
        return QueryForm.UNACCENTED

    def query_terms(self, text: str) -> list[QueryTerm]:
        """The query's own words as tokens, each with its accepted alternatives (an
        abbreviation's expansion), for measuring how much of the question a sentence covers."""
        words = _words(text)
        if not words:
            return []
        accented = sum(has_diacritics(w) for w in words) / len(words) >= 0.3
        places = self._place_alternatives(words, accented)
        terms: list[QueryTerm] = []
        for i, word in enumerate(words):
            if has_diacritics(word) or accented:
                token = word  # in an accented query a bare word really has no diacritics
            elif word in _ENGLISH_STOPWORDS:
                continue
            else:
                token = FOLDED + word
            expansion = self._expansion_of(word)
            alternatives = ((tuple(expansion),) if expansion else ()) + places.get(i, ())
            terms.append(QueryTerm(token, alternatives))
        return terms

    def _place_alternatives(self, words: list[str], accented: bool) -> dict[int, tuple[tuple[str, ...], ...]]:
        """Word position -> the related place names (as tokens) that may stand for the place
        name it is part of: "Hải Phòng" in a question is also matched by "Hải Dương"."""
        if not self.place_names:
            return {}
        from retrieval.admin_units import admin_map  # built on first use (about a second)

        alternatives: dict[int, tuple[tuple[str, ...], ...]] = {}
        for match in admin_map().find_names(words, folded=not accented):
            related = tuple(tuple(w if accented else FOLDED + w for w in name) for name in match.related)
            for i in range(match.start, match.end):
                alternatives[i] = related
        return alternatives

    def related_place_tokens(self, text: str) -> list[str]:
        """BM25 tokens of the place names related to those the question names (the pairs of
        their words, exact or folded as the question was typed), to be weighed below its own."""
        words = _words(text)
        if not words or not self.place_names:
            return []
        accented = sum(has_diacritics(w) for w in words) / len(words) >= 0.3
        from retrieval.admin_units import admin_map

        tokens: list[str] = []
        for match in admin_map().find_names(words, folded=not accented):
            for name in match.related:
                names = list(name) if accented else [FOLDED + w for w in name]
                tokens.extend(_pair(a, b) for a, b in itertools.pairwise(names))
        return list(dict.fromkeys(tokens))

    def related_places(self, text: str) -> RelatedPlaces:
        """Each place name in ``text`` that has related names (its predecessors or successor
        after the 2025 reform), as (its words, the related names' words), all folded."""
        words = _words(text)
        if not words or not self.place_names:
            return []
        accented = sum(has_diacritics(w) for w in words) / len(words) >= 0.3
        from retrieval.admin_units import admin_map

        return [
            (
                frozenset(fold(w) for w in words[match.start : match.end]),
                tuple(frozenset(fold(w) for w in name) for name in match.related),
            )
            for match in admin_map().find_names(words, folded=not accented)
        ]

    def content_terms(self, text: str) -> list[QueryTerm]:
        """:meth:`query_terms` without question and function words."""
        folded = {FOLDED + fold(w) for w in FUNCTION_WORDS}
        return [t for t in self.query_terms(text) if t.token not in FUNCTION_WORDS and t.token not in folded]

    def query_tokens(self, text: str) -> list[str]:
        tokens = [term.token for term in self.query_terms(text)]
        pairs = [_pair(a, b) for a, b in itertools.pairwise(tokens)]
        # Expansions come from the table, properly accented: match them exactly.
        return tokens + pairs + self.expansions(_words(text))


def _pair(a: str, b: str) -> str:
    """The pair token of two query tokens; folded if either side is."""
    if a.startswith(FOLDED) or b.startswith(FOLDED):
        return f"{FOLDED}{fold(a.removeprefix(FOLDED))}{PAIR}{fold(b.removeprefix(FOLDED))}"
    return f"{a}{PAIR}{b}"


@dataclass(frozen=True)
class QueryTerm:
    token: str
    alternatives: tuple[tuple[str, ...], ...] = ()

    def present_in(self, tokens: set[str] | frozenset[str]) -> bool:
        return self.token in tokens or any(all(t in tokens for t in alt) for alt in self.alternatives)


def _contains(words: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return n > 0 and any(list(words[i : i + n]) == list(phrase) for i in range(len(words) - n + 1))


#: BM25 parameters: bm25s's defaults (its "lucene" variant), which this module computes itself.
K1 = 1.5
B = 0.75
#: Documents per batch when counting terms in :meth:`Postings.build` (bounds its memory).
_BUILD_BATCH = 4096


def bm25_idf(document_frequency: int, documents: int) -> float:
    """bm25s's "lucene" idf: log(1 + (N - df + 0.5) / (df + 0.5))."""
    return math.log(1 + (documents - document_frequency + 0.5) / (document_frequency + 0.5))


class Vocabulary:
    """Token -> column of a :class:`Postings`.

    Built in memory it is a dict. Saved, it is the tokens' UTF-8 bytes in sorted order, one
    blob plus offsets, with each token's column: loading reads three files and creates no
    Python object per token (a 100k-passage index has over a million distinct unigrams and
    bigrams, whose JSON list and dict took over a second to load), and a lookup is a binary
    search of about 20 byte comparisons.
    """

    FILES = ("vocabulary_tokens.bin", "vocabulary_offsets.npy", "vocabulary_columns.npy")

    def __init__(
        self,
        tokens: dict[str, int] | None = None,
        *,
        blob: bytes = b"",
        offsets: np.ndarray | None = None,
        columns: np.ndarray | None = None,
    ) -> None:
        self._dict = tokens
        self._blob = blob
        self._offsets = offsets if offsets is not None else np.zeros(1, dtype=np.int64)
        self._columns = columns if columns is not None else np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._dict) if self._dict is not None else len(self._columns)

    def get(self, token: str) -> int | None:
        if self._dict is not None:
            return self._dict.get(token)
        key, blob, offsets = token.encode(), self._blob, self._offsets
        lo, hi = 0, len(self._columns)
        while lo < hi:
            mid = (lo + hi) // 2
            if blob[offsets[mid] : offsets[mid + 1]] < key:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(self._columns) and blob[offsets[lo] : offsets[lo + 1]] == key:
            return int(self._columns[lo])
        return None

    def save(self, directory: Path) -> None:
        if self._dict is None:
            blob, offsets, columns = self._blob, self._offsets, self._columns
        else:
            encoded = sorted((token.encode(), column) for token, column in self._dict.items())
            blob = b"".join(token for token, _ in encoded)
            offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
            np.cumsum([len(token) for token, _ in encoded], out=offsets[1:])
            columns = np.array([column for _, column in encoded], dtype=np.int64)
        tokens_file, offsets_file, columns_file = self.FILES
        (directory / tokens_file).write_bytes(blob)
        np.save(directory / offsets_file, offsets)
        np.save(directory / columns_file, columns)

    @classmethod
    def load(cls, directory: Path) -> Vocabulary:
        tokens_file, offsets_file, columns_file = cls.FILES
        offsets = np.load(directory / offsets_file)
        columns = np.load(directory / columns_file, mmap_mode="r")
        blob = (directory / tokens_file).read_bytes()
        if len(offsets) != len(columns) + 1 or (len(offsets) and int(offsets[-1]) != len(blob)):
            raise ValueError(f"vocabulary files in {directory} disagree")
        return cls(blob=blob, offsets=offsets, columns=columns)


class Postings:
    """Term frequencies of some documents: an inverted index in CSR form (token ``i``'s
    documents are ``docs[indptr[i]:indptr[i + 1]]``, ascending, with their counts in ``tf``),
    plus each document's length in tokens. Immutable once built."""

    FILES = (*Vocabulary.FILES, "postings_indptr.npy", "postings_docs.npy", "postings_tf.npy", "postings_lengths.npy")

    def __init__(
        self, vocabulary: Vocabulary, indptr: np.ndarray, docs: np.ndarray, tf: np.ndarray, lengths: np.ndarray
    ) -> None:
        self.vocabulary = vocabulary
        self.indptr = indptr
        self.docs = docs
        self.tf = tf
        self.lengths = lengths  # an empty document counts as one (empty) token, as in bm25s

    @classmethod
    def build(cls, token_lists: Iterable[list[str]]) -> Postings:
        vocabulary: dict[str, int] = {}
        lengths = array.array("q")
        columns: list[np.ndarray] = []
        docs: list[np.ndarray] = []
        counts: list[np.ndarray] = []
        batch = array.array("q")
        batch_start = 0

        def flush() -> None:
            # One (token, document) key per occurrence; unique keys with their counts are the postings.
            ids = np.frombuffer(batch, dtype=np.int64)
            n_docs = len(lengths) - batch_start
            local = np.repeat(np.arange(n_docs, dtype=np.int64), np.array(lengths[batch_start:], dtype=np.int64))
            keys, tf = np.unique(ids * n_docs + local, return_counts=True)
            columns.append((keys // n_docs).astype(np.int32))
            docs.append((keys % n_docs + batch_start).astype(np.int32))
            counts.append(tf.astype(np.uint16 if tf.max(initial=0) <= np.iinfo(np.uint16).max else np.int32))

        for tokens in token_lists:
            tokens = tokens or [""]
            lengths.append(len(tokens))
            batch.extend(vocabulary.setdefault(t, len(vocabulary)) for t in tokens)
            if len(lengths) - batch_start >= _BUILD_BATCH:
                flush()
                batch, batch_start = array.array("q"), len(lengths)
        if len(lengths) > batch_start:
            flush()
        # A million passages make about 400 million postings: each list is let go once joined.
        column = np.concatenate(columns) if columns else np.zeros(0, dtype=np.int32)
        columns.clear()
        order = np.argsort(column, kind="stable")  # by token, documents stay ascending
        indptr = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        np.cumsum(np.bincount(column, minlength=len(vocabulary)), out=indptr[1:])
        del column
        joined_docs = np.concatenate(docs) if docs else np.zeros(0, dtype=np.int32)
        docs.clear()
        sorted_docs = joined_docs[order]
        del joined_docs
        joined_counts = np.concatenate(counts) if counts else np.zeros(0, dtype=np.uint16)
        counts.clear()
        sorted_counts = joined_counts[order]
        del joined_counts, order
        return cls(Vocabulary(vocabulary), indptr, sorted_docs, sorted_counts, np.array(lengths, dtype=np.int32))

    @property
    def documents(self) -> int:
        return len(self.lengths)

    def documents_with(self, token: str) -> np.ndarray | None:
        """The documents that contain ``token`` (None if none does)."""
        column = self.vocabulary.get(token)
        return None if column is None else self.docs[self.indptr[column] : self.indptr[column + 1]]

    def bm25(
        self,
        query_tokens: Sequence[str],
        document_frequency: Callable[[str], int],
        documents: int,
        average_length: float,
    ) -> np.ndarray:
        """bm25s's "lucene" BM25 of every document here, given the collection's statistics:
        sum over query tokens of idf(df, N) * tf / (tf + k1 * (1 - b + b * length / avgdl)).
        Like bm25s, a token repeated in the query counts once per repetition."""
        scores = np.zeros(self.documents, dtype=np.float64)
        if average_length <= 0:
            return scores.astype(np.float32)
        norm: np.ndarray | None = None
        for token in query_tokens:
            column = self.vocabulary.get(token)
            if column is None:
                continue
            if norm is None:
                norm = K1 * (1 - B + B * self.lengths.astype(np.float64) / average_length)
            start, end = int(self.indptr[column]), int(self.indptr[column + 1])
            docs = self.docs[start:end]
            tf = self.tf[start:end].astype(np.float64)
            scores[docs] += bm25_idf(document_frequency(token), documents) * tf / (tf + norm[docs])
        return scores.astype(np.float32)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.vocabulary.save(directory)
        np.save(directory / "postings_indptr.npy", self.indptr)
        np.save(directory / "postings_docs.npy", self.docs)
        np.save(directory / "postings_tf.npy", self.tf)
        np.save(directory / "postings_lengths.npy", self.lengths)

    @classmethod
    def load(cls, directory: Path) -> Postings:
        """Read the postings memory-mapped: a question touches only its tokens' slices."""
        return cls(
            Vocabulary.load(directory),
            np.load(directory / "postings_indptr.npy", mmap_mode="r"),
            np.load(directory / "postings_docs.npy", mmap_mode="r"),
            np.load(directory / "postings_tf.npy", mmap_mode="r"),
            np.load(directory / "postings_lengths.npy"),
        )


class LexicalIndex:
    """BM25 over the documents of one or more :class:`Postings` taken as one collection (the
    first part's documents first), plus document frequencies for query-term coverage.

    Documents that ``live`` marks False (superseded or deleted articles after an incremental
    ingest) score 0 and are left out of the statistics: N, df and avgdl are those of the
    live documents, so scores are exactly those of an index rebuilt from the live documents
    alone. The formula is bm25s's "lucene" variant (see :func:`bm25_idf`, :data:`K1`, :data:`B`).
    """

    def __init__(self, parts: Sequence[Postings], live: np.ndarray | None = None) -> None:
        self.parts = list(parts)
        sizes = [part.documents for part in self.parts]
        self._starts = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        self._live = live  # None: every document is live
        self._live_parts = [None if live is None else live[a:b] for a, b in itertools.pairwise(self._starts)]
        if live is None:
            self.documents = sum(sizes)
            total = sum(int(part.lengths.sum(dtype=np.int64)) for part in self.parts)
        else:
            self.documents = int(live.sum())
            total = sum(
                int(part.lengths[alive].sum(dtype=np.int64))
                for part, alive in zip(self.parts, self._live_parts, strict=True)
            )
        self.average_length = total / self.documents if self.documents else 0.0

    @classmethod
    def build(cls, token_lists: Iterable[list[str]]) -> LexicalIndex:
        return cls([Postings.build(token_lists)])

    def save(self, directory: Path) -> None:
        """Write an index of one part with every document live (as :meth:`build` makes it)."""
        if len(self.parts) != 1 or self._live is not None:
            raise ValueError("only an index of one part, all live, is saved whole; save its parts instead")
        self.parts[0].save(directory)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        return cls([Postings.load(directory)])

    def document_frequency(self, token: str) -> int:
        """How many live documents contain ``token``."""
        frequency = 0
        for part, alive in zip(self.parts, self._live_parts, strict=True):
            docs = part.documents_with(token)
            if docs is not None:
                frequency += len(docs) if alive is None else int(alive[docs].sum())
        return frequency

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every document (0 where no query token occurs, and for dead ones)."""
        frequencies: dict[str, int] = {}

        def df(token: str) -> int:
            if token not in frequencies:
                frequencies[token] = self.document_frequency(token)
            return frequencies[token]

        parts = [part.bm25(query_tokens, df, self.documents, self.average_length) for part in self.parts]
        scores = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        if self._live is not None:
            scores[~self._live] = 0.0
        return scores

    def idf(self, token: str) -> float:
        """Smoothed inverse document frequency; unseen tokens get the highest weight."""
        return bm25_idf(self.document_frequency(token), self.documents)
